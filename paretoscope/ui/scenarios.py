"""Run detail's serving scenarios (issue 16): the latency-vs-load curve and the offline table."""

from __future__ import annotations

import streamlit as st

from paretoscope.analysis.scenarios import (
    lateness_warning,
    offline_table,
    server_curve,
    server_summary,
    server_table,
)
from paretoscope.core.records import RunRecord
from paretoscope.present.charts.serving import latency_load_chart

__all__ = ["show_scenarios"]


def show_scenarios(rec: RunRecord) -> None:
    """The offline and server scenarios of ``rec``; nothing for a run measured without them."""
    stats = rec.scenarios
    if stats is None:
        return
    st.subheader("Serving scenarios")
    if stats.server is not None:
        server = stats.server
        st.markdown("**Server** (latency against offered load)")
        st.text(server_summary(server))
        late = lateness_warning(server)
        if late:
            st.warning(late)
        chart = latency_load_chart(server_curve(server), server.p99_bound_ms, server.max_qps_at_p99)
        if chart is not None:
            st.altair_chart(chart, width="stretch")
            st.caption(
                "Each step sends one-item requests with Poisson arrivals at the offered rate; "
                "latency runs from a request's scheduled arrival to its completion, so queueing "
                "counts. Hollow squares: re-measurements of a candidate maximum with other "
                "arrivals. Generator lateness (how late the idle server woke) is counted in "
                "the latency, never subtracted."
            )
            st.dataframe(server_table(server), hide_index=True, width="stretch")
    if stats.offline is not None:
        off = stats.offline
        st.markdown("**Offline** (best throughput over batch sizes)")
        if off.throughput_per_s is None:
            st.text(f"Not measured: {off.unavailable_reason or off.stop_reason}.")
        else:
            st.text(
                f"Best: {off.throughput_per_s:.4g} items/s at batch {off.best_batch}. "
                f"Stopped: {off.stop_reason}."
            )
            st.dataframe(offline_table(off), hide_index=True, width="stretch")
