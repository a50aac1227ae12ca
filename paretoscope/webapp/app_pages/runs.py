"""Runs: every run in the store, failed ones with their reason, filterable from the URL."""

from __future__ import annotations

import streamlit as st

from paretoscope.analysis.selection import select_runs, unmatched_filters
from paretoscope.present.markup import markdown_text
from paretoscope.ui import binding, history, later
from paretoscope.ui import dashboard as dash
from paretoscope.ui import share_panel as share
from paretoscope.ui.widgets import show_table
from paretoscope.views import RUNS_PAGE_SIZE, STATUSES

# Failed runs explained one by one below the table; the table has them all.
MAX_FAILURES = 50

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
# One page of rows at a time (issue 13): the whole filtered table is in the download.
page, pages, start, stop = view.page_bounds(len(rows), RUNS_PAGE_SIZE)
if pages > 1:
    bound.seed(page=page)
    c_page, c_note, c_all = st.columns([1, 3, 1], vertical_alignment="bottom")
    c_page.number_input("Page", min_value=1, max_value=pages, step=1, key=bound.key("page"),
                        on_change=bound.sync, args=("page",))  # fmt: skip
    c_note.caption(
        f"Rows {start + 1}–{stop} of {len(rows)} (page {page} of {pages}, "
        f"{RUNS_PAGE_SIZE} rows a page). The download holds every row shown by the filters."
    )
    c_all.download_button(
        "All rows (CSV)",
        data=later.runs_csv(runs, view),
        file_name="runs.csv",
        mime="text/csv",
        on_click="ignore",
        key=bound.key("all_csv"),
        width="stretch",
    )
show_table(history.marked_runs_table(runs, rows.iloc[start:stop]))
share.share_panel(
    view.to_query(),
    store=store,
    # Built on download only, from the shared frame: a session keeps no copy of its rows.
    table=later.runs_rows(runs, view),
    run_ids=rows["run_id"],
    stem="runs",
    key="runs.share",
)

if failed:
    st.subheader("Why runs failed")
    failures = rows[rows["status"] == "failed"]
    if len(failures) > MAX_FAILURES:
        st.caption(
            f"The first {MAX_FAILURES} of {len(failures)} failed runs; the table and its "
            "download hold every reason (*Error*)."
        )
    for _, run in failures.head(MAX_FAILURES).iterrows():
        with st.expander(
            markdown_text(
                f"{run['model']} · {run['runtime']} · {run['precision']} · batch "
                f"{run['batch_size']}"
            )
        ):
            st.code(run["error"] or "no reason was recorded", language=None)
            where = markdown_text(f"{run['host']} ({run['device']})")
            st.caption(f"Run `{run['run_id']}` on {where}, started {run['started_at']} UTC")
