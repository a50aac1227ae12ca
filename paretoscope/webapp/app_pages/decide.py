"""Decide: the run to ship under hard constraints, with its evidence and a decision report.

The URL holds the whole decision (docs/url.md), in the forms of ``paretoscope
decide``: the page and the command answer the same question the same way.
"""

from __future__ import annotations

import streamlit as st

from paretoscope.ui import dashboard as dash
from paretoscope.ui import decide as ui
from paretoscope.ui import share_panel as share
from paretoscope.ui.binding import bind

store = dash.current_store()
bound = bind(ui.DECIDE)
view = bound.view

st.title("Decide")
st.caption(
    "Which run should you ship? Hard constraints, filters and an objective; the same "
    "answer as `paretoscope decide` with the same options."
)
bound.show_notices()
runs = dash.load_runs(store)
if runs.empty:
    st.info("No successful runs yet. The Frontier page can run the demo zoo for you.")
    st.page_link("app_pages/frontier.py", label="Frontier", icon=":material/scatter_plot:")
    st.stop()
bound.publish()

ui.controls(bound, runs)
result, pool = ui.solve(runs, view.decision)
ui.show_answer(result, pool, view)
st.subheader("Decision report")
ui.downloads(bound, store, pool, result)
share.share_panel(view.to_query(), store=store, run_ids=pool["run_id"], stem="decide",
                  key="decide.share")  # fmt: skip
