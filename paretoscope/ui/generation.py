"""Run detail for a causal language model (issue 15): prefill and decode, each on its own.

A generating run's time splits into two phases that scale differently: the
prefill (the whole prompt at once; its figure is TTFT, prompt submitted to
the first new token) and the decode (one token per step with the KV cache;
TPOT). Each gets its percentiles and its distribution, then the run's
generation figures (``analysis.lm.generation_rows``).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from paretoscope.analysis.lm import generation_rows
from paretoscope.core.records import LatencyStats, RunRecord
from paretoscope.present.charts import latency_chart

__all__ = ["show_generation"]


def _phase(title: str, short: str, stats: LatencyStats, what: str, counted: str) -> None:
    st.markdown(f"**{title}**")
    cols = st.columns(4)
    cols[0].metric(f"{short} p50 (ms)", f"{stats.p50_ms:.4g}")
    cols[1].metric(f"{short} p90 (ms)", f"{stats.p90_ms:.4g}")
    cols[2].metric(f"{short} p99 (ms)", f"{stats.p99_ms:.4g}")
    cols[3].metric(counted, f"{stats.n_iter:,}")
    chart = latency_chart(stats.samples_ms, stats.quantiles_ms, what=what, counted=counted)
    if chart is None:
        st.caption(f"No {short} samples or quantiles were stored for this run.")
    else:
        st.altair_chart(chart, width="stretch")


def show_generation(rec: RunRecord) -> None:
    """The prefill (TTFT) and decode (TPOT) distributions, then the generation figures."""
    gen = rec.generation
    if gen is None:
        return
    st.subheader("Generation: prefill and decode")
    st.caption(
        f"Each generate call is a prompt of {gen.prompt_len} tokens per sequence (batch "
        f"{rec.spec.batch_size}) followed by exactly {gen.gen_len} new tokens, greedy, with "
        "the KV cache. The two phases scale differently, so each has its own distribution."
    )
    _phase(
        "Prefill: time to first token (TTFT)",
        "TTFT",
        gen.ttft,
        "Prompt submitted to the first new token",
        "Generate calls",
    )
    _phase(
        "Decode: time per output token (TPOT)",
        "TPOT",
        gen.tpot,
        "One decode step, a new token per sequence",
        "Decode steps",
    )
    rows = pd.DataFrame(generation_rows(gen, rec.spec.batch_size), columns=["What", "Value"])
    st.dataframe(rows, hide_index=True, width="stretch")
