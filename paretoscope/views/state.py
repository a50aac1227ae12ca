"""The pages' view states: frozen dataclasses that round-trip through the query string.

What each URL key holds is here (``FRONTIER_KEYS`` …, documented in
``docs/url.md``); how an untrusted value is read and checked is in
``views.query``. Pure: no Streamlit, DuckDB or torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from paretoscope.core.errors import InputError
from paretoscope.core.fields import VIEW_FIELDS, is_sweep_key
from paretoscope.core.metrics import METRICS, metric
from paretoscope.views.filters import (
    DIM_KEY,
    FILTER_COLUMNS,
    FILTER_KEYS,
    RunFilters,
    read_filters,
)
from paretoscope.views.query import (
    NONE_VALUE,
    QueryReader,
    canonical,
    check_field,
    check_number,
    check_run_id,
    check_text,
    is_run_id,
    shown,
)

__all__ = [
    "COMPARE_KEYS",
    "DEFAULT_BY",
    "DEFAULT_X",
    "DEFAULT_Y",
    "DIM_KEY",
    "FIELDS",
    "FILTER_COLUMNS",
    "FILTER_KEYS",
    "FRONTIER_KEYS",
    "RUNS_KEYS",
    "RUNS_PAGE_SIZE",
    "RUN_KEYS",
    "STATUSES",
    "CompareView",
    "FrontierView",
    "RunFilters",
    "RunView",
    "RunsView",
]

DEFAULT_X = "latency_ms_p50"
DEFAULT_Y = "accuracy"
# Run fields the pages colour, group and facet by: field -> label (from core.fields);
# every ``dim_<name>`` is accepted too (a symbolic dimension, e.g. ``dim_seq``).
FIELDS: dict[str, str] = dict(VIEW_FIELDS)
# One frontier per batch size by default: latency is per batch, so a batch-32
# run and a batch-1 run are not on one scale (a frontier across them would put
# only batch-1 runs on it). With one batch size in view this is one frontier.
DEFAULT_BY = "batch_size"
STATUSES: tuple[str, ...] = ("ok", "failed")

# URL key -> what it holds. docs/url.md has a row for each (a test checks it).
FRONTIER_KEYS: dict[str, str] = {
    "x": f"metric key on the x axis (default `{DEFAULT_X}`), or `dim_<name>` to draw the y "
    "metric against a symbolic dimension (one line per configuration), or `batch_size` to "
    "draw it against the batch size",
    "y": f"metric key on the y axis (default `{DEFAULT_Y}`)",
    "xlog": "`1` for a log x axis, `0` for linear (default: the metric's registry default)",
    **FILTER_KEYS,
    "dom": "`0` hides runs that are not on the frontier (default `1`, shown faded)",
    "ylog": "`1` for a log y axis, `0` for linear (default: the metric's registry default)",
    "z": "a further objective (metric key); repeat for several; runs on the n-D frontier marked",
    "by": f"run field to group and colour by, one frontier each (default `{DEFAULT_BY}`; "
    "`none` for no grouping; a `dim_<name>` too); runs of different device names, or "
    "scored on different data sets, are on separate frontiers whatever the grouping",
    "facet": "run field (or `dim_<name>`) to draw one panel per value of (default none)",
    "lin": "`0` hides the lineage lines from a parent model to its variants (default `1`)",
    "bm": "the budget's cost metric (default: the x metric)",
    "bv": "budget limit on the cost metric: the best y within it is answered",
    "fl": "floor on the y metric: the cheapest run reaching it is answered",
    "sel": "the selected run id (its details and what dominates it are shown)",
}
COMPARE_KEYS: dict[str, str] = {
    "run": "a run id to compare; repeat for several",
    "base": "the baseline run id (default: the first run)",
    "sf": "run field whose two groups the frontier shift compares (default `device`)",
    "sa": "the shift's first group (a value of `sf`)",
    "sb": "the shift's second group (a value of `sf`)",
    "x": f"the shift's cost metric, also the ranking metric (default `{DEFAULT_X}`)",
    "y": f"the shift's quality metric (default `{DEFAULT_Y}`)",
    **FILTER_KEYS,
}
RUN_KEYS: dict[str, str] = {"run": "the run id to show"}
RUNS_KEYS: dict[str, str] = {
    "status": "run status to include (`ok`, `failed`); repeat for several; none = all",
    **FILTER_KEYS,
    "page": "which page of the table to show, from 1 (default 1)",
}
# Rows the Runs page sends at once (issue 13): at 100 000 runs one table of all
# of them was a 47 MB message; the rest is a page away or in the download.
RUNS_PAGE_SIZE = 1000


def _fallback_x(y: str) -> str:
    return DEFAULT_X if y != DEFAULT_X else next(k for k in METRICS if k != y)


@dataclass(frozen=True)
class FrontierView:
    """The Frontier page's whole view: axes, scales, objectives, grouping, budgets, selection.

    ``x_log``/``y_log`` are ``None`` when they follow the metric's registry
    default; a value equal to that default is stored as ``None``, so equal
    views have equal links. ``by`` groups (one frontier and one colour per
    value; ``None`` for one frontier), ``facet`` draws one panel per value.
    ``z`` are further objectives: the frontier is then over x, y and z.
    ``budget_metric`` (default: x) with ``budget`` asks for the best y within
    that cost; ``floor`` asks for the cheapest run whose y reaches it.
    Raises ``InputError`` for an unknown metric or field, a metric named
    twice, or a budget on the y metric.
    """

    x: str = DEFAULT_X
    y: str = DEFAULT_Y
    x_log: bool | None = None
    filters: RunFilters = field(default_factory=RunFilters)
    show_dominated: bool = True
    y_log: bool | None = None
    z: tuple[str, ...] = ()
    by: str | None = DEFAULT_BY
    facet: str | None = None
    lineage: bool = True
    budget_metric: str | None = None
    budget: float | None = None
    floor: float | None = None
    selected: str | None = None

    def __post_init__(self) -> None:
        my = metric(self.y)
        x_log_default = False if is_sweep_key(self.x) else metric(self.x).log_scale_default
        if self.x == my.key:
            raise InputError(f"x and y are both {my.key!r}; choose two different metrics")
        if self.x_log is not None and bool(self.x_log) == x_log_default:
            object.__setattr__(self, "x_log", None)
        if self.y_log is not None and bool(self.y_log) == my.log_scale_default:
            object.__setattr__(self, "y_log", None)
        z = tuple(dict.fromkeys(metric(k).key for k in self.z))
        if set(z) & {self.x, self.y}:
            raise InputError("a further objective (z) must differ from x and y")
        object.__setattr__(self, "z", z)
        object.__setattr__(self, "by", check_field(self.by))
        object.__setattr__(self, "facet", check_field(self.facet))
        if self.budget_metric is not None:
            if metric(self.budget_metric).key == self.y:
                raise InputError("the budget's cost metric must differ from the y metric")
            if self.budget_metric == (_fallback_x(self.y) if self.sweep else self.x):
                object.__setattr__(self, "budget_metric", None)
        object.__setattr__(self, "budget", check_number("budget", self.budget))
        object.__setattr__(self, "floor", check_number("floor", self.floor))
        if self.selected is not None:
            object.__setattr__(self, "selected", check_run_id(self.selected))

    @property
    def sweep(self) -> bool:
        """Whether x is a symbolic dimension (``dim_seq``) or the batch size: y is drawn against
        it, one line per configuration, no frontier."""
        return is_sweep_key(self.x)

    @property
    def log_x(self) -> bool:
        """Whether the x axis is logarithmic (the override, else the registry default)."""
        if self.x_log is not None:
            return bool(self.x_log)
        return False if self.sweep else METRICS[self.x].log_scale_default

    @property
    def log_y(self) -> bool:
        """Whether the y axis is logarithmic (the override, else the registry default)."""
        return METRICS[self.y].log_scale_default if self.y_log is None else bool(self.y_log)

    @property
    def objectives(self) -> list[str]:
        """Every objective of the frontier: x, y, then z."""
        return [self.x, self.y, *self.z]

    @property
    def cost(self) -> str:
        """The budget's cost metric (the x metric unless ``bm`` names another)."""
        return self.budget_metric or (_fallback_x(self.y) if self.sweep else self.x)

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
        if self.y_log is not None:
            out["ylog"] = "1" if self.y_log else "0"
        if self.z:
            out["z"] = list(self.z)
        if self.by != DEFAULT_BY:
            out["by"] = self.by or NONE_VALUE
        if self.facet is not None:
            out["facet"] = self.facet
        if not self.lineage:
            out["lin"] = "0"
        if self.budget_metric is not None:
            out["bm"] = self.budget_metric
        if self.budget is not None:
            out["bv"] = _number_text(self.budget)
        if self.floor is not None:
            out["fl"] = _number_text(self.floor)
        if self.selected is not None:
            out["sel"] = self.selected
        return out

    @classmethod
    def from_query(cls, params: object) -> tuple[FrontierView, list[str]]:
        """The view a link asks for, and a notice for every parameter ignored. Never raises."""
        reader = QueryReader(params, FRONTIER_KEYS)
        y = reader.metric("y", DEFAULT_Y)
        x = reader.metric("x", _fallback_x(y), dims=True)
        if x == y:
            x = _fallback_x(y)
            reader.notices.append(
                f"Ignored x={y}: it is also the y axis; showing {metric(x).label} on x."
            )
        x_log = reader.flag("xlog")
        dom = reader.flag("dom")
        filters = read_filters(reader)
        z: list[str] = []
        for key in reader.values("z", lambda v: v if v in METRICS else None, "not a metric"):
            if key in (x, y) or key in z:
                reader.notices.append(f"Ignored z={key}: it is already an objective.")
            else:
                z.append(key)
        by = reader.field("by", DEFAULT_BY)
        facet = reader.field("facet", None)
        lin = reader.flag("lin")
        bm: str | None = reader.metric("bm", x if x in METRICS else _fallback_x(y))
        if bm == y:
            reader.notices.append(f"Ignored bm={y}: the budget's cost must differ from y.")
            bm = None
        view = cls(
            x=x,
            y=y,
            x_log=x_log,
            filters=filters,
            show_dominated=True if dom is None else dom,
            y_log=reader.flag("ylog"),
            z=tuple(z),
            by=by,
            facet=facet,
            lineage=True if lin is None else lin,
            budget_metric=bm,
            budget=reader.number("bv"),
            floor=reader.number("fl"),
            selected=reader.run_id("sel"),
        )
        return view, reader.notices


@dataclass(frozen=True)
class CompareView:
    """The Compare page's view: the runs side by side, the baseline, and a frontier shift.

    ``runs`` keeps the order given (the table's order); ``baseline`` defaults
    to the first run. The shift compares ``shift_field == a`` with ``== b``
    over ``x`` (also the ranking metric) and ``y``.
    """

    runs: tuple[str, ...] = ()
    baseline: str | None = None
    shift_field: str = "device"
    a: str | None = None
    b: str | None = None
    x: str = DEFAULT_X
    y: str = DEFAULT_Y
    filters: RunFilters = field(default_factory=RunFilters)

    def __post_init__(self) -> None:
        object.__setattr__(self, "runs", tuple(dict.fromkeys(map(check_run_id, self.runs))))
        if self.baseline is not None:
            check_run_id(self.baseline)
            if self.baseline not in self.runs:
                raise InputError("the baseline must be one of the compared runs")
            if self.runs and self.baseline == self.runs[0]:
                object.__setattr__(self, "baseline", None)
        check_field(self.shift_field, allow_none=False)
        for name in ("a", "b"):
            value = getattr(self, name)
            if value is not None:
                check_text(name, value)
        if metric(self.x).key == metric(self.y).key:
            raise InputError(f"x and y are both {self.x!r}; choose two different metrics")

    @property
    def baseline_run(self) -> str | None:
        """The baseline run id (the first run unless another is chosen), None with no runs."""
        return self.baseline or (self.runs[0] if self.runs else None)

    def to_query(self) -> dict[str, str | list[str]]:
        out: dict[str, str | list[str]] = {}
        if self.runs:
            out["run"] = list(self.runs)
        if self.baseline is not None:
            out["base"] = self.baseline
        if self.shift_field != "device":
            out["sf"] = self.shift_field
        if self.a is not None:
            out["sa"] = self.a
        if self.b is not None:
            out["sb"] = self.b
        if self.x != DEFAULT_X:
            out["x"] = self.x
        if self.y != DEFAULT_Y:
            out["y"] = self.y
        out.update(self.filters.to_query())
        return out

    @classmethod
    def from_query(cls, params: object) -> tuple[CompareView, list[str]]:
        """The view a link asks for, and a notice for every parameter ignored. Never raises."""
        reader = QueryReader(params, COMPARE_KEYS)
        runs = reader.values("run", lambda v: v if is_run_id(v) else None, "not a run id")
        runs = list(dict.fromkeys(runs))
        base = reader.run_id("base")
        if base is not None and base not in runs:
            reader.notices.append(f"Ignored base={shown(base)}: it is not one of the runs.")
            base = None
        y = reader.metric("y", DEFAULT_Y)
        x = reader.metric("x", _fallback_x(y))
        if x == y:
            x = _fallback_x(y)
            reader.notices.append(f"Ignored x={y}: it is also y.")
        sf = reader.field("sf", "device") or "device"
        a, b = reader.text("sa"), reader.text("sb")
        view = cls(
            runs=tuple(runs),
            baseline=base,
            shift_field=sf,
            a=a,
            b=b,
            x=x,
            y=y,
            filters=read_filters(reader),
        )
        return view, reader.notices


@dataclass(frozen=True)
class RunView:
    """The Run detail page's view: one run id."""

    run: str | None = None

    def __post_init__(self) -> None:
        if self.run is not None:
            check_run_id(self.run)

    def to_query(self) -> dict[str, str | list[str]]:
        return {} if self.run is None else {"run": self.run}

    @classmethod
    def from_query(cls, params: object) -> tuple[RunView, list[str]]:
        """The view a link asks for, and a notice for every parameter ignored. Never raises."""
        reader = QueryReader(params, RUN_KEYS)
        return cls(run=reader.run_id("run")), reader.notices


def _number_text(value: float) -> str:
    """A number as the shortest text that reads back to it (``5`` not ``5.0``)."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


@dataclass(frozen=True)
class RunsView:
    """The Runs page's view: which statuses and which runs (filters) to list, and which page.

    ``page`` counts from 1; a page past the last shows the last (``page_bounds``).
    """

    status: tuple[str, ...] = ()
    filters: RunFilters = field(default_factory=RunFilters)
    page: int = 1

    def __post_init__(self) -> None:
        def check(value: object) -> str:
            if value not in STATUSES:
                raise InputError(f"status must be one of {', '.join(STATUSES)}, got {value!r}")
            return str(value)

        object.__setattr__(self, "status", canonical(self.status, check))
        if isinstance(self.page, bool) or not isinstance(self.page, int) or self.page < 1:
            raise InputError(f"page must be a whole number from 1, got {self.page!r}")

    def to_query(self) -> dict[str, str | list[str]]:
        out: dict[str, str | list[str]] = {}
        if self.status:
            out["status"] = list(self.status)
        out.update(self.filters.to_query())
        if self.page != 1:
            out["page"] = str(self.page)
        return out

    def page_bounds(self, total: int, size: int = RUNS_PAGE_SIZE) -> tuple[int, int, int, int]:
        """(page shown, number of pages, first row, row after the last) of ``total`` rows."""
        pages = max(1, -(-total // size))
        page = min(self.page, pages)
        start = (page - 1) * size
        return page, pages, start, min(start + size, total)

    @classmethod
    def from_query(cls, params: object) -> tuple[RunsView, list[str]]:
        """The view a link asks for, and a notice for every parameter ignored. Never raises."""
        reader = QueryReader(params, RUNS_KEYS)
        status = reader.values("status", lambda v: v if v in STATUSES else None, "not ok/failed")
        number = reader.number("page")
        page = 1
        if number is not None:
            if number.is_integer() and 1 <= number <= 10**9:
                page = int(number)
            else:
                reader.notices.append(
                    f"Ignored page={_number_text(number)}: use a whole number from 1."
                )
        view = cls(status=tuple(status), filters=read_filters(reader), page=page)
        return view, reader.notices
