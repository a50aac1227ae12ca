"""A metric against a symbolic dimension: the runs of a sweep (``--dim seq=32,128``) as lines.

When a Frontier view's x is a ``dim_<name>`` (``FrontierView.sweep``), the page
draws the y metric against that dimension's value with one line per
configuration: model, runtime, precision and device name, and the batch
size, data set and every other dimension too where they differ among the
runs (a line never joins two batch sizes, two data sets, or, for a language
model swept over prompt length, two generated lengths). There is no frontier:
a dimension is a setting, not a cost.

Pure: pandas, no Streamlit, DuckDB or torch. O(n log n) for the sort.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from paretoscope.analysis.selection import filter_runs, group_labels
from paretoscope.core.fields import dim_columns
from paretoscope.core.metrics import METRICS
from paretoscope.views import FrontierView

__all__ = ["LINE_FIELDS", "SweepPoints", "sweep_caption", "sweep_points"]

# What one line of a sweep holds fixed; ``VARYING_FIELDS`` join it where they differ.
LINE_FIELDS: tuple[str, ...] = ("model", "runtime", "precision", "device_name")
VARYING_FIELDS: tuple[str, ...] = ("batch_size", "dataset")


@dataclass(frozen=True)
class SweepPoints:
    """The runs a sweep view draws, sorted by line then dimension value.

    ``points`` has the view's filtered runs with the dimension and the y
    metric present, and a text column ``line`` naming the configuration
    (``LINE_FIELDS`` joined by `` · ``). ``fields`` names what ``line`` is made
    of; ``n_missing`` runs lack the dimension or the metric.
    """

    view: FrontierView
    points: pd.DataFrame
    fields: tuple[str, ...]
    n_total: int
    n_filtered_out: int
    n_missing: int

    @property
    def dimension(self) -> str:
        """The dimension's name (``seq`` for ``dim_seq``; ``batch_size`` for the batch size)."""
        return self.view.x.removeprefix("dim_")

    @property
    def lines(self) -> list[str]:
        """The configurations drawn, in sorted order."""
        return sorted(self.points["line"].unique().tolist()) if len(self.points) else []


def sweep_points(frame: pd.DataFrame, view: FrontierView) -> SweepPoints:
    """Apply a sweep ``view`` (x is ``dim_<name>``) to a runs frame: filter, drop, label lines."""
    rows = filter_runs(frame, view.filters)
    dim = (
        pd.to_numeric(rows[view.x], errors="coerce").to_numpy(dtype=np.float64)
        if view.x in rows.columns
        else np.full(len(rows), np.nan)
    )
    y = (
        pd.to_numeric(rows[view.y], errors="coerce").to_numpy(dtype=np.float64)
        if view.y in rows.columns
        else np.full(len(rows), np.nan)
    )
    ok = np.isfinite(dim) & np.isfinite(y)
    points = rows[ok].copy()
    fields = [f for f in LINE_FIELDS if f in points.columns]
    fields += [
        f
        for f in VARYING_FIELDS
        if f != view.x
        and f in points.columns
        and points[f].astype("string").fillna("").nunique() > 1
    ]
    # Another dimension that varies (``gen_len`` when x is ``prompt_len``) splits lines too.
    fields += [
        d
        for d in dim_columns(points.columns)
        if d != view.x and points[d].astype("string").fillna("").nunique() > 1
    ]
    line = pd.Series("", index=points.index, dtype=object)
    for i, name in enumerate(fields):
        part = group_labels(points, name).astype(str)
        if name.startswith("dim_"):  # "gen_len 32", not a bare number
            part = name.removeprefix("dim_") + " " + part
        line = part if i == 0 else line + " · " + part
    points["line"] = line.astype(object) if fields else "all"
    points = points.sort_values(["line", view.x], kind="stable")
    return SweepPoints(
        view=view,
        points=points,
        fields=tuple(fields),
        n_total=len(frame),
        n_filtered_out=len(frame) - len(rows),
        n_missing=int((~ok).sum()),
    )


def sweep_caption(sp: SweepPoints) -> str:
    """What is drawn: runs, lines, and what is hidden or left out."""
    label = METRICS[sp.view.y].label
    n = len(sp.points)
    parts = [
        f"{label} against {sp.dimension}: {n} run{'s' if n != 1 else ''}, "
        f"{len(sp.lines)} line{'s' if len(sp.lines) != 1 else ''} (one per "
        + ", ".join(f.removeprefix("dim_").replace("_", " ") for f in sp.fields)
        + ")"
    ]
    if sp.n_filtered_out:
        parts.append(f"{sp.n_filtered_out} hidden by the filters")
    if sp.n_missing:
        parts.append(f"{sp.n_missing} without {sp.dimension} or {label}")
    return ". ".join(parts) + "."
