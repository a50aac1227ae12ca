"""The Profile page's serving-scenario widgets (issue 16); meaning: ``profiling.scenario_form``."""

from __future__ import annotations

import streamlit as st

from paretoscope.core.scenarios import DEFAULT_SERVER_P99_MS, MAX_SERVER_BATCH

__all__ = ["scenario_widgets"]


def scenario_widgets(prefix: str) -> None:
    """Offline and server checkboxes; the server's p99 bound and dynamic batching when chosen."""
    st.caption(
        "Serving scenarios, as MLPerf names them. **Single-stream** (one batch at a time) is "
        "always measured."
    )
    cols = st.columns(2)
    cols[0].checkbox(
        "Offline: best throughput over batch sizes",
        value=False,
        key=f"{prefix}.scenario.offline",
        help="Batches of 1, 2, 4, ... up to 64 items, each timed end to end for a moment; "
        "the best items/s and its batch are kept (`offline_throughput_per_s`).",
    )
    server = cols[1].checkbox(
        "Server: Poisson arrivals, max rate meeting a p99 bound",
        value=False,
        key=f"{prefix}.scenario.server",
        help="One-item requests arrive at random (Poisson) at increasing rates; a server "
        "serves them in order. The highest rate whose p99 latency, queueing included, meets "
        "the bound when stepping and in three longer re-measurements is kept "
        "(`server_max_qps_at_p99`). Adds seconds to a minute a run.",
    )
    if not server:
        return
    c = st.columns(3)
    c[0].number_input(
        "p99 bound (ms)",
        min_value=0.1,
        max_value=1e6,
        value=DEFAULT_SERVER_P99_MS,
        step=10.0,
        format="%g",
        key=f"{prefix}.scenario.p99_ms",
    )
    c[1].number_input(
        "Dynamic batching: max batch",
        min_value=1,
        max_value=MAX_SERVER_BATCH,
        value=1,
        step=1,
        key=f"{prefix}.scenario.max_batch",
        help="1: no batching, one request at a time.",
    )
    c[2].number_input(
        "Max queue delay (ms)",
        min_value=0.0,
        max_value=10_000.0,
        value=0.0,
        step=1.0,
        format="%g",
        key=f"{prefix}.scenario.max_delay_ms",
        help="With batching: the longest the oldest queued request waits for a batch to fill.",
    )
