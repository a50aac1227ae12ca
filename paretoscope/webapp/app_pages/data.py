"""Import and export: result bundles, to move runs between stores and machines."""

from __future__ import annotations

import streamlit as st

from paretoscope.core.errors import InputError
from paretoscope.present.markup import markdown_text
from paretoscope.present.tables import host_table
from paretoscope.ui import access, later
from paretoscope.ui import dashboard as dash
from paretoscope.ui import share_panel as share
from paretoscope.ui.widgets import show_notices
from store.bundle import import_bundle

K = "data"
store = dash.current_store()
st.title("Import and export runs")
show_notices(share.ignored_params())
st.markdown(
    "A **result bundle** is one Parquet file holding runs with everything measured about "
    "them: configuration, provenance (host, device, runtime and versions, threads), the "
    "model and its lineage, artifact and data-set metadata (not the files), latency "
    "statistics, memory, energy and accuracy. It is how results measured on another machine "
    "(an edge device, a lab GPU) join this dashboard."
)

st.subheader("Import a bundle")
may_import = access.require_profiler("Importing a bundle")
upload = st.file_uploader(
    "Result bundle (.parquet), made by `paretoscope export` or a download below",
    type=["parquet"],
    key=f"{K}.upload",
    disabled=not may_import,
)
if may_import and upload is not None and st.button("Import", type="primary", key=f"{K}.import"):
    try:
        result = import_bundle(store, upload.getvalue(), name=upload.name)
    except InputError as err:
        st.error(f"**Nothing was imported.** {markdown_text(err)}")
    else:
        st.success(
            f"{markdown_text(result.summary())} Imported runs are marked *imported* and keep the "
            "host they were measured on."
        )
st.caption(
    "Importing is all or nothing, and importing a bundle again adds nothing: runs already in "
    "this store (same run id) are skipped. From a terminal: `paretoscope import FILE.parquet`."
)

st.subheader("Export runs")
runs = dash.load_runs(store, status=None)
if runs.empty:
    st.info("This store has no runs to export yet.")
    st.stop()
hosts = host_table(runs)
n_imported = int((runs["origin"] == "imported").sum()) if "origin" in runs.columns else 0
st.caption(
    f"{len(runs)} runs in this store ({n_imported} imported), measured on {len(hosts)} "
    f"host{'s' if len(hosts) != 1 else ''} (hosts are told apart by their fingerprint, not "
    "their name):"
)
st.dataframe(hosts, hide_index=True)
st.download_button(
    "Download every run as a bundle",
    data=later.every_run_bundle(store),
    file_name="paretoscope-runs.parquet",
    mime="application/vnd.apache.parquet",
    on_click="ignore",
    key=f"{K}.export_all",
    icon=":material/download:",
)
st.caption(
    "Each page's *Share this view* panel downloads the runs it shows. From a terminal, with "
    "filters: `paretoscope export --out FILE.parquet [--runtime R] [--device D] "
    "[--precision P] [--model NAME] [--status ok|failed]`."
)
