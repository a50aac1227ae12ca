"""Frontier: accuracy against an efficiency metric, the Pareto frontier highlighted.

The URL holds the whole view (docs/url.md); every widget writes it back.
"""

from __future__ import annotations

import streamlit as st

from paretoscope import dashboard as dash
from paretoscope.charts import frontier_chart, frontier_table
from paretoscope.methodology import METHODOLOGY_SUMMARY
from paretoscope.metrics import METRICS
from paretoscope.views import FrontierView, frontier_points, unmatched_filters

K = "frontier"  # widget key prefix
store = dash.current_store()
view, notices = FrontierView.from_query(dash.query_params())

st.title("Accuracy–efficiency frontier")
dash.show_notices(notices)
outcome_shown = dash.finished_demo_message()
runs = dash.load_runs(store)
if runs.empty:
    _, failed = dash.run_counts(store)
    if failed:
        st.warning(f"All {failed} runs in the store failed; the Runs page shows why.")
        st.page_link("app_pages/runs.py", label="See the failed runs", icon=":material/table_rows:")
    dash.empty_store(store, outcome_shown=outcome_shown)
    st.stop()

job = dash.demo_running(store)
if job is not None:
    dash.demo_progress(job)


def sync(changed: str = "") -> None:
    """Write the widgets' view into the URL (a new x metric drops the old scale override)."""
    s = st.session_state
    new = FrontierView(
        x=s[f"{K}.x"],
        y=s[f"{K}.y"],
        x_log=None if changed == "x" else s[f"{K}.xlog"],
        filters=dash.filters_from_state(K),
        show_dominated=s[f"{K}.dom"],
    )
    dash.write_query(new.to_query())


dash.write_query(view.to_query())  # a fixed-up link becomes the canonical one
st.session_state.update(
    {f"{K}.x": view.x, f"{K}.y": view.y, f"{K}.xlog": view.log_x, f"{K}.dom": view.show_dominated}
)
c_x, c_y, c_log, c_dom = st.columns([3, 3, 1.1, 1.9], vertical_alignment="bottom")
c_x.selectbox(
    "x axis",
    [k for k in METRICS if k != view.y],
    format_func=lambda k: METRICS[k].axis_title,
    key=f"{K}.x",
    on_change=sync,
    args=("x",),
)
c_y.selectbox(
    "y axis",
    [k for k in METRICS if k != view.x],
    format_func=lambda k: METRICS[k].axis_title,
    key=f"{K}.y",
    on_change=sync,
)
c_log.toggle("Log x", key=f"{K}.xlog", on_change=sync)
c_dom.toggle("Dominated runs", key=f"{K}.dom", on_change=sync, help="Show runs off the frontier")
dash.filter_widgets(runs, view.filters, K, on_change=sync)
for notice in unmatched_filters(runs, view.filters):
    st.info(notice)

fp = frontier_points(runs, view)
for notice in fp.notices:
    st.info(notice)
if fp.points.empty:
    st.warning("No run has both metrics under these filters.")
else:
    st.altair_chart(frontier_chart(fp), width="stretch")
on = int(fp.points["on_frontier"].sum())
parts = [f"{len(fp.points)} runs plotted, {on} on the frontier"]
if fp.n_filtered_out:
    parts.append(f"{fp.n_filtered_out} hidden by the filters")
if fp.excluded:
    parts.append("Not plotted: " + "; ".join(fp.excluded))
st.caption(". ".join(parts) + ".")

st.subheader("Runs on the frontier")
dash.show_table(frontier_table(fp))
st.caption(METHODOLOGY_SUMMARY)
st.page_link(
    "app_pages/methodology.py", label="How each number is measured", icon=":material/science:"
)
