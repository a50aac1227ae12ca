"""What a view selects from the runs: filtered rows, the frontier points, dominators, lineage.

Pure: pandas and the frontier, no Streamlit, DuckDB or torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from paretoscope.analysis.frontier import frontier_mask, partition_codes, partition_fields
from paretoscope.analysis.noise import noise_partner_positions
from paretoscope.core.errors import InputError
from paretoscope.core.fields import dim_columns, run_field
from paretoscope.core.metrics import METRICS
from paretoscope.views import DIM_KEY, FILTER_COLUMNS, FrontierView, RunFilters, RunsView

__all__ = [
    "GROUP_SEPARATOR",
    "FrontierPoints",
    "dominated_by",
    "filter_runs",
    "frontier_groups",
    "frontier_points",
    "group_labels",
    "group_sort_key",
    "lineage_segments",
    "select_runs",
    "unmatched_filters",
]


def filter_runs(frame: pd.DataFrame, filters: RunFilters) -> pd.DataFrame:
    """The rows of a runs frame that ``filters`` allow (all of them when none is set)."""
    return frame[_filter_mask(frame, filters)]


def _allowed(filters: RunFilters) -> dict[str, tuple[object, ...]]:
    """Column -> the values a filter allows, for every filter set (dimensions included)."""
    out: dict[str, tuple[object, ...]] = {c: getattr(filters, c) for c in FILTER_COLUMNS.values()}
    out.update(filters.dim_values())
    return {column: values for column, values in out.items() if values}


def _numeric_column(column: str) -> bool:
    return column == "batch_size" or column.startswith("dim_")


def _filter_mask(frame: pd.DataFrame, filters: RunFilters) -> np.ndarray:
    keep = np.ones(len(frame), dtype=bool)
    for column, allowed in _allowed(filters).items():
        if column not in frame.columns:
            return np.zeros(len(frame), dtype=bool)
        col = frame[column]
        if _numeric_column(column):
            col = pd.to_numeric(col, errors="coerce")
        keep &= col.isin(list(allowed)).fillna(False).to_numpy(dtype=bool)
    return keep


def select_runs(frame: pd.DataFrame, view: RunsView) -> pd.DataFrame:
    """The rows of a runs frame (of any status) that a Runs view shows."""
    rows = filter_runs(frame, view.filters)
    if view.status and "status" in rows.columns:
        rows = rows[rows["status"].isin(list(view.status))]
    return rows


def unmatched_filters(frame: pd.DataFrame, filters: RunFilters) -> list[str]:
    """A notice for every filter value that no row of ``frame`` has (a stale or mistyped link)."""
    out = []
    keys = {column: key for key, column in FILTER_COLUMNS.items()}
    for column, allowed in _allowed(filters).items():
        if column.startswith("dim_") and column not in frame.columns:
            name = column.removeprefix("dim_")
            out.append(f"No stored run has the dimension {name!r} ({DIM_KEY}={name}:…).")
            continue
        if column not in frame.columns:
            continue
        col = frame[column]
        if _numeric_column(column):
            col = pd.to_numeric(col, errors="coerce")
        present = set(col.dropna().unique().tolist())  # distinct first: 100 000 rows
        for value in allowed:
            if value in present:
                continue
            if column.startswith("dim_"):
                name = column.removeprefix("dim_")
                out.append(f"No stored run has {name} {value} ({DIM_KEY}={name}:{value}).")
            else:
                out.append(f"No stored run has {column} {value!r} ({keys[column]}={value}).")
    return out


@dataclass(frozen=True)
class FrontierPoints:
    """What the Frontier page draws: the runs a view selects, split by plottability.

    ``points`` are the filtered runs with every objective present, with a
    boolean column ``on_frontier`` (over all the view's objectives, one
    frontier per ``group``) and a text column ``group``; ``n_filtered_out``
    runs were hidden by the filters and ``excluded`` lists why the others
    could not be placed (one line per reason, with its count).

    A group is the view's grouping (``by``) joined with the fields that never
    share a frontier and that differ among the points (``separated``: the
    device name, and the data set when an objective is scored on data), so
    runs of two devices or two data sets are never on one frontier. Frontier
    runs that the measurements cannot tell apart from another run of their
    group (intervals overlapping on every objective) name that run in
    ``noise_partner`` (its model in ``noise_partner_model``); else None.

    ``points`` holds the columns the frontier and the page's summaries read
    (``_point_columns``: the view's metrics, the grouping, ``POINT_TEXT``); the
    others (provenance, versions, other metrics) are fetched for the rows that
    show them: ``full_rows``, ``frontier`` and ``dominated_by`` give every column
    of ``source``, the runs frame the points came from. Copying 86 columns of
    100 000 runs was the largest part of a Frontier rerun (issue 13).
    """

    view: FrontierView
    points: pd.DataFrame
    n_total: int
    n_filtered_out: int
    excluded: tuple[str, ...]
    n_excluded: int
    log_x: bool
    notices: tuple[str, ...] = ()
    log_y: bool = False
    separated: tuple[str, ...] = ()
    source: pd.DataFrame | None = field(default=None, repr=False, compare=False)

    def full_rows(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows`` (a part of ``points``) with every column of the runs frame as well.

        The source's columns come first, in its order, then what the frontier
        added (``group``, ``on_frontier``, the noise partner).
        """
        if self.source is None:
            return rows
        more = [c for c in self.source.columns if c not in rows.columns]
        if not more:
            return rows
        extra = self.source.loc[rows.index, more]
        added = [c for c in rows.columns if c not in self.source.columns]
        return pd.concat([rows, extra], axis=1)[[*self.source.columns, *added]]

    @property
    def frontier(self) -> pd.DataFrame:
        """The runs on the frontier, by group, in order along x (best x first); every column."""
        on = self.full_rows(self.points[self.points["on_frontier"]])
        if on.empty:  # a metric no run has may be no column at all (an older store)
            return on
        mx = METRICS[self.view.x]
        return on.sort_values(
            ["group", self.view.x, self.view.y],
            ascending=[True, mx.direction == "lower", METRICS[self.view.y].direction == "lower"],
            kind="stable",
        )

    @cached_property  # read several times a rerun; 100 000 labels each time
    def groups(self) -> list[str]:
        """The groups present, in sorted order (numbers by value)."""
        values = self.points["group"].dropna().unique().tolist()
        return sorted(values, key=group_sort_key)

    @property
    def group_title(self) -> str:
        """What a group's label is made of, e.g. ``Batch size · Device name``."""
        fields = ([self.view.by] if self.view.by is not None else []) + list(self.separated)
        return " · ".join(run_field(f).label for f in fields) if fields else "Group"


def group_sort_key(value: str) -> tuple[tuple[int, float, str], ...]:
    """Sort key of a group label: each ``·``-separated part, numbers by value."""
    out = []
    for part in str(value).split(GROUP_SEPARATOR):
        try:
            out.append((0, float(part), part))
        except ValueError:
            out.append((1, 0.0, part))
    return tuple(out)


# Joins the parts of a group label: the grouping's value, then the separated fields'.
GROUP_SEPARATOR = " · "


def frontier_groups(
    frame: pd.DataFrame, by: str | None, objectives: list[str]
) -> tuple[pd.Series, tuple[str, ...]]:
    """Each row's frontier group, and the fields beyond ``by`` that it separates.

    A separated field (device name; data set when an objective is scored on
    data) is in the label only where its values differ among the rows, so a
    view of one device and one data set keeps its plain groups. O(n).
    """
    labels, _, separated = _grouping(frame, by, objectives)
    return labels, separated


def _grouping(
    frame: pd.DataFrame, by: str | None, objectives: list[str]
) -> tuple[pd.Series, np.ndarray, tuple[str, ...]]:
    """``frontier_groups``, with each row's group as an integer code (equal codes, equal labels).

    The codes come from the distinct labels (O(distinct)), so the frontier and
    the noise search partition by them without comparing or hashing 100 000
    labels again (issue 13).
    """
    implicit = [f for f in partition_fields(objectives, by) if f != by]
    separated = tuple(f for f in implicit if f in frame.columns and _n_values(frame[f]) > 1)
    if not separated:
        text, codes = _label_codes(frame, by)
    else:
        fields = ([by] if by is not None else []) + list(separated)
        # Label each distinct combination once, then spread the labels over the rows.
        combo = partition_codes(frame, fields)
        first = pd.Series(np.arange(len(frame))).groupby(combo, sort=False).first().to_numpy()
        parts = [group_labels(frame.iloc[first], f).to_numpy(dtype=object) for f in fields]
        text = np.array([GROUP_SEPARATOR.join(p) for p in zip(*parts, strict=True)], dtype=object)
        codes = pd.factorize(combo)[0]  # combo's codes numbered in order of first appearance
    label_code = pd.factorize(text)[0].astype(np.int64)  # two values, one label: one group
    labels = pd.Series(text[codes], index=frame.index, dtype=object)
    return labels, label_code[codes], separated


def _factorized(col: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``col``'s codes (-1 for missing) and its distinct values, in order of appearance."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    return codes, pd.Index(uniques)


def _n_values(col: pd.Series) -> int:
    """Distinct values of ``col``, a missing value counting as one."""
    codes, uniques = _factorized(col)
    return len(uniques) + int(bool((codes < 0).any()))


def group_labels(frame: pd.DataFrame, by: str | None) -> pd.Series:
    """The group of each row as text (``<none>`` for a missing value; ``all`` without ``by``).

    Each distinct value is turned into text once (O(n) factorising, then
    O(distinct) text), not every row.
    """
    text, codes = _label_codes(frame, by)
    return pd.Series(text[codes], index=frame.index, dtype=object)


def _label_codes(frame: pd.DataFrame, by: str | None) -> tuple[np.ndarray, np.ndarray]:
    """The distinct group texts of ``by`` and each row's index into them."""
    if by is None or by not in frame.columns:
        text = np.array(["all" if by is None else "<none>"], dtype=object)
        return text, np.zeros(len(frame), dtype=np.int64)
    codes, uniques = _factorized(frame[by])
    values = pd.Series(uniques, dtype=frame[by].dtype)
    if by in ("batch_size", "threads") or by.startswith("dim_"):
        values = pd.to_numeric(values, errors="coerce").astype("Int64")
    text = values.astype("string").fillna("<none>").to_numpy(dtype=object)
    text = np.append(text, "<none>")  # code -1 (missing) takes the last entry
    return text, np.where(codes < 0, len(text) - 1, codes).astype(np.int64)


def frontier_points(frame: pd.DataFrame, view: FrontierView) -> FrontierPoints:
    """Apply ``view`` to a runs frame: filter, set aside runs missing an objective, mark frontiers.

    O(n log n) for n runs with two or three objectives (the frontier sweeps).
    Raises ``InputError`` for a sweep view (x a dimension: ``analysis.sweep``).
    """
    if view.sweep:
        raise InputError(f"x={view.x} is a dimension, not a metric: a sweep has no frontier")
    total = len(frame)
    keep = _filter_mask(frame, view.filters)
    objectives = view.objectives
    ok = np.ones(len(frame), dtype=bool)
    for key in objectives:
        ok &= np.isfinite(_numeric(frame, key))
    # One row selection each for the plotted and the set-aside runs (each is a
    # copy of every column: at 100 000 runs the copies dominate a rerun).
    # The set-aside runs need only what their reasons are made of.
    reasons = [c for c in ("energy_unavailable_reason", "peak_mem_unavailable_reason")
               if c in frame.columns]  # fmt: skip
    missing = frame.loc[keep & ~ok, [k for k in objectives if k in frame.columns] + reasons]
    if not frame.index.is_unique:  # ``full_rows`` finds a point's other columns by its label
        frame = frame.reset_index(drop=True)
    points = frame.loc[keep & ok, _point_columns(frame, view)]
    n_kept = int(keep.sum())
    points["group"], codes, separated = _grouping(points, view.by, objectives)
    # The group codes are the partition frontier_mask(by="group") would compute again.
    on = frontier_mask(points, objectives, codes=codes).to_numpy(dtype=bool)
    points["on_frontier"] = on
    partner = noise_partner_positions(points, objectives, on, codes)
    points["noise_partner"], points["noise_partner_model"] = _partner_columns(points, partner)
    notices: list[str] = []
    log_x, log_y = view.log_x, view.log_y
    for axis, key, log in (("x", view.x, log_x), ("y", view.y, log_y)):
        if log and len(points) and bool((points[key] <= 0).any()):
            notices.append(
                f"Some {METRICS[key].label} values are zero or negative, which a log axis cannot "
                f"place; the {axis} axis is linear."
            )
            if axis == "x":
                log_x = False
            else:
                log_y = False
    return FrontierPoints(
        view=view,
        points=points,
        n_total=total,
        n_filtered_out=total - n_kept,
        excluded=tuple(_missing_reasons(missing, objectives)),
        n_excluded=len(missing),
        log_x=log_x,
        notices=tuple(notices),
        log_y=log_y,
        separated=separated,
        source=frame,
    )


# The text fields ``points`` keeps besides the grouping's, the facet's and the partition's:
# what the frontier, the budget answers, the captions, the drawn-run choice and the
# lineage lines (``lineage_segments``) read.
POINT_TEXT = (
    "run_id", "model", "model_id", "parent_model_id", "runtime", "device", "precision",
    "host_id", "device_name", "dataset",
)  # fmt: skip


def _point_columns(frame: pd.DataFrame, view: FrontierView) -> list[str]:
    """The runs frame's columns that ``points`` keeps (in the frame's order).

    The view's metrics (objectives and budget cost) with their intervals, the
    batch size, threads and dimensions, the grouping, facet and partition
    fields, and ``POINT_TEXT``. Each column is copied on its own, and copying
    all 86 for 100 000 rows was most of a rerun.
    """
    metrics = [*view.objectives, view.cost]
    wanted = {*POINT_TEXT, *metrics, "batch_size", "threads", *dim_columns(frame.columns)}
    wanted |= {c for k in metrics if k in METRICS for c in (METRICS[k].ci_keys or ())}
    wanted |= {*partition_fields(view.objectives, view.by)}
    wanted |= {f for f in (view.by, view.facet) if f is not None}
    return [c for c in frame.columns if c in wanted]


def _partner_columns(points: pd.DataFrame, partner: np.ndarray) -> tuple[pd.Series, pd.Series]:
    """Each row's noise partner (``noise_partner_positions``) as its run id and its model.

    Only the partners' ids and models are read: turning 100 000 ids into text
    took most of a rerun (issue 13).
    """
    ids: list[str | None] = [None] * len(points)
    models: list[str | None] = [None] * len(points)
    found = np.flatnonzero(partner >= 0)
    if found.size and "run_id" in points.columns:
        rows = points.iloc[partner[found]]
        names = rows["model"] if "model" in rows.columns else rows["run_id"]
        pairs = zip(rows["run_id"].astype(str), names.astype(str), strict=True)
        for i, (run_id, model) in zip(found.tolist(), pairs, strict=True):
            ids[i], models[i] = run_id, model
    return (
        pd.Series(ids, index=points.index, dtype=object),
        pd.Series(models, index=points.index, dtype=object),
    )


def dominated_by(fp: FrontierPoints, run_id: str) -> pd.DataFrame:
    """The frontier runs of ``run_id``'s group that dominate it over the view's objectives.

    Empty when the run is on the frontier or not plotted. O(f·k) for f frontier runs.
    """
    pts = fp.points
    if "run_id" not in pts.columns:
        return fp.full_rows(pts.iloc[0:0])
    me = pts[pts["run_id"].astype(str) == run_id]
    if me.empty:
        return fp.full_rows(pts.iloc[0:0])
    row = me.iloc[0]
    front = pts[pts["on_frontier"] & (pts["group"] == row["group"])]
    objectives = fp.view.objectives
    signs = np.array([METRICS[k].sign for k in objectives], dtype=np.float64)
    mine = row[objectives].to_numpy(dtype=np.float64) * signs
    theirs = front[objectives].to_numpy(dtype=np.float64) * signs
    dom = (theirs <= mine).all(axis=1) & (theirs < mine).any(axis=1)
    return fp.full_rows(front[dom])


_LINEAGE_MATCH = ("runtime", "device", "batch_size", "threads")


def lineage_segments(
    points: pd.DataFrame, x: str, y: str, facet: str | None = None
) -> pd.DataFrame:
    """Segments from a parent model's run to each variant's run, for the lineage lines.

    A variant's run is joined to its parent's run on the same runtime, device,
    batch size and threads (the comparison a quantisation claim rests on), and
    the same device name, data set and dimension values where known.
    Columns: ``x``, ``y`` (parent), ``x2``, ``y2`` (variant), ``group`` and,
    with ``facet``, ``facet`` (the variant's value of that field). O(n).
    """
    cols = {"model_id", "parent_model_id", "run_id", *_LINEAGE_MATCH}
    if points.empty or not cols <= set(points.columns):
        return pd.DataFrame(columns=["x", "y", "x2", "y2", "group"])
    # The same machine, data set and sweep point too, where the frame has them.
    extra = ("device_name", "dataset", *dim_columns(points.columns))
    keys = [*_LINEAGE_MATCH, *(c for c in extra if c in points.columns)]
    # Only the columns the segments are made of: copying every column cost most of this.
    needed = ["parent_model_id", *keys, x, y, "group", facet]
    wanted = list(dict.fromkeys(c for c in needed if c is not None and c in points.columns))
    child = points.loc[points["parent_model_id"].notna(), wanted]
    of_parents = points["model_id"].isin(child["parent_model_id"].unique())
    parent = points.loc[of_parents, list(dict.fromkeys(["model_id", *keys, x, y]))]
    parent = parent.drop_duplicates(["model_id", *keys])
    merged = child.merge(
        parent[["model_id", *keys, x, y]].rename(columns={x: "px", y: "py"}),
        left_on=["parent_model_id", *keys],
        right_on=["model_id", *keys],
        suffixes=("", "_parent"),
    )
    out = pd.DataFrame(
        {
            "x": merged["px"].to_numpy(dtype=float),
            "y": merged["py"].to_numpy(dtype=float),
            "x2": merged[x].to_numpy(dtype=float),
            "y2": merged[y].to_numpy(dtype=float),
            "group": merged["group"].to_numpy() if "group" in merged.columns else "all",
        }
    )
    if facet is not None:
        col = merged[facet] if facet in merged.columns else pd.Series(pd.NA, index=merged.index)
        out["facet"] = col.astype("string").fillna("—").to_numpy()
    return out


def _numeric(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)


def _missing_reasons(frame: pd.DataFrame, metrics: list[str]) -> list[str]:
    """'3 runs without Accuracy', with the stored reason where the store kept one.

    O(n·k) vectorised: the text is built once per distinct combination.
    """
    reason_columns = {
        "energy_j_per_item": "energy_unavailable_reason",
        "peak_mem_mb": "peak_mem_unavailable_reason",
    }
    if frame.empty:
        return []
    parts: dict[str, pd.Series] = {}
    for key in metrics:
        absent = pd.Series(~np.isfinite(_numeric(frame, key)), index=frame.index)
        col = reason_columns.get(key)
        stored = (
            frame[col].astype("string").fillna("").astype(object)
            if col is not None and col in frame.columns
            else pd.Series("", index=frame.index, dtype=object)
        )
        parts[key] = stored.where(absent, None)  # None: the metric is there
    counts = pd.DataFrame(parts).groupby(list(parts), sort=False, dropna=False).size()
    out = []
    for combo, n in counts.items():
        values = combo if isinstance(combo, tuple) else (combo,)
        texts = []
        for key, stored in zip(metrics, values, strict=True):
            if stored is None or (isinstance(stored, float) and np.isnan(stored)):
                continue
            texts.append(f"without {METRICS[key].label}" + (f" ({stored})" if stored else ""))
        out.append(f"{n} run{'s' if n != 1 else ''} {' and '.join(texts)}")
    return out
