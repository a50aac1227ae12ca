"""Frontier: any two metrics, one Pareto frontier per group, budgets, more objectives, selection.

The URL holds the whole view (docs/url.md); every widget writes it back.
"""

from __future__ import annotations

import streamlit as st

from paretoscope.analysis.lm import missing_metrics_text
from paretoscope.analysis.selection import frontier_points, unmatched_filters
from paretoscope.present.charts import parallel_chart
from paretoscope.present.charts.frontier_spec import frontier_drawing
from paretoscope.present.markup import markdown_text
from paretoscope.present.methodology import METHODOLOGY_SUMMARY
from paretoscope.present.tables import points_table
from paretoscope.ui import binding, demo, later
from paretoscope.ui import dashboard as dash
from paretoscope.ui import frontier as ui
from paretoscope.ui import share_panel as share
from paretoscope.ui.widgets import show_table
from paretoscope.views import FrontierView

store = dash.current_store()

st.title("Accuracy–efficiency frontier")
binding.bind(binding.FRONTIER).show_notices()  # what of the link was ignored
outcome_shown = demo.finished_demo_message()
runs = dash.load_runs(store)
if runs.empty:
    _, failed = dash.run_counts(store)
    if failed:
        st.warning(f"All {failed} runs in the store failed; the Runs page shows why.")
        st.page_link("app_pages/runs.py", label="See the failed runs", icon=":material/table_rows:")
    demo.empty_store(store, outcome_shown=outcome_shown)
    st.stop()

demo.demo_banner(store, runs)  # while the demo measures: its progress; reruns as runs land


# A widget of the view reruns this part alone (issue 13): not the frame, the title, the
# store's reads or the demo's banner, and the browser redraws only what is in here.
@st.fragment
def frontier_view() -> None:
    bound = binding.bind(binding.FRONTIER)
    headline = st.empty()  # the question and its answer, once the points are known
    view = ui.language_model_default(bound, runs)  # only LMs and no axis in the link
    bound.publish()
    # The page's work on its points is done before it draws anything (``frontier_drawing``).
    fp = None if view.sweep else frontier_points(runs, view)
    drawing = None if fp is None else frontier_drawing(fp)
    spec = None if drawing is None else drawing.spec  # the chart's dict, built here
    ui.frontier_controls(bound, runs)  # x, y and grouping; the rest below, out of the chart's way
    ui.language_model_link(runs, view)  # classifiers and LMs (the demo): their frontier, at once
    ui.more_controls(bound, runs, budget=not view.sweep)
    for notice in unmatched_filters(runs, view.filters):
        st.info(markdown_text(notice))  # the link's values, never read as Markdown
    if view.sweep:  # x is a dimension: the y metric against it, one line per configuration
        chart, table, ids = ui.show_sweep(runs, view, headline)
        share.share_panel(view.to_query(), store=store, chart=chart, table=table, run_ids=ids,
                          stem="sweep")  # fmt: skip
        return

    assert fp is not None and drawing is not None
    ui.show_headline(headline, fp)
    for notice in fp.notices:
        st.info(notice)
    ui.show_budget_answers(drawing.answers, view)
    thinned, event = drawing.thinned, None
    if thinned is None or spec is None:
        what = "both metrics" if not view.z else "every chosen metric"
        st.warning(
            missing_metrics_text(runs, view.objectives)  # no run in the store has one of them
            or f"No run has {what} under these filters. Clear a filter under *Filters, scales, "
            "more objectives and budgets*, or pick another metric."
        )
    else:
        chart_key = bound.key("chart")
        event = st.vega_lite_chart(spec, width="stretch", on_select="rerun", key=chart_key)
        if thinned.note:
            st.caption(thinned.note)
    picked = (event.selection.get("pick") if event is not None else None) or []
    pick = picked[0].get("run_id") if picked else None
    # Act on a new click only: the chart keeps its last pick, and a link's sel must win over it.
    if pick is not None and pick != st.session_state.get(bound.key("last_pick")):
        st.session_state[bound.key("last_pick")] = pick
        if pick != view.selected:
            bound.go(FrontierView.from_query({**view.to_query(), "sel": pick})[0])
            st.rerun()
    st.caption(ui.frontier_caption(fp, view))
    st.caption(ui.pooling_sentence(fp, runs))

    if view.selected is not None:
        ui.show_selected_run(fp, view, view.selected)
    if view.z and thinned is not None:
        st.subheader(f"{len(view.objectives)} objectives: parallel coordinates")
        st.altair_chart(parallel_chart(fp, thinned), width="stretch")
    st.subheader("Runs on the frontier")
    show_table(points_table(fp.frontier, view.objectives, group=view.by))
    share.share_panel(
        view.to_query(),
        store=store,
        chart=later.frontier_altair(runs, view) if thinned is not None else None,
        # Built on download only, from the shared frame: a session keeps no copy of its rows
        # (``later``: a lambda here would keep this run's globals, ``fp`` among them, alive).
        table=later.frontier_table(runs, view),
        run_ids=fp.points["run_id"],
        stem="frontier",
    )
    st.caption(METHODOLOGY_SUMMARY)
    st.page_link(
        "app_pages/methodology.py", label="How each number is measured", icon=":material/science:"
    )


frontier_view()
