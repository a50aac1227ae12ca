"""View state of the dashboard's pages, as it lives in the URL, and what it selects from the runs.

A view is a frozen dataclass that round-trips through the query string:
``View.from_query(params)`` never raises (a bad link falls back to defaults and
returns a notice for every parameter it ignored) and
``View.from_query(view.to_query())[0] == view``. Defaults are left out of the
query so links stay short; lists are repeated keys (``?rt=ort&rt=torch``). The
keys are a public contract documented in ``docs/url.md``: change them only
with a CHANGELOG entry.

Pure: pandas and the frontier, no Streamlit, DuckDB or torch.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from paretoscope.errors import InputError
from paretoscope.frontier import frontier_mask
from paretoscope.metrics import METRICS, metric

__all__ = [
    "DEFAULT_X",
    "DEFAULT_Y",
    "FILTER_COLUMNS",
    "FILTER_KEYS",
    "FRONTIER_KEYS",
    "MAX_VALUE_CHARS",
    "RUNS_KEYS",
    "STATUSES",
    "FrontierPoints",
    "FrontierView",
    "RunFilters",
    "RunsView",
    "filter_runs",
    "frontier_points",
    "select_runs",
    "unmatched_filters",
]

DEFAULT_X = "latency_ms_p50"
DEFAULT_Y = "accuracy"
STATUSES: tuple[str, ...] = ("ok", "failed")
# Longest accepted value of one parameter: model families are short names,
# and a pasted link should not be able to make the page render a novel.
MAX_VALUE_CHARS = 200
_MAX_BATCH = 2**31 - 1  # the store keeps batch sizes as INTEGER
_INT_RE = re.compile(r"[0-9]{1,10}")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
# Streamlit's own parameters; they are not ours to judge.
_RESERVED = frozenset({"embed", "embed_options"})

# URL key -> what it holds. docs/url.md has a row for each (a test checks it).
FILTER_KEYS: dict[str, str] = {
    "rt": "runtime to include (`ort`, `torch`); repeat for several; none = all",
    "dev": "device to include (`cpu`, `cuda:0`, …); repeat for several; none = all",
    "prec": "precision to include (`fp32`, `int8`, …); repeat for several; none = all",
    "bs": "batch size to include (positive integer); repeat for several; none = all",
    "fam": "model family to include; repeat for several; none = all",
}
FRONTIER_KEYS: dict[str, str] = {
    "x": f"metric key on the x axis (default `{DEFAULT_X}`)",
    "y": f"metric key on the y axis (default `{DEFAULT_Y}`)",
    "xlog": "`1` for a log x axis, `0` for linear (default: the metric's registry default)",
    **FILTER_KEYS,
    "dom": "`0` hides runs that are not on the frontier (default `1`, shown faded)",
}
RUNS_KEYS: dict[str, str] = {
    "status": "run status to include (`ok`, `failed`); repeat for several; none = all",
    **FILTER_KEYS,
}


def _check_text(name: str, value: object) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_VALUE_CHARS:
        raise InputError(f"{name} values must be text of 1 to {MAX_VALUE_CHARS} characters")
    return value


def _text_check(name: str) -> Callable[[object], str]:
    return lambda value: _check_text(name, value)


def _check_batch(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= _MAX_BATCH:
        raise InputError(f"batch sizes must be integers from 1 to {_MAX_BATCH}, got {value!r}")
    return value


T = TypeVar("T", str, int)


def _canonical(values: Iterable[T], check: Callable[[object], T]) -> tuple[T, ...]:
    # Sorted and de-duplicated, so that ?rt=torch&rt=ort and ?rt=ort&rt=torch
    # are one view and one canonical link.
    return tuple(sorted({check(v) for v in values}))


@dataclass(frozen=True)
class RunFilters:
    """Which runs a page shows: each field lists the allowed values; empty allows all."""

    runtime: tuple[str, ...] = ()
    device: tuple[str, ...] = ()
    precision: tuple[str, ...] = ()
    batch_size: tuple[int, ...] = ()
    family: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("runtime", "device", "precision", "family"):
            checked = _canonical(getattr(self, name), _text_check(name))
            object.__setattr__(self, name, checked)
        object.__setattr__(self, "batch_size", _canonical(self.batch_size, _check_batch))

    def to_query(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key, column in FILTER_COLUMNS.items():
            values = getattr(self, column)
            if values:
                out[key] = [str(v) for v in values]
        return out


# URL key -> RunFilters field, which is also the runs-frame column it filters.
FILTER_COLUMNS: dict[str, str] = {
    "rt": "runtime",
    "dev": "device",
    "prec": "precision",
    "bs": "batch_size",
    "fam": "family",
}


def _fallback_x(y: str) -> str:
    return DEFAULT_X if y != DEFAULT_X else next(k for k in METRICS if k != y)


@dataclass(frozen=True)
class FrontierView:
    """The Frontier page's whole view: axes, scale, filters, what is drawn.

    ``x_log`` is ``None`` when it follows the x metric's registry default; a
    value equal to that default is stored as ``None``, so equal views have
    equal links. Raises ``InputError`` for an unknown metric or ``x == y``.
    """

    x: str = DEFAULT_X
    y: str = DEFAULT_Y
    x_log: bool | None = None
    filters: RunFilters = field(default_factory=RunFilters)
    show_dominated: bool = True

    def __post_init__(self) -> None:
        mx, my = metric(self.x), metric(self.y)
        if mx.key == my.key:
            raise InputError(f"x and y are both {mx.key!r}; choose two different metrics")
        if self.x_log is not None and bool(self.x_log) == mx.log_scale_default:
            object.__setattr__(self, "x_log", None)

    @property
    def log_x(self) -> bool:
        """Whether the x axis is logarithmic (the override, else the registry default)."""
        return METRICS[self.x].log_scale_default if self.x_log is None else bool(self.x_log)

    def with_x(self, x: str) -> FrontierView:
        """This view with another x metric; a scale override is dropped with the old metric."""
        if x == self.x:
            return self
        return replace(self, x=x, x_log=None)

    def to_query(self) -> dict[str, str | list[str]]:
        """Query parameters for this view; defaults are left out."""
        out: dict[str, str | list[str]] = {}
        if self.x != DEFAULT_X:
            out["x"] = self.x
        if self.y != DEFAULT_Y:
            out["y"] = self.y
        if self.x_log is not None:
            out["xlog"] = "1" if self.x_log else "0"
        out.update(self.filters.to_query())
        if not self.show_dominated:
            out["dom"] = "0"
        return out

    @classmethod
    def from_query(cls, params: object) -> tuple[FrontierView, list[str]]:
        """The view a link asks for, and a notice for every parameter ignored. Never raises."""
        reader = _QueryReader(params, FRONTIER_KEYS)
        y = reader.metric("y", DEFAULT_Y)
        x = reader.metric("x", _fallback_x(y))
        if x == y:
            x = _fallback_x(y)
            reader.notices.append(
                f"Ignored x={y}: it is also the y axis; showing {metric(x).label} on x."
            )
        x_log = reader.flag("xlog")
        dom = reader.flag("dom")
        filters = reader.filters()
        view = cls(
            x=x,
            y=y,
            x_log=x_log,
            filters=filters,
            show_dominated=True if dom is None else dom,
        )
        return view, reader.notices


@dataclass(frozen=True)
class RunsView:
    """The Runs page's view: which statuses and which runs (filters) to list."""

    status: tuple[str, ...] = ()
    filters: RunFilters = field(default_factory=RunFilters)

    def __post_init__(self) -> None:
        def check(value: object) -> str:
            if value not in STATUSES:
                raise InputError(f"status must be one of {', '.join(STATUSES)}, got {value!r}")
            return str(value)

        object.__setattr__(self, "status", _canonical(self.status, check))

    def to_query(self) -> dict[str, str | list[str]]:
        out: dict[str, str | list[str]] = {}
        if self.status:
            out["status"] = list(self.status)
        out.update(self.filters.to_query())
        return out

    @classmethod
    def from_query(cls, params: object) -> tuple[RunsView, list[str]]:
        """The view a link asks for, and a notice for every parameter ignored. Never raises."""
        reader = _QueryReader(params, RUNS_KEYS)
        status = reader.values("status", lambda v: v if v in STATUSES else None, "not ok/failed")
        view = cls(status=tuple(status), filters=reader.filters())
        return view, reader.notices


class _QueryReader:
    """Reads typed values out of untrusted query parameters, collecting notices."""

    def __init__(self, params: object, known: Mapping[str, str]) -> None:
        self.notices: list[str] = []
        self.params: dict[str, list[str]] = {}
        if not isinstance(params, Mapping):
            self.notices.append("Ignored the link's parameters: they are not key=value pairs.")
            return
        for key, raw in params.items():
            if not isinstance(key, str):
                self.notices.append(f"Ignored a parameter whose name is not text: {key!r:.60}.")
                continue
            if key in _RESERVED:
                continue
            if key not in known:
                self.notices.append(f"Ignored unknown parameter {_show(key)}.")
                continue
            items = [raw] if isinstance(raw, str) else raw
            if not isinstance(items, (list, tuple)):
                self.notices.append(f"Ignored {key}: its value is not text.")
                continue
            texts = [v for v in items if isinstance(v, str)]
            if len(texts) != len(items):
                self.notices.append(
                    f"Ignored {len(items) - len(texts)} non-text value(s) of {key}."
                )
            self.params[key] = texts

    def _single(self, key: str) -> str | None:
        values = self.params.get(key, [])
        if not values:
            return None
        if len(values) > 1:
            self.notices.append(
                f"{key} was given {len(values)} times; used the last ({_show(values[-1])})."
            )
        return values[-1]

    def metric(self, key: str, default: str) -> str:
        value = self._single(key)
        if value is None:
            return default
        if value not in METRICS:
            self.notices.append(
                f"Ignored {key}={_show(value)}: not a metric. Choose one of {', '.join(METRICS)}."
            )
            return default
        return value

    def flag(self, key: str) -> bool | None:
        value = self._single(key)
        if value is None:
            return None
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        self.notices.append(f"Ignored {key}={_show(value)}: use 1 or 0.")
        return None

    def values(self, key: str, parse: Callable[[str], Any], why: str) -> list[Any]:
        out = []
        for raw in self.params.get(key, []):
            parsed = parse(raw) if 0 < len(raw) <= MAX_VALUE_CHARS else None
            if parsed is None:
                self.notices.append(f"Ignored {key}={_show(raw)}: {why}.")
            else:
                out.append(parsed)
        return out

    def filters(self) -> RunFilters:
        def batch(raw: str) -> int | None:
            if not _INT_RE.fullmatch(raw):
                return None
            n = int(raw)
            return n if 0 < n <= _MAX_BATCH else None

        text_why = f"empty or longer than {MAX_VALUE_CHARS} characters"
        kwargs: dict[str, Any] = {}
        for key, column in FILTER_COLUMNS.items():
            if column == "batch_size":
                kwargs[column] = self.values(key, batch, "not a positive integer")
            else:
                kwargs[column] = self.values(key, lambda v: v, text_why)
        return RunFilters(**kwargs)


def _show(value: str) -> str:
    """A value for a notice: quoted, and cut short when long."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


# -- applying a view to the runs -------------------------------------------


def filter_runs(frame: pd.DataFrame, filters: RunFilters) -> pd.DataFrame:
    """The rows of a runs frame that ``filters`` allow (all of them when none is set)."""
    keep = pd.Series(True, index=frame.index)
    for column in FILTER_COLUMNS.values():
        allowed = getattr(filters, column)
        if not allowed:
            continue
        if column not in frame.columns:
            return frame.iloc[0:0]
        col = frame[column]
        if column == "batch_size":
            col = pd.to_numeric(col, errors="coerce")
        keep &= col.isin(list(allowed)).fillna(False).astype(bool)
    return frame[keep]


def select_runs(frame: pd.DataFrame, view: RunsView) -> pd.DataFrame:
    """The rows of a runs frame (of any status) that a Runs view shows."""
    rows = filter_runs(frame, view.filters)
    if view.status and "status" in rows.columns:
        rows = rows[rows["status"].isin(list(view.status))]
    return rows


def unmatched_filters(frame: pd.DataFrame, filters: RunFilters) -> list[str]:
    """A notice for every filter value that no row of ``frame`` has (a stale or mistyped link)."""
    out = []
    for key, column in FILTER_COLUMNS.items():
        allowed = getattr(filters, column)
        if not allowed or column not in frame.columns:
            continue
        col = frame[column]
        if column == "batch_size":
            col = pd.to_numeric(col, errors="coerce")
        present = set(col.dropna().tolist())
        for value in allowed:
            if value not in present:
                out.append(f"No stored run has {column} {value!r} ({key}={value}).")
    return out


@dataclass(frozen=True)
class FrontierPoints:
    """What the Frontier page draws: the runs a view selects, split by plottability.

    ``points`` are the filtered runs with both metrics present, with a boolean
    column ``on_frontier``; ``n_filtered_out`` runs were hidden by the filters
    and ``excluded`` lists why the others could not be placed (one line per
    reason, with its count).
    """

    view: FrontierView
    points: pd.DataFrame
    n_total: int
    n_filtered_out: int
    excluded: tuple[str, ...]
    n_excluded: int
    log_x: bool
    notices: tuple[str, ...] = ()

    @property
    def frontier(self) -> pd.DataFrame:
        """The runs on the frontier, in order along x (best x first)."""
        on = self.points[self.points["on_frontier"]]
        mx = METRICS[self.view.x]
        return on.sort_values(
            [self.view.x, self.view.y],
            ascending=[mx.direction == "lower", METRICS[self.view.y].direction == "lower"],
            kind="stable",
        )


def frontier_points(frame: pd.DataFrame, view: FrontierView) -> FrontierPoints:
    """Apply ``view`` to a runs frame: filter, set aside runs missing x or y, mark the frontier.

    O(n log n) for n runs (the 2-D frontier sweep).
    """
    total = len(frame)
    kept = filter_runs(frame, view.filters)
    x, y = view.x, view.y
    xs = _numeric(kept, x)
    ys = _numeric(kept, y)
    ok = np.isfinite(xs) & np.isfinite(ys)
    missing = kept[~ok]
    points = kept[ok].copy()
    points["on_frontier"] = frontier_mask(points, [x, y]).to_numpy(dtype=bool)
    notices: list[str] = []
    log_x = view.log_x
    if log_x and len(points) and bool((points[x] <= 0).any()):
        log_x = False
        notices.append(
            f"Some {METRICS[x].label} values are zero or negative, which a log axis cannot "
            "place; the x axis is linear."
        )
    return FrontierPoints(
        view=view,
        points=points,
        n_total=total,
        n_filtered_out=total - len(kept),
        excluded=tuple(_missing_reasons(missing, [x, y])),
        n_excluded=len(missing),
        log_x=log_x,
        notices=tuple(notices),
    )


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)


def _missing_reasons(frame: pd.DataFrame, metrics: list[str]) -> list[str]:
    """'3 runs without Accuracy', with the stored reason where the store kept one. O(n·k)."""
    absent = {key: ~np.isfinite(_numeric(frame, key)) for key in metrics}
    why: list[Any] = (
        frame["energy_unavailable_reason"].tolist()
        if "energy_unavailable_reason" in frame.columns
        else [None] * len(frame)
    )
    counts: dict[str, int] = {}
    for i in range(len(frame)):
        parts = []
        for key in metrics:
            if not absent[key][i]:
                continue
            part = f"without {METRICS[key].label}"
            if key == "energy_j_per_item" and isinstance(why[i], str) and why[i]:
                part += f" ({why[i]})"
            parts.append(part)
        reason = " and ".join(parts)
        counts[reason] = counts.get(reason, 0) + 1
    return [f"{n} run{'s' if n != 1 else ''} {reason}" for reason, n in counts.items()]
