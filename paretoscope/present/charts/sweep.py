"""A sweep's chart: a metric against a symbolic dimension's value, one line per configuration.

x is the dimension's value (``dim_seq``: the sequence length), y the metric
with its unit and direction from the registry, colour the configuration
(``analysis.sweep``: model, runtime, precision, device name). Where the
metric has an interval (``Metric.ci_keys``) each point carries an error bar.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from paretoscope.analysis.sweep import SweepPoints
from paretoscope.core.metrics import METRICS
from paretoscope.present.charts.scales import axis_scale, axis_title, svg_usermeta
from paretoscope.present.display import texts

__all__ = ["DIM_TITLES", "SWEEP_HEIGHT_PX", "dim_title", "sweep_chart", "sweep_chart_data"]

SWEEP_HEIGHT_PX = 420
# Titles of the x axis for dimensions whose unit is known (the rest: "<name> (dimension value)").
DIM_TITLES: dict[str, str] = {
    "prompt_len": "Prompt length (tokens)",
    "gen_len": "Generated length (tokens)",
    "batch_size": "Batch size (sequences or items per call)",
}
_TEXT_FIELDS = ("run_id", "model", "runtime", "precision", "device_name", "batch_size", "dataset")


def dim_title(dimension: str) -> str:
    """The x axis title of a dimension: with its unit where known (``prompt_len``: tokens)."""
    return DIM_TITLES.get(dimension, f"{dimension} (dimension value)")


def sweep_chart_data(sp: SweepPoints) -> pd.DataFrame:
    """The chart's rows: ``dim`` and ``value`` as numbers, ``lo``/``hi`` the interval, and text."""
    p = sp.points
    m = METRICS[sp.view.y]
    out = pd.DataFrame(index=p.index)
    out["dim"] = pd.to_numeric(p[sp.view.x], errors="coerce").astype(float)
    out["value"] = pd.to_numeric(p[sp.view.y], errors="coerce").astype(float)
    lo = hi = pd.Series(np.nan, index=p.index)
    if m.ci_keys is not None and set(m.ci_keys) <= set(p.columns):
        lo, hi = (pd.to_numeric(p[k], errors="coerce").astype(float) for k in m.ci_keys)
    out["lo"], out["hi"] = lo, hi
    out["line"] = p["line"].astype(str)
    for name in _TEXT_FIELDS:
        out[name] = texts(p, name)
    return out.reset_index(drop=True)


def sweep_chart(sp: SweepPoints) -> alt.LayerChart | alt.FacetChart:
    """The y metric against the dimension, a line and points per configuration, error bars."""
    m = METRICS[sp.view.y]
    data = sweep_chart_data(sp)
    x = alt.X(
        "dim:Q",
        title=dim_title(sp.dimension),
        scale=axis_scale(sp.view.log_x, 12),
        axis=alt.Axis(format="d"),
    )
    y = alt.Y("value:Q", title=axis_title(m, sp.view.log_y), scale=axis_scale(sp.view.log_y, 12))
    colour = alt.Color(
        "line:N", title=" · ".join(f.removeprefix("dim_").replace("_", " ") for f in sp.fields)
    )
    tooltip = [
        alt.Tooltip("model:N", title="Model"),
        alt.Tooltip("runtime:N", title="Runtime"),
        alt.Tooltip("precision:N", title="Precision"),
        alt.Tooltip("device_name:N", title="Device name"),
        alt.Tooltip("batch_size:N", title="Batch"),
        alt.Tooltip("dataset:N", title="Data set"),
        alt.Tooltip("dim:Q", title=sp.dimension, format="d"),
        alt.Tooltip("value:Q", title=f"{m.label} ({m.unit})" if m.unit else m.label, format=m.fmt),
        alt.Tooltip("run_id:N", title="Run"),
    ]
    base = alt.Chart(data)
    lines = base.mark_line(point=True).encode(x=x, y=y, color=colour, tooltip=tooltip)
    layers: list[alt.Chart] = [lines]
    if data["lo"].notna().any():
        bars = base.mark_errorbar(ticks=True).encode(
            x=x, y=alt.Y("lo:Q", title=axis_title(m, sp.view.log_y)), y2="hi:Q", color=colour
        )
        layers.insert(0, bars.transform_filter("isValid(datum.lo) && isValid(datum.hi)"))
    chart = alt.layer(*layers, usermeta=svg_usermeta())
    return chart.properties(height=SWEEP_HEIGHT_PX, width="container")
