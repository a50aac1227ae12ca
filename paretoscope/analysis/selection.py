"""What a view selects from the runs: filtered rows, the frontier points, dominators, lineage.

Pure: pandas and the frontier, no Streamlit, DuckDB or torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from paretoscope.analysis.frontier import frontier_mask
from paretoscope.core.metrics import METRICS
from paretoscope.views import FILTER_COLUMNS, FrontierView, RunFilters, RunsView

__all__ = [
    "FrontierPoints",
    "dominated_by",
    "filter_runs",
    "frontier_points",
    "group_labels",
    "lineage_segments",
    "select_runs",
    "unmatched_filters",
]


def filter_runs(frame: pd.DataFrame, filters: RunFilters) -> pd.DataFrame:
    """The rows of a runs frame that ``filters`` allow (all of them when none is set)."""
    return frame[_filter_mask(frame, filters)]


def _filter_mask(frame: pd.DataFrame, filters: RunFilters) -> np.ndarray:
    keep = np.ones(len(frame), dtype=bool)
    for column in FILTER_COLUMNS.values():
        allowed = getattr(filters, column)
        if not allowed:
            continue
        if column not in frame.columns:
            return np.zeros(len(frame), dtype=bool)
        col = frame[column]
        if column == "batch_size":
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

    ``points`` are the filtered runs with every objective present, with a
    boolean column ``on_frontier`` (over all the view's objectives, one
    frontier per ``group``) and a text column ``group``; ``n_filtered_out``
    runs were hidden by the filters and ``excluded`` lists why the others
    could not be placed (one line per reason, with its count).
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

    @property
    def frontier(self) -> pd.DataFrame:
        """The runs on the frontier, by group, in order along x (best x first)."""
        on = self.points[self.points["on_frontier"]]
        mx = METRICS[self.view.x]
        return on.sort_values(
            ["group", self.view.x, self.view.y],
            ascending=[True, mx.direction == "lower", METRICS[self.view.y].direction == "lower"],
            kind="stable",
        )

    @property
    def groups(self) -> list[str]:
        """The groups present, in sorted order (numbers by value)."""
        values = self.points["group"].dropna().unique().tolist()
        return sorted(values, key=_group_sort_key)


def _group_sort_key(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def group_labels(frame: pd.DataFrame, by: str | None) -> pd.Series:
    """The group of each row as text (``<none>`` for a missing value; ``all`` without ``by``)."""
    if by is None:
        return pd.Series("all", index=frame.index, dtype=object)
    if by not in frame.columns:
        return pd.Series("<none>", index=frame.index, dtype=object)
    col = frame[by]
    if by in ("batch_size", "threads"):
        col = pd.to_numeric(col, errors="coerce").astype("Int64")
    return col.astype("string").fillna("<none>").astype(object)


def frontier_points(frame: pd.DataFrame, view: FrontierView) -> FrontierPoints:
    """Apply ``view`` to a runs frame: filter, set aside runs missing an objective, mark frontiers.

    O(n log n) for n runs with two or three objectives (the frontier sweeps).
    """
    total = len(frame)
    keep = _filter_mask(frame, view.filters)
    objectives = view.objectives
    ok = np.ones(len(frame), dtype=bool)
    for key in objectives:
        ok &= np.isfinite(_numeric(frame, key))
    # One row selection each for the plotted and the set-aside runs (each is a
    # copy of every column: at 100 000 runs the copies dominate a rerun).
    missing = frame[keep & ~ok]
    points = frame[keep & ok]
    n_kept = int(keep.sum())
    points["group"] = group_labels(points, view.by)
    points["on_frontier"] = frontier_mask(
        points, objectives, by="group" if view.by is not None else None
    ).to_numpy(dtype=bool)
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
    )


def dominated_by(fp: FrontierPoints, run_id: str) -> pd.DataFrame:
    """The frontier runs of ``run_id``'s group that dominate it over the view's objectives.

    Empty when the run is on the frontier or not plotted. O(f·k) for f frontier runs.
    """
    pts = fp.points
    if "run_id" not in pts.columns:
        return pts.iloc[0:0]
    me = pts[pts["run_id"].astype(str) == run_id]
    if me.empty:
        return pts.iloc[0:0]
    row = me.iloc[0]
    front = pts[pts["on_frontier"] & (pts["group"] == row["group"])]
    objectives = fp.view.objectives
    signs = np.array([METRICS[k].sign for k in objectives], dtype=np.float64)
    mine = row[objectives].to_numpy(dtype=np.float64) * signs
    theirs = front[objectives].to_numpy(dtype=np.float64) * signs
    dom = (theirs <= mine).all(axis=1) & (theirs < mine).any(axis=1)
    return front[dom]


_LINEAGE_MATCH = ("runtime", "device", "batch_size", "threads")


def lineage_segments(
    points: pd.DataFrame, x: str, y: str, facet: str | None = None
) -> pd.DataFrame:
    """Segments from a parent model's run to each variant's run, for the lineage lines.

    A variant's run is joined to its parent's run on the same runtime, device,
    batch size and threads (the comparison a quantisation claim rests on).
    Columns: ``x``, ``y`` (parent), ``x2``, ``y2`` (variant), ``group`` and,
    with ``facet``, ``facet`` (the variant's value of that field). O(n).
    """
    cols = {"model_id", "parent_model_id", "run_id", *_LINEAGE_MATCH}
    if points.empty or not cols <= set(points.columns):
        return pd.DataFrame(columns=["x", "y", "x2", "y2", "group"])
    keys = [c for c in _LINEAGE_MATCH]
    child = points[points["parent_model_id"].notna()]
    parent = points[points["model_id"].isin(child["parent_model_id"].unique())]
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
