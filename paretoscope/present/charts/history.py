"""One configuration's metric over time: a point per run with its 95% interval, regressions marked.

x is when the run started (UTC), y the metric with its unit and direction
from the registry; where the metric has a stored interval (``Metric.ci_keys``)
each point carries an error bar. Runs that regressed against the run before
them (``analysis.gate``) are drawn as red triangles, the run being looked at
as a larger ring.
"""

from __future__ import annotations

from collections.abc import Collection

import altair as alt
import numpy as np
import pandas as pd

from paretoscope.core.metrics import METRICS
from paretoscope.present.charts.scales import axis_title, svg_usermeta

__all__ = ["HISTORY_HEIGHT_PX", "history_chart", "history_chart_data"]

HISTORY_HEIGHT_PX = 320
_MARKS = {"regressed": "red", "no regression": "steelblue", "first run": "gray"}


def history_chart_data(
    runs: pd.DataFrame, key: str, regressed: Collection[str], first: str | None, selected: str
) -> pd.DataFrame:
    """The chart's rows: ``started_at`` (UTC), ``value``, ``lo``/``hi``, ``mark``, ``run_id``."""
    m = METRICS[key]
    out = pd.DataFrame(index=runs.index)
    out["started_at"] = pd.to_datetime(runs["started_at"], errors="coerce")
    values = runs[key] if key in runs.columns else pd.Series(np.nan, index=runs.index)
    out["value"] = pd.to_numeric(values, errors="coerce").astype(float)
    lo = hi = pd.Series(np.nan, index=runs.index)
    if m.ci_keys is not None and set(m.ci_keys) <= set(runs.columns):
        lo, hi = (pd.to_numeric(runs[k], errors="coerce").astype(float) for k in m.ci_keys)
    out["lo"], out["hi"] = lo, hi
    ids = runs["run_id"].astype(str)
    out["run_id"] = ids
    out["mark"] = np.where(
        ids.isin(list(regressed)), "regressed", np.where(ids == first, "first run", "no regression")
    )
    out["selected"] = ids == selected
    return out[out["value"].notna()].reset_index(drop=True)


def history_chart(data: pd.DataFrame, key: str) -> alt.LayerChart | alt.FacetChart:
    """The metric ``key`` of ``data`` (``history_chart_data``) against time."""
    m = METRICS[key]
    x = alt.X("started_at:T", title="Run started (UTC)")
    y = alt.Y("value:Q", title=axis_title(m, False), scale=alt.Scale(zero=False))
    colour = alt.Color(
        "mark:N",
        title="Against the run before",
        scale=alt.Scale(domain=list(_MARKS), range=list(_MARKS.values())),
    )
    shape = alt.Shape(
        "mark:N",
        legend=None,
        scale=alt.Scale(domain=list(_MARKS), range=["triangle-up", "circle", "circle"]),
    )
    tooltip = [
        alt.Tooltip("started_at:T", title="Started (UTC)", format="%Y-%m-%d %H:%M:%S"),
        alt.Tooltip("value:Q", title=f"{m.label} ({m.unit})" if m.unit else m.label, format=m.fmt),
        alt.Tooltip("lo:Q", title="95% CI low", format=m.fmt),
        alt.Tooltip("hi:Q", title="95% CI high", format=m.fmt),
        alt.Tooltip("mark:N", title="Against the run before"),
        alt.Tooltip("run_id:N", title="Run"),
    ]
    base = alt.Chart(data)
    line = base.mark_line(color="lightgray").encode(x=x, y=y)
    points = base.mark_point(filled=True, size=70).encode(
        x=x, y=y, color=colour, shape=shape, tooltip=tooltip
    )
    ring = (
        base.transform_filter("datum.selected")
        .mark_point(size=260, color="black", strokeWidth=2)
        .encode(x=x, y=y)
    )
    layers: list[alt.Chart] = [line, points, ring]
    if data["lo"].notna().any():
        bars = base.mark_errorbar(ticks=True).encode(
            x=x, y=alt.Y("lo:Q", title=axis_title(m, False)), y2="hi:Q", color=colour
        )
        layers.insert(1, bars.transform_filter("isValid(datum.lo) && isValid(datum.hi)"))
    chart = alt.layer(*layers, usermeta=svg_usermeta())
    return chart.properties(height=HISTORY_HEIGHT_PX, width="container")
