"""Methodology: how each number is measured, in general and for every run in this store."""

from __future__ import annotations

import streamlit as st

from paretoscope.present.methodology import harness_markdown, metrics_markdown
from paretoscope.ui import dashboard as dash
from paretoscope.ui import methodology as ui

store = dash.current_store()
st.title("Methodology")
ui.show_store_facts(store, dash.load_runs(store))
st.subheader("How every run is measured")
st.markdown(harness_markdown())
st.subheader("Metrics")
st.caption("From the metric registry (`paretoscope/core/metrics.py`); MB are 10^6 bytes.")
st.markdown(metrics_markdown())
