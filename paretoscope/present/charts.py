"""The Frontier chart (Altair) and the tables beside it, built from a view's ``FrontierPoints``.

Every drawn number keeps its provenance within reach: the tooltip and the
tables carry host, device, runtime and version, threads, batch, precision and
time. Axis titles, units, directions and number formats come from the metric
registry. Pure: Altair and pandas, no Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import altair as alt
import numpy as np
import pandas as pd

from paretoscope.analysis.selection import FrontierPoints
from paretoscope.core.metrics import METRICS, Metric
from paretoscope.present.sampling import Thinned, thin_points
from paretoscope.views import FIELDS

__all__ = [
    "FRONTIER_HEIGHT_PX",
    "MISSING",
    "REPORTED",
    "column_formats",
    "drawn_points",
    "frontier_chart",
    "frontier_table",
    "latency_chart",
    "parallel_chart",
    "points_table",
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


def _chart_data(fp: FrontierPoints, p: pd.DataFrame) -> pd.DataFrame:
    """The rows ``p`` (drawn runs) with display strings for the tooltip (numbers stay numbers)."""
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
    for key in fp.view.z:
        out[key] = _num(p, key)
    out["group"] = p["group"].astype(str) if "group" in p.columns else "all"
    if fp.view.facet is not None:
        out["facet"] = _text(p, fp.view.facet)
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


def _keep_mask(fp: FrontierPoints, answers: Sequence[str]) -> np.ndarray:
    p = fp.points
    keep = p["on_frontier"].to_numpy(dtype=bool).copy()
    if "run_id" in p.columns:
        pinned = {*answers, *([fp.view.selected] if fp.view.selected else [])}
        if pinned:
            keep |= p["run_id"].astype(str).isin(pinned).to_numpy(dtype=bool)
    return keep


def drawn_points(fp: FrontierPoints, answers: Sequence[str] = ()) -> Thinned:
    """The runs the chart draws: all of them up to ``MAX_MARKS``, else frontier + a thinned rest.

    Frontier runs, budget answers (``answers``: run ids) and the selected run
    are always drawn. Hidden dominated runs (``dom=0``) are not drawn at all.
    """
    p = fp.points
    keep = _keep_mask(fp, answers)
    if not fp.view.show_dominated:
        return Thinned(p[keep], 0)
    return thin_points(p, fp.view.x, fp.view.y, keep, log_x=fp.log_x, log_y=fp.log_y)


def _group_scale(fp: FrontierPoints, data: pd.DataFrame) -> alt.Scale | None:
    if fp.view.by == "runtime":
        return _stable_scale(data["group"], _RUNTIME_COLOURS)
    groups = [g for g in fp.groups if g in set(data["group"])]
    return alt.Scale(domain=groups, scheme="tableau10") if groups else None


def frontier_chart(
    fp: FrontierPoints,
    answers: Sequence[str] = (),
    thinned: Thinned | None = None,
    lineage: pd.DataFrame | None = None,
) -> alt.LayerChart | alt.FacetChart:
    """The frontier chart: every drawn run as a point, each group's frontier highlighted.

    Layers, bottom to top: lineage lines from a parent model's run to its
    variants' (when the view shows lineage), the 95% CI of the median latency
    (when an axis is ``latency_ms_p50``), the dominated runs (faded; absent
    when the view hides them), each group's frontier as a step line (2
    objectives only: with ``z`` the n-D frontier is marked, not joined), the
    frontier runs, budget lines and rings around the budget ``answers``
    (run ids), a ring around the selected run. Colour is the group (``by``),
    shape the precision; when accuracy is on an axis, a reported accuracy is
    drawn hollow. Clicking a run selects it (the ``pick`` selection, on
    ``run_id``). With ``facet``, one panel per value.
    """
    view = fp.view
    mx, my = METRICS[view.x], METRICS[view.y]
    thinned = thinned if thinned is not None else drawn_points(fp, answers)
    data = _chart_data(fp, thinned.rows)
    data["kind"] = "run"
    data["answer"] = data["run_id"].isin(set(answers))
    data["selected"] = data["run_id"] == (view.selected or "")
    if view.lineage and lineage is not None and len(lineage):
        seg = pd.DataFrame(
            {
                "kind": "lineage",
                "lx": lineage["x"].to_numpy(),
                "ly": lineage["y"].to_numpy(),
                "lx2": lineage["x2"].to_numpy(),
                "ly2": lineage["y2"].to_numpy(),
                "group": lineage["group"].astype(str).to_numpy(),
            }
        )
        if view.facet is not None and "facet" in lineage.columns:
            seg["facet"] = lineage["facet"].astype(str).to_numpy()
        data = pd.concat([data, seg], ignore_index=True)
    # Padding keeps the points at either end of the range off the chart's edge.
    x_scale = (
        alt.Scale(type="log", nice=False, padding=16)
        if fp.log_x
        else alt.Scale(type="linear", zero=False, padding=16)
    )
    y_scale = (
        alt.Scale(type="log", nice=False, padding=12)
        if fp.log_y
        else alt.Scale(type="linear", zero=False, padding=12)
    )
    x_title = _title(mx, fp.log_x)
    y_title = _title(my, fp.log_y)
    x_enc = alt.X(f"{mx.key}:Q", title=x_title, scale=x_scale)
    y_enc = alt.Y(f"{my.key}:Q", title=y_title, scale=y_scale)
    # The data sits once at the top (layer or facet), not in each layer: Altair
    # would otherwise hash and merge every layer's copy (~1 s at 3 000 rows).
    base = alt.Chart().encode(x=x_enc, y=y_enc)
    has_lineage = bool((data["kind"] == "lineage").any())
    runs = base.transform_filter("datum.kind == 'run'") if has_lineage else base

    tooltip = [
        alt.Tooltip("model:N", title="Model"),
        alt.Tooltip("family:N", title="Family"),
        alt.Tooltip(f"{mx.key}:Q", title=_short_title(mx), format=mx.fmt),
        alt.Tooltip(f"{my.key}:Q", title=_short_title(my), format=my.fmt),
    ]
    tooltip += [
        alt.Tooltip(f"{k}:Q", title=_short_title(METRICS[k]), format=METRICS[k].fmt) for k in view.z
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

    group_title = "Runtime" if view.by is None else _FIELD_TITLES.get(view.by, view.by)
    colour_field = "runtime" if view.by is None else "group"
    colour_scale = (
        _stable_scale(data.loc[data["kind"] == "run", "runtime"], _RUNTIME_COLOURS)
        if view.by is None
        else _group_scale(fp, data[data["kind"] == "run"])
    )
    colour_kw: dict[str, Any] = {"title": group_title}
    if colour_scale is not None:
        colour_kw["scale"] = colour_scale
    run_rows = data[data["kind"] == "run"]
    marks: dict[str, Any] = {
        "fill": alt.Fill(f"{colour_field}:N", **colour_kw),
        "stroke": alt.Stroke(f"{colour_field}:N", **colour_kw),
        "shape": alt.Shape(
            "precision:N",
            title="Precision",
            scale=_stable_scale(run_rows["precision"], _PRECISION_SHAPES),
        ),
    }
    if "accuracy" in (mx.key, my.key):
        # A reported accuracy is drawn hollow with a dashed outline.
        present = set(run_rows["origin"])
        origins = [o for o in (MEASURED, REPORTED, MISSING) if o in present] or [MEASURED]
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

    pick = alt.selection_point(name="pick", fields=["run_id"], on="click", clear="dblclick")
    layers: list[alt.Chart] = []
    if has_lineage:
        layers.append(
            alt.Chart()
            .transform_filter("datum.kind == 'lineage'")
            .mark_rule(strokeWidth=1, opacity=0.5, color="#8c8c8c", strokeDash=[4, 3])
            .encode(
                x=alt.X("lx:Q", title=x_title, scale=x_scale),
                y=alt.Y("ly:Q", title=y_title, scale=y_scale),
                x2="lx2:Q",
                y2="ly2:Q",
            )
        )
    if "ci_low" in data.columns:
        ci_x = mx.key == "latency_ms_p50"
        ci_enc = (
            {"x": alt.X("ci_low:Q", title=x_title, scale=x_scale), "x2": "ci_high:Q"}
            if ci_x
            else {"y": alt.Y("ci_low:Q", title=y_title, scale=y_scale), "y2": "ci_high:Q"}
        )
        layers.append(
            runs.transform_filter("isValid(datum.ci_low) && isValid(datum.ci_high)")
            .mark_rule(strokeWidth=1.5, opacity=0.45, color="#777777")
            .encode(**ci_enc)
        )
    if view.show_dominated:
        layers.append(
            runs.transform_filter("!datum.on_frontier")
            .mark_point(size=60, opacity=0.35, strokeWidth=1)
            .encode(**marks)
        )
    if not view.z:
        line_colour: Any = alt.value(_LINE_COLOUR)
        if view.by is not None:
            line_colour = alt.Color(f"{colour_field}:N", **colour_kw)  # one legend with fill
        layers.append(
            runs.transform_filter("datum.on_frontier")
            .mark_line(interpolate=step_interpolation(mx), strokeWidth=1.5)
            .encode(
                order=alt.Order(f"{mx.key}:Q", sort="ascending"),
                color=line_colour,
                detail="group:N",
            )
        )
    layers.append(
        runs.transform_filter("datum.on_frontier")
        .mark_point(size=110, opacity=1.0, strokeWidth=2)
        .encode(**marks)
    )
    cost = view.cost
    # A budget line is one mark (per panel): aggregate the data to one row first.
    one = alt.Chart().transform_aggregate(n="count()")
    if view.budget is not None and cost in (mx.key, my.key):
        channel = "x" if cost == mx.key else "y"
        layers.append(
            one.mark_rule(color="#b22222", strokeDash=[6, 4], strokeWidth=1.5).encode(
                **{channel: alt.datum(view.budget)}
            )
        )
    if view.floor is not None:
        layers.append(
            one.mark_rule(color="#2e7d32", strokeDash=[6, 4], strokeWidth=1.5).encode(
                y=alt.datum(view.floor)
            )
        )
    if len(answers):
        layers.append(
            runs.transform_filter("datum.answer").mark_point(
                size=420, shape="circle", filled=False, color="#b22222", strokeWidth=2.5
            )
        )
    if bool(data["selected"].any()):
        layers.append(
            runs.transform_filter("datum.selected").mark_point(
                size=700, shape="circle", filled=False, color="#000000", strokeWidth=3
            )
        )
    # The click target and the tooltip: every drawn run, invisible, on top. The
    # tooltip lives only here (one copy in the spec: Streamlit validates the
    # whole spec on every rerun, and its size is most of that cost).
    layers.append(
        runs.mark_point(size=140, opacity=0, filled=True).encode(tooltip=tooltip).add_params(pick)
    )
    if view.facet is not None:
        chart = alt.layer(*layers)
        return (
            chart.properties(height=FRONTIER_HEIGHT_PX // 2, width=250)
            .facet(
                facet=alt.Facet("facet:N", title=_FIELD_TITLES.get(view.facet, view.facet)),
                columns=3,
                data=data,
            )
            .properties(usermeta={"embedOptions": {"renderer": "svg"}})
            .configure_legend(orient="right", symbolOpacity=1)
        )
    return (
        alt.layer(*layers, data=data)
        # SVG keeps every mark in the DOM: readable by browser tests and exportable.
        .properties(
            height=FRONTIER_HEIGHT_PX,
            width="container",
            usermeta={"embedOptions": {"renderer": "svg"}},
        )
        .configure_legend(orient="right", symbolOpacity=1)
    )


_FIELD_TITLES = FIELDS  # one table of run-field labels, in paretoscope.views


def parallel_chart(fp: FrontierPoints, thinned: Thinned) -> alt.LayerChart | alt.FacetChart:
    """Parallel coordinates of the view's objectives: one line per drawn run.

    Each axis is scaled to [0, 1] over the plotted runs with *better up*
    (direction from the registry), so a line high everywhere is good; the raw
    value is in the tooltip. Frontier runs (over all objectives) are coloured
    by group, the rest grey.
    """
    keys = fp.view.objectives
    rows = thinned.rows
    long = []
    for i, key in enumerate(keys):
        m = METRICS[key]
        v = _num(rows, key)
        full = _num(fp.points, key)
        lo, hi = float(full.min()) if len(full) else 0.0, float(full.max()) if len(full) else 1.0
        span = (hi - lo) or 1.0
        norm = (v - lo) / span
        if m.direction == "lower":
            norm = 1.0 - norm
        long.append(
            pd.DataFrame(
                {
                    "run_id": _text(rows, "run_id").to_numpy(),
                    "model": _text(rows, "model").to_numpy(),
                    "group": rows["group"].astype(str).to_numpy(),
                    "on_frontier": rows["on_frontier"].to_numpy(dtype=bool),
                    "axis": _short_title(m),
                    "order": i,
                    "score": norm.to_numpy(dtype=float),
                    "value": [_fmt(float(a), m.fmt) for a in v.to_numpy(dtype=float)],
                }
            )
        )
    data = pd.concat(long, ignore_index=True) if long else pd.DataFrame()
    axis_order = [_short_title(METRICS[k]) for k in keys]
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
            alt.Tooltip("run_id:N", title="Run"),
        ],
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
                title=_FIELD_TITLES.get(fp.view.by or "", "Group"),
                scale=alt.Scale(domain=fp.groups, scheme="tableau10"),  # as the frontier chart
            )
        )
    )
    return alt.layer(back, front).properties(
        height=300, width="container", usermeta={"embedOptions": {"renderer": "svg"}}
    )


def latency_chart(samples_ms: Sequence[float], quantiles_ms: Sequence[float]) -> alt.Chart | None:
    """A histogram of a run's stored latency samples (ms), else a box plot of its quantiles.

    Returns None when the run stored neither.
    """
    if len(samples_ms) >= 2:
        samples = np.asarray(samples_ms, dtype=float)
        # Up to the samples' p99: one 1000x outlier would squash the rest into one bin
        # (the page says how many samples lie beyond).
        cut = float(np.percentile(samples, 99))
        data = pd.DataFrame({"latency_ms": samples[samples <= cut]})
        return (
            alt.Chart(data)
            .mark_bar(color="#4c78a8")
            .encode(
                x=alt.X(
                    "latency_ms:Q",
                    bin=alt.Bin(maxbins=40),
                    title="Latency of one batch (ms), samples up to their p99",
                ),
                y=alt.Y("count():Q", title="Timed iterations"),
            )
            .properties(height=240, width="container")
        )
    if len(quantiles_ms) >= 2:
        q = np.asarray(quantiles_ms, dtype=float)
        data = pd.DataFrame({"latency_ms": q})
        return (
            alt.Chart(data)
            .mark_boxplot(extent="min-max")
            .encode(x=alt.X("latency_ms:Q", title="Latency of one batch (ms), stored quantiles"))
            .properties(height=120, width="container")
        )
    return None


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
    """The frontier runs, by group, best x first, with units in the headers and provenance."""
    return points_table(fp.frontier, fp.view.objectives, group=fp.view.by)


def points_table(
    rows: pd.DataFrame, objectives: Sequence[str], *, group: str | None = None
) -> pd.DataFrame:
    """Runs with the objectives' columns first (units in the headers), then provenance."""
    objectives = list(objectives)
    mx, my = METRICS[objectives[0]], METRICS[objectives[1]]
    rows = rows.copy()
    rows["accuracy_origin"] = rows.get("accuracy_origin", pd.Series(dtype=object)).map(
        _origin_label
    )
    columns = {"model": "Model", "family": "Family"}
    if group is not None and "group" in rows.columns:
        columns["group"] = f"Group ({_FIELD_TITLES.get(group, group)})"
    columns |= {key: _short_title(METRICS[key]) for key in objectives}
    if "latency_ms_p50" in (mx.key, my.key):
        columns |= {
            "latency_ms_p50_ci_low": "p50 CI low (ms)",
            "latency_ms_p50_ci_high": "p50 CI high (ms)",
        }
    if "accuracy" in objectives:
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
