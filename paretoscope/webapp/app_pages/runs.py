"""Runs: every run in the store, failed ones with their reason, filterable from the URL."""

from __future__ import annotations

import streamlit as st

from paretoscope.analysis.selection import select_runs, unmatched_filters
from paretoscope.present.markup import markdown_text
from paretoscope.present.tables import runs_table
from paretoscope.ui import binding
from paretoscope.ui import dashboard as dash
from paretoscope.ui import share_panel as share
from paretoscope.ui.widgets import show_table
from paretoscope.views import STATUSES

store = dash.current_store()
bound = binding.bind(binding.RUNS)
view = bound.view

st.title("Runs")
bound.show_notices()
runs = dash.load_runs(store, status=None)
if runs.empty:
    st.info("No runs yet. The Frontier page can run the demo zoo for you.")
    st.page_link(
        "app_pages/frontier.py", label="Go to the Frontier page", icon=":material/scatter_plot:"
    )
    st.stop()

bound.publish()
(c_status,) = bound.filter_widgets(runs, view.filters, leading=1)
c_status.multiselect(
    "Status", list(STATUSES), key=bound.key("status"), on_change=bound.sync, placeholder="all"
)
for notice in unmatched_filters(runs, view.filters):
    st.info(markdown_text(notice))  # the link's values, never read as Markdown

rows = select_runs(runs, view)
failed = int((rows["status"] == "failed").sum())
# Hosts are counted by fingerprint (host_id): two machines called alike are two hosts.
hosts = int(rows["host_id"].nunique()) if "host_id" in rows.columns else 0
st.caption(
    f"{len(rows)} of {len(runs)} runs shown, {failed} failed, from {hosts} "
    f"host{'s' if hosts != 1 else ''}. Missing values show as —; energy that no hardware "
    "counter could measure says why in *Energy unavailable because*."
)
table = runs_table(rows)
show_table(table)
share.share_panel(
    view.to_query(),
    store=store,
    table=table,
    run_ids=rows["run_id"].astype(str).tolist(),
    stem="runs",
    key="runs.share",
)

if failed:
    st.subheader("Why runs failed")
    for _, run in rows[rows["status"] == "failed"].iterrows():
        with st.expander(
            markdown_text(
                f"{run['model']} · {run['runtime']} · {run['precision']} · batch "
                f"{run['batch_size']}"
            )
        ):
            st.code(run["error"] or "no reason was recorded", language=None)
            where = markdown_text(f"{run['host']} ({run['device']})")
            st.caption(f"Run `{run['run_id']}` on {where}, started {run['started_at']} UTC")
