"""The Decide chart (Altair): the runs over a cost and the objective, the feasible region shaded.

The y axis is the decision's objective, the x axis a constrained metric (or
one the view names). The region the constraints on these two axes allow is
shaded; every run is coloured by its part in the answer (recommended, within
noise of it, feasible, near-miss, infeasible), since constraints on other
metrics are not visible as a region. The tooltip keeps each run's provenance.
Pure: Altair and pandas, no Streamlit.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from paretoscope.analysis.decide import Decision, DecisionResult
from paretoscope.analysis.frontier import frontier_mask
from paretoscope.core.metrics import METRICS
from paretoscope.present.charts.scales import axis_title

__all__ = ["MAX_DRAWN", "ROLES", "decision_axes", "decision_chart"]

# Roles in legend order, with their colours.
ROLES: dict[str, str] = {
    "recommended": "#d62728",
    "within noise of it": "#ff7f0e",
    "feasible": "#2ca02c",
    "near-miss": "#9467bd",
    "infeasible": "#b0b0b0",
}
# Runs drawn at most: every feasible run and near-miss is kept, others are thinned.
MAX_DRAWN = 3000
_REGION = "#2ca02c"
_TOOLTIP = (
    ("model", "Model"),
    ("runtime", "Runtime"),
    ("runtime_version", "Runtime version"),
    ("device_name", "Device name"),
    ("host", "Host"),
    ("precision", "Precision"),
    ("batch_size", "Batch"),
    ("threads", "Threads"),
    ("started_at", "Started (UTC)"),
    ("run_id", "Run"),
)


def decision_axes(decision: Decision, x: str | None = None) -> tuple[str, str]:
    """(x, y) metrics of the chart: y the objective; x ``x``, else the first other constraint."""
    y = decision.objective.metric
    if x in METRICS and x != y:
        return str(x), y
    for c in decision.require:
        if c.metric != y:
            return c.metric, y
    return ("latency_ms_p50" if y != "latency_ms_p50" else "accuracy"), y


def _roles(pool: pd.DataFrame, result: DecisionResult) -> np.ndarray:
    """Each run's part in the answer (the feasible rows share ``pool``'s index labels)."""
    role = np.full(len(pool), "infeasible", dtype=object)
    if pool.index.is_unique:
        where = pool.index.get_indexer(result.feasible.index)
        role[where[where >= 0]] = "feasible"
    else:
        feasible = set(result.feasible["run_id"].astype(str))
        role[pool["run_id"].astype(str).isin(feasible).to_numpy()] = "feasible"
    named = {m.run_id: "near-miss" for m in result.near_misses}
    named.update(dict.fromkeys(result.within_noise, "within noise of it"))
    if result.recommended_id is not None:
        named[result.recommended_id] = "recommended"
    if named:
        ids = pool["run_id"].astype(str)
        hit = ids.isin(set(named)).to_numpy()
        role[hit] = ids[hit].map(named).to_numpy()
    return role


def _numbers(frame: pd.DataFrame, key: str) -> np.ndarray:
    if key not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[key], errors="coerce").to_numpy(dtype=np.float64)


def _region(
    decision: Decision, x: str, y: str, xs: np.ndarray, ys: np.ndarray
) -> dict[str, float] | None:
    """The rectangle the constraints on x and y allow, within the drawn data's extent."""
    if xs.size == 0:
        return None
    box = {"x": float(xs.min()), "x2": float(xs.max()), "y": float(ys.min()), "y2": float(ys.max())}
    bounded = False
    for c in decision.require:
        for axis, key in (("x", x), ("y", y)):
            if c.metric != key:
                continue
            bounded = True
            if c.op == "<=":
                box[f"{axis}2"] = min(box[f"{axis}2"], c.limit)
            else:
                box[axis] = max(box[axis], c.limit)
    if not bounded or box["x"] > box["x2"] or box["y"] > box["y2"]:
        return None
    return box


def _thinned(rows: np.ndarray, roles: np.ndarray, edge: np.ndarray) -> np.ndarray:
    """At most ``MAX_DRAWN`` of ``rows``, tier by tier, each tier thinned evenly if it must be:
    the recommendation, the feasible frontier, the near-misses, the runs within noise of the
    recommendation, the other feasible runs, the rest."""
    if rows.size <= MAX_DRAWN:
        return rows
    r, e = roles[rows], edge[rows]
    tiers = [
        r == "recommended",
        e & (r != "recommended"),
        r == "near-miss",
        (r == "within noise of it") & ~e,
        (r == "feasible") & ~e,
        r == "infeasible",
    ]
    keep, left = [], MAX_DRAWN
    for tier in tiers:
        part = rows[tier]
        if left <= 0 or part.size == 0:
            continue
        part = part[:: -(-part.size // left)]
        keep.append(part)
        left -= part.size
    return np.sort(np.concatenate(keep))


def _drawn(pool: pd.DataFrame, result: DecisionResult, dx: str, dy: str) -> pd.DataFrame:
    """The runs to draw: tooltip fields, ``x``, ``y``, ``role`` and ``edge`` (on the feasible
    runs' frontier over the two axes), thinned to ``MAX_DRAWN``."""
    mx, my = METRICS[dx], METRICS[dy]
    roles = _roles(pool, result)
    xs, ys = _numbers(pool, dx), _numbers(pool, dy)
    keep = np.isfinite(xs) & np.isfinite(ys)
    if mx.log_scale_default:
        keep &= xs > 0
    if my.log_scale_default:
        keep &= ys > 0
    rows = np.flatnonzero(keep)
    # The feasible runs' frontier over the two axes, from every drawable feasible run.
    ok = rows[np.isin(roles[rows], ["recommended", "within noise of it", "feasible"])]
    edge = np.zeros(len(pool), dtype=bool)
    if ok.size > 1:
        edge[ok] = frontier_mask(pool.iloc[ok], [dx, dy], separate=False).to_numpy()
    rows = _thinned(rows, roles, edge)
    cols = [c for c, _ in _TOOLTIP if c in pool.columns]
    data = pool.iloc[rows][cols].copy()
    data["x"], data["y"], data["role"] = xs[rows], ys[rows], roles[rows]
    data["edge"] = edge[rows]
    if "started_at" in data.columns:
        data["started_at"] = data["started_at"].astype("string")
    return data


def decision_chart(
    pool: pd.DataFrame, result: DecisionResult, x: str | None = None, *, height: int = 360
) -> alt.LayerChart:
    """The chart of ``result`` over ``pool`` (the runs the decision's filters kept)."""
    dx, dy = decision_axes(result.decision, x)
    mx, my = METRICS[dx], METRICS[dy]
    data = _drawn(pool, result, dx, dy)
    x_scale = alt.Scale(type="log" if mx.log_scale_default else "linear", zero=False, nice=False)
    y_scale = alt.Scale(type="log" if my.log_scale_default else "linear", zero=False, nice=False)
    x_enc = alt.X("x:Q", title=axis_title(mx, mx.log_scale_default), scale=x_scale)
    y_enc = alt.Y("y:Q", title=axis_title(my, my.log_scale_default), scale=y_scale)
    # Typed: a layer's data may be hoisted to the chart, where nothing infers types.
    tooltip: list[Any] = [
        alt.Tooltip(f"{c}:{'Q' if c in ('batch_size', 'threads') else 'N'}", title=t)
        for c, t in _TOOLTIP
        if c in data.columns
    ]
    tooltip[-1:-1] = [
        alt.Tooltip("x:Q", title=mx.label, format=mx.fmt),
        alt.Tooltip("y:Q", title=my.label, format=my.fmt),
        alt.Tooltip("role:N", title="Decision"),
    ]
    colour = alt.Color(
        "role:N",
        title="Decision",
        scale=alt.Scale(domain=list(ROLES), range=list(ROLES.values())),
    )
    # The runs are the chart's own data (sent once, as Arrow, by the page); layers filter it.
    points = (
        alt.Chart()
        .mark_point(filled=True, size=60, opacity=0.85)
        .encode(x=x_enc, y=y_enc, color=colour, tooltip=tooltip)
    )
    layers: list[Any] = []
    box = _region(result.decision, dx, dy, data["x"].to_numpy(), data["y"].to_numpy())
    if box is not None:
        layers.append(
            alt.Chart(pd.DataFrame([box]))
            .mark_rect(color=_REGION, opacity=0.12)
            .encode(
                x=alt.X("x:Q", scale=x_scale), x2="x2:Q", y=alt.Y("y:Q", scale=y_scale), y2="y2:Q"
            )
        )
    if int(data["edge"].sum()) > 1:
        layers.append(
            alt.Chart()
            .transform_filter(alt.datum.edge)
            .mark_line(color="#3b3b3b", strokeDash=[4, 3], interpolate="linear")
            .encode(
                x=alt.X("x:Q", scale=x_scale),
                y=alt.Y("y:Q", scale=y_scale),
                order=alt.Order("x:Q"),
            )
        )
    layers.append(points)
    chart = alt.LayerChart(data=data.reset_index(drop=True), layer=layers).properties(
        width="container",
        height=height,
        title=f"{my.label} against {mx.label.lower()}: the shaded area meets the constraints "
        "on these two axes",
    )
    return chart
