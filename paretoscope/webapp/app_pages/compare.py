"""Compare: chosen runs side by side against a baseline, and how a frontier shifts between groups.

The URL holds the whole view (docs/url.md); every widget writes it back.
"""

from __future__ import annotations

import streamlit as st

from paretoscope.analysis.selection import filter_runs
from paretoscope.core.fields import run_field
from paretoscope.ui import binding, later, widgets
from paretoscope.ui import compare as ui
from paretoscope.ui import dashboard as dash
from paretoscope.ui import share_panel as share

MAX_OPTIONS = 1000  # runs offered in the picker; the filters narrow a large store
store = dash.current_store()
bound = binding.bind(binding.COMPARE)
view = bound.view

st.title("Compare runs")
bound.show_notices()
runs = dash.load_runs(store)
if runs.empty:
    st.info("No successful runs yet. The Frontier page can run the demo zoo for you.")
    st.page_link("app_pages/frontier.py", label="Frontier", icon=":material/scatter_plot:")
    st.stop()
bound.publish()

bound.filter_widgets(runs, view.filters)
pool = filter_runs(runs, view.filters)
label = ui.run_labels(runs)
known = widgets.per_frame(runs, "run_rows", lambda: ui.run_positions(runs))  # once per frame
st.multiselect(
    "Runs to compare",
    ui.run_options(pool, view.runs, MAX_OPTIONS),
    format_func=label,
    key=bound.key("runs"),
    on_change=bound.sync,
    placeholder="pick two or more runs",
)
if len(pool) > MAX_OPTIONS:
    st.caption(
        f"Offering the {MAX_OPTIONS} most interesting of {len(pool):,} runs (frontier "
        "runs first, then the fastest); narrow with the filters to find others."
    )
present = [r for r in view.runs if r in known]
if len(present) < len(view.runs):
    st.warning(
        "Some runs in the link are not in this store: "
        + ", ".join(f"`{r}`" for r in view.runs if r not in known)
    )
if len(present) >= 2:
    base = view.baseline_run if view.baseline_run in present else present[0]
    bound.seed(base=base)
    st.selectbox(
        "Baseline", present, format_func=label, key=bound.key("base"), on_change=bound.sync
    )
    ui.show_deltas(runs, present, base)
    ui.show_paired_tests(store, runs, present, base)
else:
    st.info("Pick two or more runs to see them side by side.")

share.share_panel(
    view.to_query(),
    store=store,
    run_ids=pool["run_id"],
    stem="compare",
    key="compare.share",
)
st.subheader("Frontier shift between two groups")
values = (
    sorted(pool[view.shift_field].dropna().astype(str).unique().tolist())
    if view.shift_field in pool
    else []
)
a = view.a if view.a in values else (values[0] if values else None)
b = view.b if view.b in values and view.b != a else next((v for v in values if v != a), None)
bound.seed(sa=a, sb=b)
ui.shift_controls(bound, values)
if a is None or b is None or a == b:
    st.info(f"The runs have fewer than two values of {run_field(view.shift_field).label.lower()}.")
    st.stop()
ui.show_shift(pool, view, a, b, rebuild=later.filtered_runs(runs, view.filters))
