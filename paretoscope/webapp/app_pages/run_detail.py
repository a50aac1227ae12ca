"""Run detail: one run's latency distribution, configuration, provenance, accuracy and weak spots.

The run id is in the URL (``/run?run=ID``, docs/url.md).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from paretoscope.analysis.rundetail import config_rows, measurement_warnings, sweep_text
from paretoscope.present.markup import markdown_text
from paretoscope.ui import binding, generation, history, scenarios
from paretoscope.ui import dashboard as dash
from paretoscope.ui import run_detail as ui
from paretoscope.ui import share_panel as share

store = dash.current_store()
bound = binding.bind(binding.RUN)
view = bound.view

st.title("Run detail")
bound.show_notices()
bound.publish()
st.text_input(
    "Run id",
    key=bound.key("run"),
    on_change=bound.sync,
    help="Click a point on the Frontier page, or copy an id from the Runs page.",
)
bound.show_widget_notices(what="the run id")
if view.run is None:
    st.info("Choose a run: click a point on the Frontier page, or paste a run id above.")
    st.page_link("app_pages/frontier.py", label="Frontier", icon=":material/scatter_plot:")
    st.stop()
rec = store.get_record(view.run)
if rec is None:
    st.warning(f"No stored run has the id `{view.run}`. It may come from another store.")
    st.stop()

spec = rec.spec
sweep = sweep_text(rec)  # the symbolic-dimension values, e.g. "seq=128"; "—" without
st.subheader(
    markdown_text(
        f"{spec.model.name} · {spec.runtime} · {spec.device} · {spec.precision} · "
        f"batch {spec.batch_size}" + (f" · {sweep}" if sweep != "—" else "")
    )
)
if rec.origin != "measured":
    st.info("This run was **imported**: it was measured elsewhere, not by this Paretoscope.")
if rec.status != "ok":
    st.error(markdown_text(f"The run failed: {rec.error or 'no reason stored'}", multiline=True))
for warning in measurement_warnings(rec):
    st.warning(markdown_text(warning))
runs = dash.load_runs(store)
history.show_mark(runs, rec.run_id)  # regressed against the previous run of its configuration
ui.show_header(rec)
if rec.generation is None or rec.latency is not None:
    ui.show_latency(rec)
generation.show_generation(rec)  # a causal language model: prefill and decode apart
ui.show_op_profile(rec)
scenarios.show_scenarios(rec)  # offline and server (issue 16)
st.subheader("Accuracy")
ui.show_accuracy(rec)
ui.show_parent_test(store, runs, rec)
history.show_history(runs, rec.run_id)
st.subheader("Configuration and provenance")
rows = pd.DataFrame(ui.measurement_rows(rec) + config_rows(rec), columns=["What", "Value"])
st.dataframe(rows, hide_index=True, width="stretch")
st.page_link(
    "app_pages/compare.py",
    label="Compare this run with others",
    icon=":material/compare_arrows:",
    query_params={"run": rec.run_id},
)
share.share_panel(
    view.to_query(),
    store=store,
    run_ids=[rec.run_id],
    stem=f"run-{rec.run_id[:12]}",
    key="run_detail.share",
)
