"""One configuration's metric over time: a point per run with its 95% interval, regressions marked.

x is the run's place in its configuration's history (1 = oldest, by start
time, which the tooltip gives: runs often come in bursts, so a time axis
would crowd them), y the metric with its unit and direction
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
from paretoscope.present.charts.scales import axis_scale, axis_title, svg_usermeta

__all__ = ["HISTORY_HEIGHT_PX", "history_chart", "history_chart_data"]

HISTORY_HEIGHT_PX = 320
_MARKS = {"regressed": "red", "no regression": "steelblue", "first run": "gray"}


def history_chart_data(
    runs: pd.DataFrame, key: str, regressed: Collection[str], first: str | None, selected: str
) -> pd.DataFrame:
    """The chart's rows: ``n`` (1 = oldest), ``started_at`` (UTC), ``value``, ``lo``/``hi``, ...

    ... ``mark`` (against the run before) and ``run_id``; ``runs`` oldest first.
    """
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
    out["n"] = np.arange(1, len(out) + 1)
    return out[out["value"].notna()].reset_index(drop=True)


def history_chart(data: pd.DataFrame, key: str) -> alt.LayerChart | alt.FacetChart:
    """The metric ``key`` of ``data`` (``history_chart_data``) against time."""
    m = METRICS[key]
    x = alt.X(
        "n:O",
        title="Runs of this configuration, oldest first (start time in the tooltip)",
        axis=alt.Axis(labelAngle=0),
    )
    # Log where the registry says so (latencies): a 100x slowdown and the noise both read.
    log = m.log_scale_default and bool((data["value"] > 0).all())
    y = alt.Y("value:Q", title=axis_title(m, log), scale=axis_scale(log, 8))
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
        alt.Tooltip("n:O", title="Run of this configuration"),
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
        bars = base.mark_rule(strokeWidth=2).encode(
            x=x, y=alt.Y("lo:Q", title=axis_title(m, log)), y2="hi:Q", color=colour
        )
        layers.insert(1, bars.transform_filter("isValid(datum.lo) && isValid(datum.hi)"))
    chart = alt.layer(*layers, usermeta=svg_usermeta())
    return chart.properties(height=HISTORY_HEIGHT_PX, width="container")
