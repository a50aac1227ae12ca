"""Run detail: one run's latency distribution, configuration, provenance, accuracy and weak spots.

The run id is in the URL (``/run?run=ID``, docs/url.md).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from paretoscope.analysis.rundetail import config_rows, measurement_warnings
from paretoscope.present.charts import latency_chart
from paretoscope.present.display import REPORTED
from paretoscope.ui import dashboard as dash
from paretoscope.ui import share_panel as share
from paretoscope.views import RunView

K = "run_detail"
store = dash.current_store()
view, notices = RunView.from_query(dash.query_params())

st.title("Run detail")
dash.show_notices(notices)
dash.write_query(view.to_query())


def sync() -> None:
    """Write the typed run id into the URL (an invalid one is dropped with a notice)."""
    raw = (st.session_state[f"{K}.run"] or "").strip()
    new, bad = RunView.from_query({"run": raw} if raw else {})
    dash.write_query(new.to_query())
    if bad:
        st.session_state[f"{K}.bad"] = bad


st.session_state[f"{K}.run"] = view.run or ""
st.text_input(
    "Run id",
    key=f"{K}.run",
    on_change=sync,
    help="Click a point on the Frontier page, or copy an id from the Runs page.",
)
dash.show_notices(st.session_state.pop(f"{K}.bad", []), what="the run id")
if view.run is None:
    st.info("Choose a run: click a point on the Frontier page, or paste a run id above.")
    st.page_link("app_pages/frontier.py", label="Frontier", icon=":material/scatter_plot:")
    st.stop()
rec = store.get_record(view.run)
if rec is None:
    st.warning(f"No stored run has the id `{view.run}`. It may come from another store.")
    st.stop()

spec = rec.spec
st.subheader(
    f"{spec.model.name} · {spec.runtime} · {spec.device} · {spec.precision} · "
    f"batch {spec.batch_size}"
)
if rec.origin != "measured":
    st.info(f"This run was **{rec.origin}**, not measured by this Paretoscope.")
if rec.status != "ok":
    st.error(f"The run failed: {rec.error or 'no reason stored'}")
for warning in measurement_warnings(rec):
    st.warning(warning)

lat = rec.latency
if lat is not None:
    half = (lat.ci_high_ms - lat.ci_low_ms) / 2
    cols = st.columns(6)
    cols[0].metric("Latency p50 (ms)", f"{lat.p50_ms:.4g}")
    cols[1].metric(
        "95% CI of p50",
        f"±{half / lat.p50_ms:.2%}" if lat.p50_ms > 0 else "—",
        help=f"{lat.ci_low_ms:.6g}–{lat.ci_high_ms:.6g} ms",
    )
    cols[2].metric("p90 (ms)", f"{lat.p90_ms:.3g}")
    cols[3].metric("p99 (ms)", f"{lat.p99_ms:.3g}")
    cols[4].metric("sd (ms)", f"{lat.std_ms:.2g}", help=f"Mean {lat.mean_ms:.4g} ms")
    cols[5].metric("Timed iterations", f"{lat.n_iter:,}")
    chart = latency_chart(lat.samples_ms, lat.quantiles_ms)
    if chart is None:
        st.caption("No latency samples or quantiles were stored for this run.")
    else:
        st.altair_chart(chart, width="stretch")
        what = "the stored timed samples" if len(lat.samples_ms) >= 2 else "the stored quantiles"
        if len(lat.samples_ms) >= 2:
            cut = float(np.percentile(lat.samples_ms, 99))
            beyond = [v for v in lat.samples_ms if v > cut]
            if beyond:
                what += (
                    f"; {len(beyond)} samples above their p99 ({cut:.3g} ms, up to "
                    f"{max(beyond):.3g} ms) are left out of the histogram"
                )
        st.caption(
            f"Distribution of one batch's latency, from {what} ({len(lat.samples_ms)} "
            f"samples kept of {lat.n_iter} timed iterations)."
        )
else:
    st.caption("No latency was measured for this run.")

st.subheader("Accuracy")
if rec.accuracy:
    acc = pd.DataFrame(
        [
            {
                "Metric": a.metric,
                "Value": a.value,
                "Dataset": a.dataset_id,
                "Samples": a.n_samples,
                "Origin": REPORTED if a.origin == "reported" else "measured",
                "Note": a.note,
            }
            for a in rec.accuracy
        ]
    )
    st.dataframe(
        acc, hide_index=True, column_config={"Value": st.column_config.NumberColumn(format="%.4f")}
    )
else:
    st.caption("No accuracy was recorded for this run.")
other = []
if rec.memory is not None:
    base = rec.memory.baseline_mem_mb
    other.append(
        (
            "Peak memory (MB)",
            f"{rec.memory.peak_mem_mb:.4g}"
            + (f" (baseline before the model: {base:.4g})" if base is not None else ""),
        )
    )
if rec.energy is not None:
    en = rec.energy
    other.append(
        (
            "Energy per item (J)",
            f"{en.energy_j_per_item:.4g}"
            if en.energy_j_per_item is not None
            else f"unavailable: {en.unavailable_reason}",
        )
    )
if rec.throughput_per_s is not None:
    other.append(("Throughput (items/s)", f"{rec.throughput_per_s:.4g}"))
if rec.model_size_mb is not None:
    other.append(("Model size (MB)", f"{rec.model_size_mb:.4g}"))
st.subheader("Configuration and provenance")
rows = pd.DataFrame(other + config_rows(rec), columns=["What", "Value"])
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
