"""Parallel coordinates of a view's objectives: one line per drawn run, better up."""

from __future__ import annotations

import altair as alt
import pandas as pd

from paretoscope.analysis.selection import FrontierPoints
from paretoscope.core.metrics import METRICS
from paretoscope.present.charts.scales import svg_usermeta
from paretoscope.present.display import (
    IMPORTED,
    MEASURED_HERE,
    group_label,
    metric_header,
    number_text,
    numbers,
    run_origin_labels,
    texts,
)
from paretoscope.present.sampling import Thinned

__all__ = ["parallel_chart"]


def _long_rows(fp: FrontierPoints, rows: pd.DataFrame) -> pd.DataFrame:
    """One row per (run, objective), with the scaled ``score`` and the raw value as text."""
    long = []
    for i, key in enumerate(fp.view.objectives):
        m = METRICS[key]
        v = numbers(rows, key)
        full = numbers(fp.points, key)
        lo, hi = float(full.min()) if len(full) else 0.0, float(full.max()) if len(full) else 1.0
        span = (hi - lo) or 1.0
        norm = (v - lo) / span
        if m.direction == "lower":
            norm = 1.0 - norm
        long.append(
            pd.DataFrame(
                {
                    "run_id": texts(rows, "run_id").to_numpy(),
                    "model": texts(rows, "model").to_numpy(),
                    "origin": run_origin_labels(rows).to_numpy(),
                    "host": texts(rows, "host").to_numpy(),
                    "group": rows["group"].astype(str).to_numpy(),
                    "on_frontier": rows["on_frontier"].to_numpy(dtype=bool),
                    "axis": metric_header(m),
                    "order": i,
                    "score": norm.to_numpy(dtype=float),
                    "value": [number_text(float(a), m.fmt) for a in v.to_numpy(dtype=float)],
                }
            )
        )
    return pd.concat(long, ignore_index=True) if long else pd.DataFrame()


def parallel_chart(fp: FrontierPoints, thinned: Thinned) -> alt.LayerChart | alt.FacetChart:
    """Parallel coordinates of the view's objectives: one line per drawn run.

    Each axis is scaled to [0, 1] over the plotted runs with *better up*
    (direction from the registry), so a line high everywhere is good; the raw
    value is in the tooltip. Frontier runs (over all objectives) are coloured
    by group, the rest grey; imported runs are dashed. The tooltip names
    each run's origin and host.
    """
    data = _long_rows(fp, thinned.rows)
    axis_order = [metric_header(METRICS[k]) for k in fp.view.objectives]
    base = alt.Chart(data).encode(
        x=alt.X("axis:N", sort=axis_order, title=None, axis=alt.Axis(labelAngle=0)),
        y=alt.Y(
            "score:Q",
            title="better ↑ (scaled to the plotted range)",
            scale=alt.Scale(domain=[0, 1]),
        ),
        detail="run_id:N",
        tooltip=[
            alt.Tooltip("model:N", title="Model"),
            alt.Tooltip("axis:N", title="Metric"),
            alt.Tooltip("value:N", title="Value"),
            alt.Tooltip("origin:N", title="Origin"),
            alt.Tooltip("host:N", title="Host"),
            alt.Tooltip("run_id:N", title="Run"),
        ],
    )
    if bool((data.get("origin", pd.Series(dtype=object)) == IMPORTED).any()):
        # Imported runs (measured on another machine) are dashed, with a legend entry.
        base = base.encode(
            strokeDash=alt.StrokeDash(
                "origin:N",
                title="Origin",
                scale=alt.Scale(domain=[MEASURED_HERE, IMPORTED], range=[[1, 0], [5, 3]]),
                legend=alt.Legend(labelLimit=260),
            )
        )
    back = base.transform_filter("!datum.on_frontier").mark_line(
        color="#bbbbbb", opacity=0.25, strokeWidth=1
    )
    front = (
        base.transform_filter("datum.on_frontier")
        .mark_line(strokeWidth=2, opacity=0.9)
        .encode(
            color=alt.Color(
                "group:N",
                title=group_label(fp.view.by) if fp.view.by else "Group",
                scale=alt.Scale(domain=fp.groups, scheme="tableau10"),  # as the frontier chart
            )
        )
    )
    return alt.layer(back, front).properties(height=300, width="container", usermeta=svg_usermeta())
