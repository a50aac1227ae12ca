"""The Frontier chart (Altair): one function per layer, composed by ``frontier_chart``.

Every drawn number keeps its provenance within reach: the tooltip carries
host, device, runtime and version, threads, batch, precision and time. Axis
titles, units, directions and number formats come from the metric registry.
Pure: Altair and pandas, no Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import altair as alt
import pandas as pd

from paretoscope.analysis.selection import FrontierPoints
from paretoscope.core.metrics import METRICS, Metric
from paretoscope.present.charts.frontier_data import drawn_points, frontier_chart_data
from paretoscope.present.charts.scales import (
    PRECISION_SHAPES,
    RUNTIME_COLOURS,
    axis_scale,
    axis_title,
    group_scale,
    stable_scale,
    step_interpolation,
    svg_usermeta,
)
from paretoscope.present.display import (
    IMPORTED,
    MEASURED,
    MISSING,
    REPORTED,
    field_header,
    group_label,
    metric_header,
)
from paretoscope.present.sampling import Thinned
from paretoscope.views import FrontierView

__all__ = ["FRONTIER_HEIGHT_PX", "WITHIN_NOISE", "chart_over", "frontier_chart"]

FRONTIER_HEIGHT_PX = 360  # with the axis, the first screen at 1280×720 holds it whole
_LINE_COLOUR = "#3b3b3b"
_BUDGET_COLOUR = "#b22222"
_FLOOR_COLOUR = "#2e7d32"
_IMPORTED_COLOUR = "#6a3d9a"
# The legend entry of a frontier run that the measurements cannot tell apart from another.
WITHIN_NOISE = "within noise of another run"


@dataclass(frozen=True)
class _Axes:
    """The x and y of every layer: metrics, titles, scales, and the base chart of the runs."""

    mx: Metric
    my: Metric
    x_title: str
    y_title: str
    x_scale: alt.Scale
    y_scale: alt.Scale
    # The runs' rows, encoded on x and y (the lineage rows filtered out, when there are any).
    runs: alt.Chart

    def x(self, field: str) -> alt.X:
        return alt.X(f"{field}:Q", title=self.x_title, scale=self.x_scale)

    def y(self, field: str) -> alt.Y:
        return alt.Y(f"{field}:Q", title=self.y_title, scale=self.y_scale)


def _axes(fp: FrontierPoints, data: pd.DataFrame) -> _Axes:
    mx, my = METRICS[fp.view.x], METRICS[fp.view.y]
    x_scale, y_scale = axis_scale(fp.log_x, 16), axis_scale(fp.log_y, 12)
    x_title, y_title = axis_title(mx, fp.log_x), axis_title(my, fp.log_y)
    x_enc = alt.X(f"{mx.key}:Q", title=x_title, scale=x_scale)
    y_enc = alt.Y(f"{my.key}:Q", title=y_title, scale=y_scale)
    # The data sits once at the top (layer or facet), not in each layer: Altair
    # would otherwise hash and merge every layer's copy (~1 s at 3 000 rows).
    base = alt.Chart().encode(x=x_enc, y=y_enc)
    has_lineage = bool((data["kind"] == "lineage").any())
    runs = base.transform_filter("datum.kind == 'run'") if has_lineage else base
    return _Axes(mx, my, x_title, y_title, x_scale, y_scale, runs)


def _accuracy_drawn(axes: _Axes) -> bool:
    return "accuracy" in (axes.mx.key, axes.my.key)


@dataclass(frozen=True)
class _Marks:
    """How a run's point looks: colour by group (or runtime), shape by precision, origin."""

    colour_field: str
    colour_kw: dict[str, Any]
    channels: dict[str, Any]


def _origin_channels(run_rows: pd.DataFrame) -> dict[str, Any]:
    """A reported accuracy is drawn hollow with a dashed outline."""
    present = set(run_rows["origin"])
    origins = [o for o in (MEASURED, REPORTED, MISSING) if o in present] or [MEASURED]
    fill = {MEASURED: 0.85, REPORTED: 0.0, MISSING: 0.0}
    dash = {MEASURED: [1, 0], REPORTED: [3, 2], MISSING: [1, 2]}
    return {
        "fillOpacity": alt.FillOpacity(
            "origin:O",  # ordinal: Vega-Lite warns about opacity from an unsorted nominal field
            legend=None,
            scale=alt.Scale(type="ordinal", domain=origins, range=[fill[o] for o in origins]),
        ),
        "strokeDash": alt.StrokeDash(
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
        ),
    }


def _marks(fp: FrontierPoints, data: pd.DataFrame, axes: _Axes) -> _Marks:
    by = fp.view.by
    run_rows = data[data["kind"] == "run"]
    colour_field = "runtime" if by is None else "group"
    colour_scale = (
        stable_scale(run_rows["runtime"], RUNTIME_COLOURS)
        if by is None
        else group_scale(by, fp.groups, run_rows["group"])
    )
    # The legend names every field a group label is made of (e.g. "Batch size · prompt_len
    # (dimension)" for "1 · 16"): the separated ones too, as the headline does.
    title = " · ".join(group_label(f) for f in [by, *fp.separated]) if by is not None else ""
    colour_kw: dict[str, Any] = {"title": title or "Runtime"}
    if colour_scale is not None:
        colour_kw["scale"] = colour_scale
    channels: dict[str, Any] = {
        "fill": alt.Fill(f"{colour_field}:N", **colour_kw),
        "stroke": alt.Stroke(f"{colour_field}:N", **colour_kw),
        "shape": alt.Shape(
            "precision:N",
            title="Precision",
            scale=stable_scale(run_rows["precision"], PRECISION_SHAPES),
        ),
    }
    if _accuracy_drawn(axes):
        channels |= _origin_channels(run_rows)
    return _Marks(colour_field, colour_kw, channels)


def _tooltip(view: FrontierView, data: pd.DataFrame, axes: _Axes) -> list[alt.Tooltip]:
    """Every drawn run's metrics with units, then its provenance."""
    mx, my = axes.mx, axes.my
    tooltip = [
        alt.Tooltip("model:N", title=field_header("model")),
        alt.Tooltip("family:N", title=field_header("family")),
        alt.Tooltip(f"{mx.key}:Q", title=metric_header(mx), format=mx.fmt),
        alt.Tooltip(f"{my.key}:Q", title=metric_header(my), format=my.fmt),
    ]
    tooltip += [
        alt.Tooltip(f"{k}:Q", title=metric_header(METRICS[k]), format=METRICS[k].fmt)
        for k in view.z
    ]
    if _accuracy_drawn(axes):
        tooltip.append(alt.Tooltip("origin:N", title=field_header("accuracy_origin")))
    for axis, m in (("x", mx), ("y", my)):
        if f"{axis}_ci_label" in data.columns:
            tooltip.append(alt.Tooltip(f"{axis}_ci_label:N", title=f"{m.label} 95% CI"))
    if "noise_label" in data.columns:
        tooltip.append(alt.Tooltip("noise_label:N", title="Noise"))
    if "mem_source" in data.columns:
        tooltip.append(alt.Tooltip("mem_source:N", title=field_header("peak_mem_source")))
    if "iterations" in data.columns:
        tooltip.append(alt.Tooltip("iterations:N", title=field_header("latency_n_iter")))
    tooltip.append(alt.Tooltip("run_origin:N", title=field_header("origin")))
    tooltip += [
        alt.Tooltip("runtime_label:N", title=field_header("runtime")),
        alt.Tooltip("device_label:N", title=field_header("device")),
        alt.Tooltip("host:N", title=field_header("host")),
        alt.Tooltip("precision:N", title=field_header("precision")),
        alt.Tooltip("batch_size:N", title=field_header("batch_size")),
        alt.Tooltip("threads:N", title=field_header("threads")),
        alt.Tooltip("started:N", title="Started"),
        alt.Tooltip("run_id:N", title=field_header("run_id")),
    ]
    return tooltip


def _lineage_layer(data: pd.DataFrame, axes: _Axes) -> alt.Chart | None:
    """Dashed grey lines from a parent model's run to its variants' runs."""
    if not (data["kind"] == "lineage").any():
        return None
    return (
        alt.Chart()
        .transform_filter("datum.kind == 'lineage'")
        .mark_rule(strokeWidth=1, opacity=0.5, color="#8c8c8c", strokeDash=[4, 3])
        .encode(x=axes.x("lx"), y=axes.y("ly"), x2="lx2:Q", y2="ly2:Q")
    )


def _interval_layer(data: pd.DataFrame, axes: _Axes, axis: str) -> alt.Chart | None:
    """The 95% interval of the metric on ``axis`` ("x" or "y") as a bar, where it has one.

    Latency's p50 and accuracy carry intervals (``Metric.ci_keys``); a run
    without a stored interval gets no bar.
    """
    lo, hi = f"{axis}_ci_low", f"{axis}_ci_high"
    if lo not in data.columns or not bool(data[lo].notna().any()):
        return None
    enc = {"x": axes.x(lo), "x2": f"{hi}:Q"} if axis == "x" else {"y": axes.y(lo), "y2": f"{hi}:Q"}
    return (
        axes.runs.transform_filter(f"isValid(datum.{lo}) && isValid(datum.{hi})")
        .mark_rule(strokeWidth=1.5, color="#777777")
        # A dominated run's bar is faint like its point; a frontier run's reads clearly.
        .encode(**enc, opacity=alt.condition("datum.on_frontier", alt.value(0.6), alt.value(0.2)))
    )


def _dominated_layer(view: FrontierView, axes: _Axes, marks: _Marks) -> alt.Chart | None:
    """The runs off the frontier, faded; none when the view hides them."""
    if not view.show_dominated:
        return None
    return (
        axes.runs.transform_filter("!datum.on_frontier")
        .mark_point(size=60, opacity=0.35, strokeWidth=1)
        .encode(**marks.channels)
    )


def _frontier_line_layer(view: FrontierView, axes: _Axes, marks: _Marks) -> alt.Chart | None:
    """Each group's frontier as a step line; none with ``z`` (the n-D frontier is not a line)."""
    if view.z:
        return None
    line_colour: Any = alt.value(_LINE_COLOUR)
    if view.by is not None:
        # One legend with the fill.
        line_colour = alt.Color(f"{marks.colour_field}:N", **marks.colour_kw)
    return (
        axes.runs.transform_filter("datum.on_frontier")
        .mark_line(interpolate=step_interpolation(axes.mx), strokeWidth=1.5)
        .encode(
            order=alt.Order(f"{axes.mx.key}:Q", sort="ascending"),
            color=line_colour,
            detail="group:N",
        )
    )


def _frontier_points_layer(axes: _Axes, marks: _Marks) -> alt.Chart:
    """The runs on the frontier that the data tells apart from the rest, full strength."""
    return (
        axes.runs.transform_filter("datum.on_frontier && !datum.within_noise")
        .mark_point(size=110, opacity=1.0, strokeWidth=2)
        .encode(**marks.channels)
    )


def _within_noise_layer(data: pd.DataFrame, axes: _Axes, marks: _Marks) -> alt.Chart | None:
    """Frontier runs within noise of another run: hollow, with a "within noise" legend entry.

    Their intervals overlap another run's on every objective, so the data
    cannot say which is better; the fill would claim a difference.
    """
    if not bool(data["within_noise"].any()):
        return None
    channels = {k: v for k, v in marks.channels.items() if k not in ("fill", "fillOpacity")}
    # The legend rides on size (one value: the frontier runs' size), which no other layer encodes.
    channels["size"] = alt.Size(
        "noise_mark:O",
        title="Frontier run",
        scale=alt.Scale(type="ordinal", domain=[WITHIN_NOISE], range=[110]),
        legend=alt.Legend(
            symbolType="circle",
            symbolFillColor="transparent",
            symbolStrokeColor="#555555",
            symbolStrokeWidth=2,
            labelLimit=260,
        ),
    )
    return (
        axes.runs.transform_filter("datum.on_frontier && datum.within_noise")
        .transform_calculate(noise_mark=f"'{WITHIN_NOISE}'")
        .mark_point(opacity=1.0, filled=False, fillOpacity=0, strokeWidth=2.5)
        .encode(**channels)
    )


def _imported_layer(data: pd.DataFrame, axes: _Axes) -> alt.Chart | None:
    """A square outline around every imported run (measured on another machine), with a legend."""
    if not bool(data["imported"].any()):
        return None
    return (
        axes.runs.transform_filter("datum.imported")
        .transform_calculate(origin_mark=f"'{IMPORTED}'")
        .mark_point(shape="square", size=260, filled=False, color=_IMPORTED_COLOUR, strokeWidth=1)
        .encode(
            opacity=alt.Opacity(
                "origin_mark:O",
                title=field_header("origin"),
                scale=alt.Scale(type="ordinal", domain=[IMPORTED], range=[0.6]),
                legend=alt.Legend(
                    symbolType="square",
                    symbolFillColor="transparent",
                    symbolStrokeColor=_IMPORTED_COLOUR,
                    symbolStrokeWidth=1.5,
                    labelLimit=260,
                ),
            )
        )
    )


def _budget_layers(view: FrontierView, axes: _Axes) -> list[alt.Chart]:
    """The budget's limit on its cost axis (when drawn) and the floor on y, as rules."""
    # A budget line is one mark (per panel): aggregate the data to one row first.
    one = alt.Chart().transform_aggregate(n="count()")
    rule: dict[str, Any] = {"strokeDash": [6, 4], "strokeWidth": 1.5}
    layers = []
    if view.budget is not None and view.cost in (axes.mx.key, axes.my.key):
        channel = "x" if view.cost == axes.mx.key else "y"
        layers.append(
            one.mark_rule(color=_BUDGET_COLOUR, **rule).encode(**{channel: alt.datum(view.budget)})
        )
    if view.floor is not None:
        layers.append(one.mark_rule(color=_FLOOR_COLOUR, **rule).encode(y=alt.datum(view.floor)))
    return layers


def _ring(axes: _Axes, flag: str, size: int, colour: str, width: float) -> alt.Chart:
    return axes.runs.transform_filter(f"datum.{flag}").mark_point(
        size=size, shape="circle", filled=False, color=colour, strokeWidth=width
    )


def _answer_rings_layer(answers: Sequence[str], axes: _Axes) -> alt.Chart | None:
    """Red rings around the budget's answers."""
    return _ring(axes, "answer", 420, _BUDGET_COLOUR, 2.5) if len(answers) else None


def _selection_ring_layer(data: pd.DataFrame, axes: _Axes) -> alt.Chart | None:
    """A black ring around the selected run."""
    return _ring(axes, "selected", 700, "#000000", 3) if bool(data["selected"].any()) else None


def _click_target_layer(tooltip: list[alt.Tooltip], axes: _Axes) -> alt.Chart:
    """Every drawn run, invisible, on top: the tooltip and the ``pick`` selection (on run_id)."""
    # The tooltip lives only here (one copy in the spec: Streamlit validates the
    # whole spec on every rerun, and its size is most of that cost).
    pick = alt.selection_point(name="pick", fields=["run_id"], on="click", clear="dblclick")
    return (
        axes.runs.mark_point(size=140, opacity=0, filled=True)
        .encode(tooltip=tooltip)
        .add_params(pick)
    )


def frontier_chart(
    fp: FrontierPoints,
    answers: Sequence[str] = (),
    thinned: Thinned | None = None,
    lineage: pd.DataFrame | None = None,
) -> alt.LayerChart | alt.FacetChart:
    """The frontier chart: every drawn run as a point, each group's frontier highlighted.

    Layers, bottom to top: lineage lines from a parent model's run to its
    variants' (when the view shows lineage), error bars on x and on y for
    every axis metric with a 95% interval (latency p50, accuracy), the
    dominated runs (faded; absent when the view hides them), each group's
    frontier as a step line (2 objectives only: with ``z`` the n-D frontier
    is marked, not joined), the frontier runs (hollow when within noise of
    another run), a square outline around imported runs, budget lines and
    rings around the budget ``answers`` (run ids), a ring around the
    selected run. Colour is the group (``by``), shape the precision; when
    accuracy is on an axis, a reported accuracy is drawn hollow and dashed.
    Clicking a run selects it (the ``pick`` selection, on ``run_id``). With
    ``facet``, one panel per value.
    """
    thinned = thinned if thinned is not None else drawn_points(fp, answers)
    return chart_over(fp, frontier_chart_data(fp, thinned.rows, answers, lineage), answers)


def chart_over(
    fp: FrontierPoints, data: pd.DataFrame, answers: Sequence[str] = ()
) -> alt.LayerChart | alt.FacetChart:
    """``frontier_chart`` over its prepared rows ``data`` (``frontier_chart_data``)."""
    view = fp.view
    axes = _axes(fp, data)
    marks = _marks(fp, data, axes)
    tooltip = _tooltip(view, data, axes)
    layers = [
        layer
        for layer in (
            _lineage_layer(data, axes),
            _interval_layer(data, axes, "x"),
            _interval_layer(data, axes, "y"),
            _dominated_layer(view, axes, marks),
            _frontier_line_layer(view, axes, marks),
            _frontier_points_layer(axes, marks),
            _within_noise_layer(data, axes, marks),
            _imported_layer(data, axes),
            *_budget_layers(view, axes),
            _answer_rings_layer(answers, axes),
            _selection_ring_layer(data, axes),
            _click_target_layer(tooltip, axes),
        )
        if layer is not None
    ]
    return _framed(view, layers, data)


def _framed(
    view: FrontierView, layers: list[alt.Chart], data: pd.DataFrame
) -> alt.LayerChart | alt.FacetChart:
    """The layers over ``data``: one chart filling its container, or one panel per facet value."""
    if view.facet is not None:
        return (
            alt.layer(*layers)
            .properties(height=FRONTIER_HEIGHT_PX // 2, width=250)
            .facet(
                facet=alt.Facet("facet:N", title=group_label(view.facet)),
                columns=3,
                data=data,
            )
            .properties(usermeta=svg_usermeta())
            .configure_legend(orient="right", symbolOpacity=1)
        )
    return (
        alt.layer(*layers, data=data)
        .properties(height=FRONTIER_HEIGHT_PX, width="container", usermeta=svg_usermeta())
        .configure_legend(orient="right", symbolOpacity=1)
    )
