"""A run's per-operator profile as horizontal bars: each operator's share of the time."""

from __future__ import annotations

import altair as alt
import pandas as pd

__all__ = ["op_chart"]


def op_chart(table: pd.DataFrame) -> alt.Chart | None:
    """Bars of ``Share (%)`` by ``Operator``, in the table's order (``analysis.opprofile``).

    Returns None for an empty table. Operator names are data: axis labels
    and tooltip values, never markup.
    """
    if table.empty:
        return None
    data = table.rename(
        columns={
            "Operator": "op",
            "Share (%)": "share",
            "Total (ms)": "total_ms",
            "Calls": "calls",
            "Rank": "rank",
        }
    )[["rank", "op", "share", "total_ms", "calls"]]
    # Two operators may share a name in no profile, but a label must never merge bars.
    data = data.assign(label=[f"{r}. {op}" for r, op in zip(data["rank"], data["op"], strict=True)])
    return (
        alt.Chart(data)
        .mark_bar(color="#4c78a8")
        .encode(
            x=alt.X("share:Q", title="Share of operator time (%)"),
            y=alt.Y(
                "label:N",
                sort=alt.EncodingSortField(field="rank", order="ascending"),
                title=None,
                axis=alt.Axis(labelLimit=320),
            ),
            tooltip=[
                alt.Tooltip("op:N", title="Operator"),
                alt.Tooltip("share:Q", title="Share (%)", format=".1f"),
                alt.Tooltip("total_ms:Q", title="Total (ms)", format=".4g"),
                alt.Tooltip("calls:Q", title="Calls"),
            ],
        )
        # The dashboard fits the chart, axes included, into this height: room for the
        # x axis and its title, then ~28 px a bar.
        .properties(height=70 + 28 * len(data), width="container")
    )
