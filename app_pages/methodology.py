"""Methodology: how each number on the dashboard is measured, from the metric registry."""

from __future__ import annotations

import streamlit as st

from paretoscope.present.methodology import harness_markdown, metrics_markdown

st.title("Methodology")
st.markdown(harness_markdown())
st.subheader("Metrics")
st.caption("From the metric registry (`paretoscope/core/metrics.py`); MB are 10^6 bytes.")
st.markdown(metrics_markdown())
