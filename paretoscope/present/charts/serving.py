"""The server scenario's latency-vs-load curve: p50 and p99 against the offered rate (issue 16)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from paretoscope.present.charts.scales import svg_usermeta

__all__ = ["latency_load_chart"]


def latency_load_chart(
    curve: pd.DataFrame, bound_ms: float, max_qps: float | None
) -> alt.LayerChart | alt.FacetChart | None:
    """p50 and p99 (ms, log scale) against the offered rate (requests/s), from ``server_curve``.

    The bound is a dashed horizontal rule; the reported maximum rate a
    vertical rule. Re-measurements are drawn as hollow squares. None without steps.
    """
    if curve.empty:
        return None
    x = alt.X("offered_qps:Q", title="Offered rate (requests/s, Poisson arrivals)")
    y = alt.Y(
        "latency_ms:Q",
        title="Latency incl. queueing (ms, log scale)",
        scale=alt.Scale(type="log"),
    )
    color = alt.Color(
        "quantile:N",
        title="Latency",
        scale=alt.Scale(domain=["p50", "p99"], range=["#4c78a8", "#e45756"]),
    )
    tooltip = [
        alt.Tooltip("offered_qps:Q", title="Offered (requests/s)", format=".4g"),
        alt.Tooltip("achieved_qps:Q", title="Achieved (requests/s)", format=".4g"),
        alt.Tooltip("quantile:N", title="Quantile"),
        alt.Tooltip("latency_ms:Q", title="Latency (ms)", format=".4g"),
        alt.Tooltip("n_requests:Q", title="Requests"),
        alt.Tooltip("met:N", title="Met the bound"),
        alt.Tooltip("measurement:N", title="Measurement"),
    ]
    stepping = curve[curve["measurement"] == "stepping up"]
    lines = alt.Chart(stepping).mark_line(point=True).encode(x=x, y=y, color=color, tooltip=tooltip)
    again = (
        alt.Chart(curve[curve["measurement"] != "stepping up"])
        .mark_point(shape="square", filled=False, size=90)
        .encode(x=x, y=y, color=color, tooltip=tooltip)
    )
    rule = pd.DataFrame({"bound_ms": [bound_ms], "label": [f"p99 bound {bound_ms:g} ms"]})
    bound = alt.Chart(rule).mark_rule(strokeDash=[6, 4], color="#444").encode(y="bound_ms:Q")
    bound_text = (
        alt.Chart(rule)
        .mark_text(align="right", dx=-4, dy=-6, color="#444")
        .encode(y="bound_ms:Q", x=alt.value("width"), text="label:N")
    )
    layers: list[alt.Chart] = [bound, bound_text, lines, again]
    if max_qps is not None:
        mark = pd.DataFrame(
            {"max_qps": [max_qps], "label": [f"max {max_qps:.4g} requests/s at the bound"]}
        )
        layers.append(
            alt.Chart(mark).mark_rule(color="#54a24b", strokeWidth=2).encode(x="max_qps:Q")
        )
        layers.append(
            alt.Chart(mark)
            .mark_text(align="left", dx=4, y=8, color="#54a24b")
            .encode(x="max_qps:Q", text="label:N")
        )
    return alt.layer(*layers, usermeta=svg_usermeta()).properties(height=300, width="container")
