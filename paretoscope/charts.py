"""The Frontier chart (Altair) and the tables beside it, built from a view's ``FrontierPoints``.

Every drawn number keeps its provenance within reach: the tooltip and the
tables carry host, device, runtime and version, threads, batch, precision and
time. Axis titles, units, directions and number formats come from the metric
registry. Pure: Altair and pandas, no Streamlit.
"""

from __future__ import annotations

from typing import Any, Literal

import altair as alt
import numpy as np
import pandas as pd

from paretoscope.metrics import METRICS, Metric
from paretoscope.views import FrontierPoints

__all__ = [
    "FRONTIER_HEIGHT_PX",
    "MISSING",
    "REPORTED",
    "column_formats",
    "frontier_chart",
    "frontier_table",
    "printf_format",
    "runs_table",
    "step_interpolation",
]

FRONTIER_HEIGHT_PX = 460
MISSING = "—"
# How a run whose accuracy was copied from elsewhere (a model card, a paper)
# is labelled wherever its accuracy is shown.
REPORTED = "reported (not measured here)"
MEASURED = "measured"

_LINE_COLOUR = "#3b3b3b"


def step_interpolation(x: Metric) -> Literal["step-after", "step-before"]:
    """The step shape of a frontier drawn along ``x``, sorted by ascending x.

    A frontier point's y stays attainable for every x at least as good as its
    own. When lower x is better that is every larger x, so the line holds y
    until the next point (``step-after``); when higher x is better it is every
    smaller x, so the line takes the next point's y early (``step-before``).
    The y direction only decides whether the staircase rises or falls.
    """
    return "step-after" if x.direction == "lower" else "step-before"


def _title(m: Metric, log: bool = False) -> str:
    return m.axis_title[:-1] + "; log scale)" if log else m.axis_title


def _short_title(m: Metric) -> str:
    return f"{m.label} ({m.unit})" if m.unit else m.label


def _fmt(value: float, fmt: str) -> str:
    # The registry's formats (".3g", ".4f", ",.0f") mean the same in Python and d3.
    return format(value, fmt) if np.isfinite(value) else MISSING


def _origin_label(origin: Any) -> str:
    if origin == "reported":
        return REPORTED
    if origin == "measured":
        return MEASURED
    return MISSING


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series(MISSING, index=frame.index, dtype=object)
    return frame[column].astype("string").fillna(MISSING).astype(object)


def _started(frame: pd.DataFrame) -> pd.Series:
    if "started_at" not in frame.columns:
        return pd.Series(MISSING, index=frame.index, dtype=object)
    ts = pd.to_datetime(frame["started_at"], errors="coerce")
    return ts.dt.strftime("%Y-%m-%d %H:%M:%S UTC").fillna(MISSING).astype(object)


def _chart_data(fp: FrontierPoints) -> pd.DataFrame:
    """The plotted rows with display strings for the tooltip (numbers stay numbers)."""
    p = fp.points
    x, y = fp.view.x, fp.view.y
    out = pd.DataFrame(index=p.index)
    out["run_id"] = _text(p, "run_id")
    out["model"] = _text(p, "model")
    out["family"] = _text(p, "family")
    out["runtime"] = _text(p, "runtime")
    out["runtime_label"] = (
        out["runtime"] + " " + _text(p, "runtime_version") + _provider(p)
    ).str.strip()
    out["precision"] = _text(p, "precision")
    out["device_label"] = _text(p, "device_name") + " (" + _text(p, "device") + ")"
    out["host"] = _text(p, "host")
    out["batch_size"] = _text(p, "batch_size")
    out["threads"] = _text(p, "threads")
    out[x] = _num(p, x)
    out[y] = _num(p, y)
    out["origin"] = (
        p["accuracy_origin"].map(_origin_label) if "accuracy_origin" in p.columns else MISSING
    )
    out["started"] = _started(p)
    out["on_frontier"] = p["on_frontier"].astype(bool)
    if x == "latency_ms_p50":
        lo = _num(p, "latency_ms_p50_ci_low")
        hi = _num(p, "latency_ms_p50_ci_high")
        out["ci_low"] = lo
        out["ci_high"] = hi
        out["ci_label"] = [
            f"{_fmt(a, '.4g')}–{_fmt(b, '.4g')} ms" if np.isfinite([a, b]).all() else MISSING
            for a, b in zip(lo.to_numpy(float), hi.to_numpy(float), strict=True)
        ]
    if "latency_n_iter" in p.columns:
        n_iter = _text(p, "latency_n_iter")
        stop = _text(p, "latency_stop_reason")
        out["iterations"] = [
            MISSING if n == MISSING else (f"{n} (stopped: {s})" if s != MISSING else n)
            for n, s in zip(n_iter, stop, strict=True)
        ]
    return out.reset_index(drop=True)


def _num(p: pd.DataFrame, column: str) -> pd.Series:
    if column not in p.columns:
        return pd.Series(np.nan, index=p.index, dtype=float)
    return pd.to_numeric(p[column], errors="coerce").astype(float)


def _provider(p: pd.DataFrame) -> pd.Series:
    ep = _text(p, "execution_provider")
    return ep.map(lambda v: "" if v == MISSING else f", {v}")


# Fixed per value, so a runtime keeps its colour (a precision its shape)
# whatever the filters leave on screen; values not listed share the fallback.
_RUNTIME_COLOURS = {"ort": "#4c78a8", "torch": "#f58518", "": "#9d755d"}
_PRECISION_SHAPES = {
    "fp32": "circle",
    "fp16": "square",
    "bf16": "triangle-up",
    "int8": "diamond",
    "int8-static": "triangle-down",
    "": "cross",
}


def _stable_scale(present: pd.Series, fixed: dict[str, Any]) -> alt.Scale:
    known = [k for k in fixed if k]
    values = set(present.dropna().tolist())
    domain = [k for k in known if k in values] + sorted(values - set(known))
    return alt.Scale(domain=domain, range=[fixed.get(v, fixed[""]) for v in domain])


def frontier_chart(fp: FrontierPoints) -> alt.LayerChart:
    """The frontier chart: every run as a point, the frontier highlighted and joined by a step line.

    Layers, bottom to top: the 95% CI of the median latency (when x is
    ``latency_ms_p50``), the dominated runs (faded; absent when the view hides
    them), the frontier's step line, the frontier runs. Colour is the runtime,
    shape the precision; when accuracy is on an axis, a reported accuracy is
    drawn hollow.
    """
    view = fp.view
    mx, my = METRICS[view.x], METRICS[view.y]
    data = _chart_data(fp)
    # Padding keeps the points at either end of the range off the chart's edge.
    x_scale = (
        alt.Scale(type="log", nice=False, padding=16)
        if fp.log_x
        else alt.Scale(type="linear", zero=False, padding=16)
    )
    x_title = _title(mx, fp.log_x)
    x_enc = alt.X(f"{mx.key}:Q", title=x_title, scale=x_scale)
    y_enc = alt.Y(f"{my.key}:Q", title=_title(my), scale=alt.Scale(zero=False, padding=12))
    base = alt.Chart(data).encode(x=x_enc, y=y_enc)

    tooltip = [
        alt.Tooltip("model:N", title="Model"),
        alt.Tooltip("family:N", title="Family"),
        alt.Tooltip(f"{mx.key}:Q", title=_short_title(mx), format=mx.fmt),
        alt.Tooltip(f"{my.key}:Q", title=_short_title(my), format=my.fmt),
    ]
    if "accuracy" in (mx.key, my.key):
        tooltip.append(alt.Tooltip("origin:N", title="Accuracy origin"))
    if "ci_label" in data.columns:
        tooltip.append(alt.Tooltip("ci_label:N", title="p50 95% CI"))
    if "iterations" in data.columns:
        tooltip.append(alt.Tooltip("iterations:N", title="Timed iterations"))
    tooltip += [
        alt.Tooltip("runtime_label:N", title="Runtime"),
        alt.Tooltip("device_label:N", title="Device"),
        alt.Tooltip("host:N", title="Host"),
        alt.Tooltip("precision:N", title="Precision"),
        alt.Tooltip("batch_size:N", title="Batch"),
        alt.Tooltip("threads:N", title="Threads"),
        alt.Tooltip("started:N", title="Started"),
        alt.Tooltip("run_id:N", title="Run"),
    ]

    marks: dict[str, Any] = {
        "fill": alt.Fill(
            "runtime:N", title="Runtime", scale=_stable_scale(data["runtime"], _RUNTIME_COLOURS)
        ),
        "stroke": alt.Stroke(
            "runtime:N", title="Runtime", scale=_stable_scale(data["runtime"], _RUNTIME_COLOURS)
        ),
        "shape": alt.Shape(
            "precision:N",
            title="Precision",
            scale=_stable_scale(data["precision"], _PRECISION_SHAPES),
        ),
        "tooltip": tooltip,
    }
    if "accuracy" in (mx.key, my.key):
        # A reported accuracy is drawn hollow with a dashed outline.
        present = set(data["origin"])
        origins = [o for o in (MEASURED, REPORTED, MISSING) if o in present]
        fill = {MEASURED: 0.85, REPORTED: 0.0, MISSING: 0.0}
        dash = {MEASURED: [1, 0], REPORTED: [3, 2], MISSING: [1, 2]}
        marks["fillOpacity"] = alt.FillOpacity(
            "origin:O",  # ordinal: Vega-Lite warns about opacity from an unsorted nominal field
            legend=None,
            scale=alt.Scale(domain=origins, range=[fill[o] for o in origins]),
        )
        marks["strokeDash"] = alt.StrokeDash(
            "origin:N",
            title="Accuracy origin",
            scale=alt.Scale(domain=origins, range=[dash[o] for o in origins]),
            legend=alt.Legend(
                symbolType="circle",
                symbolFillColor="transparent",
                symbolStrokeColor="#555555",
                symbolStrokeWidth=1.5,
                labelLimit=260,
            ),
        )

    layers: list[alt.Chart] = []
    if "ci_low" in data.columns:
        layers.append(
            base.transform_filter("isValid(datum.ci_low) && isValid(datum.ci_high)")
            .mark_rule(strokeWidth=1.5, opacity=0.45, color="#777777")
            .encode(x=alt.X("ci_low:Q", title=x_title, scale=x_scale), x2="ci_high:Q")
        )
    if view.show_dominated:
        layers.append(
            base.transform_filter("!datum.on_frontier")
            .mark_point(size=60, opacity=0.4, strokeWidth=1)
            .encode(**marks)
        )
    layers.append(
        base.transform_filter("datum.on_frontier")
        .mark_line(interpolate=step_interpolation(mx), color=_LINE_COLOUR, strokeWidth=1.5)
        .encode(order=alt.Order(f"{mx.key}:Q", sort="ascending"))
    )
    layers.append(
        base.transform_filter("datum.on_frontier")
        .mark_point(size=110, opacity=1.0, strokeWidth=2)
        .encode(**marks)
    )
    return (
        alt.layer(*layers)
        # SVG keeps every mark in the DOM: readable by browser tests and exportable.
        .properties(
            height=FRONTIER_HEIGHT_PX,
            width="container",
            usermeta={"embedOptions": {"renderer": "svg"}},
        )
        .configure_legend(orient="right", symbolOpacity=1)
    )


def printf_format(m: Metric) -> str:
    """The registry's d3 format of ``m`` as the printf format Streamlit's tables take."""
    return "localized" if "," in m.fmt else f"%{m.fmt}"


def column_formats(table: pd.DataFrame) -> dict[str, str]:
    """Header -> printf format for the metric columns of a ``frontier_table``/``runs_table``."""
    formats = {_short_title(m): printf_format(m) for m in METRICS.values()}
    # One digit more than the median itself, so a tight interval is not shown as a point.
    formats |= {h: "%.4g" for h in ("p50 CI low (ms)", "p50 CI high (ms)")}
    return {h: f for h, f in formats.items() if h in table.columns}


def _headers(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    present = {k: v for k, v in columns.items() if k in frame.columns}
    return frame[list(present)].rename(columns=present)


_PROVENANCE = {
    "runtime": "Runtime",
    "runtime_version": "Runtime version",
    "execution_provider": "Execution provider",
    "device": "Device",
    "device_name": "Device name",
    "host": "Host",
    "precision": "Precision",
    "batch_size": "Batch",
    "threads": "Threads",
}


def frontier_table(fp: FrontierPoints) -> pd.DataFrame:
    """The frontier runs, best x first, with units in the headers and provenance columns."""
    mx, my = METRICS[fp.view.x], METRICS[fp.view.y]
    rows = fp.frontier.copy()
    rows["accuracy_origin"] = rows.get("accuracy_origin", pd.Series(dtype=object)).map(
        _origin_label
    )
    columns = {
        "model": "Model",
        "family": "Family",
        mx.key: _short_title(mx),
        my.key: _short_title(my),
    }
    if mx.key == "latency_ms_p50":
        columns |= {
            "latency_ms_p50_ci_low": "p50 CI low (ms)",
            "latency_ms_p50_ci_high": "p50 CI high (ms)",
        }
    if "accuracy" in (mx.key, my.key):
        columns["accuracy_origin"] = "Accuracy origin"
    columns |= _PROVENANCE | {
        "latency_n_iter": "Timed iterations",
        "started_at": "Started (UTC)",
        "run_id": "Run",
    }
    return _headers(rows, columns).reset_index(drop=True)


def runs_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Every run with its status, error, metrics (units in headers) and provenance.

    Missing energy carries its stored reason in ``Energy unavailable because``.
    """
    rows = frame.copy()
    if "accuracy_origin" in rows.columns:
        rows["accuracy_origin"] = rows["accuracy_origin"].map(_origin_label)
    columns = {
        "status": "Status",
        "error": "Error",
        "model": "Model",
        "family": "Family",
        "transformation": "Transformation",
    }
    columns |= {key: _short_title(m) for key, m in METRICS.items()}
    columns |= {
        "accuracy_origin": "Accuracy origin",
        "energy_unavailable_reason": "Energy unavailable because",
        "latency_ms_p50_ci_low": "p50 CI low (ms)",
        "latency_ms_p50_ci_high": "p50 CI high (ms)",
        "latency_n_iter": "Timed iterations",
        "latency_stop_reason": "Timing stopped by",
    }
    columns |= _PROVENANCE | {
        "origin": "Origin",
        "started_at": "Started (UTC)",
        "finished_at": "Finished (UTC)",
        "run_id": "Run",
    }
    return _headers(rows, columns).reset_index(drop=True)
