"""The Profile page's form: uploads received once, the model inspected, widgets, submission.

Widget keys start with ``profile.``; an upload is quarantined once per file
(``profile.saved.<role>.<file_id>``) and a model inspected once
(``profile.info.<file_id>``), in the session. What the answers mean is in
``paretoscope.profiling.form`` (no Streamlit).
"""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import streamlit as st

from paretoscope import profiling
from paretoscope.core.errors import InputError
from paretoscope.core.records import to_dict
from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from paretoscope.present.markup import markdown_text
from paretoscope.profiling import form, uploads
from paretoscope.ui import access
from paretoscope.ui.scenario_form import scenario_widgets
from store import Store

__all__ = [
    "K",
    "data_widgets",
    "device_widget",
    "inspect",
    "receive",
    "received_model",
    "show_info",
    "submit",
    "sweep_quarantine",
    "sweep_widgets",
]

K = "profile"  # widget key prefix


def receive(
    store: Store, role: str, upload: Any, limit_mb: float, *, fresh: bool = False
) -> tuple[uploads.Upload | None, str | None]:
    """Quarantine an uploaded file once per upload; (saved ``Upload``, refusal message).

    ``fresh``: save it again if its quarantine copy went with a finished job.
    """
    key = f"{K}.saved.{role}.{upload.file_id}"
    done = st.session_state.get(key)
    if done is None or (fresh and done[0] is not None and not done[0].path.exists()):
        upload.seek(0)
        try:
            saved = uploads.save_upload(
                store, upload.name, upload, role=role, limit_mb=limit_mb, size_bytes=upload.size,
                quota=access.current().quota,
            )  # fmt: skip
            st.session_state[key] = (saved, None)
        except InputError as err:
            st.session_state[key] = (None, str(err))
    result: tuple[uploads.Upload | None, str | None] = st.session_state[key]
    return result


def inspect(
    store: Store, saved: uploads.Upload, file_id: str
) -> tuple[profiling.ModelInfo | None, str | None]:
    """Inspect the saved model once, in a separate process; (its info, refusal message)."""
    key = f"{K}.info.{file_id}"
    if key not in st.session_state:
        with st.spinner(f"Inspecting {markdown_text(saved.original_name)} in a separate process…"):
            try:
                st.session_state[key] = (profiling.inspect_in_worker(saved.path), None)
            except InputError as err:
                uploads.remove_upload(store, saved.path)
                # Say it with the name the user knows, not the quarantine's.
                why = uploads.as_uploaded(str(err), saved.path, saved.original_name)
                st.session_state[key] = (None, why)
    result: tuple[profiling.ModelInfo | None, str | None] = st.session_state[key]
    return result


def received_model(
    store: Store, model_file: Any, limit_mb: float
) -> tuple[uploads.Upload | None, profiling.ModelInfo | None]:
    """The uploaded model saved and inspected, or (None, None) with the refusal shown."""
    saved = info = None
    if model_file is not None:
        saved, refusal = receive(store, "model", model_file, limit_mb)
        if saved is not None:
            info, refusal = inspect(store, saved, model_file.file_id)
        if refusal:
            st.error(markdown_text(refusal))
    return saved, info


def _shape_text(shape: tuple[Any, ...]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def show_info(info: profiling.ModelInfo) -> None:
    """What the inspection found: size, parameters, opset, nodes, inputs and outputs."""
    cols = st.columns(4)
    cols[0].metric("File size", f"{info.size_bytes / 1e6:.3f} MB")
    cols[1].metric("Parameters", f"{info.params:,}" if info.params is not None else "unknown")
    cols[2].metric("Opset", str(info.opset or "—"))
    cols[3].metric("Nodes", str(info.n_nodes))
    rows = [
        {"": kind, "Name": t.name, "Type": t.dtype, "Shape": _shape_text(t.shape)}
        for kind, ts in (("input", info.inputs), ("output", info.outputs))
        for t in ts
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    if info.symbolic_dims:
        st.caption(
            "Symbolic dimensions: " + ", ".join(markdown_text(d) for d in info.symbolic_dims)
        )
    if info.ort_error:
        st.warning(f"ONNX Runtime cannot run this model: {markdown_text(info.ort_error)}")


def data_widgets(store: Store, info: profiling.ModelInfo, limit_mb: float) -> Any:
    """Step 2: symbolic dimensions, the task and where accuracy comes from; the data upload."""
    for d in info.other_dims:
        st.text_input(
            f"Values of {markdown_text(d)} (comma-separated; each is a run)", key=f"{K}.dim.{d}"
        )
    if info.batch_dims:
        st.caption(
            f"The batch dimension ({markdown_text(', '.join(info.batch_dims))}) is swept below."
        )
    st.radio("Task", profiling.TASKS, key=f"{K}.task", horizontal=True)
    kind = st.radio("Accuracy from", form.DATA_CHOICES, key=f"{K}.eval")
    st.session_state[f"{K}.data_saved"] = data_file = None
    if kind == form.DATA_UPLOAD:
        data_file = st.file_uploader(
            "Labelled data: .npz (one array per input, by name, plus `labels`), or .csv/.parquet "
            "(feature columns and a label column) for a one-input model",
            type=["npz", "csv", "parquet"],
            key=f"{K}.data",
        )
        if data_file is not None:
            data_saved, data_refusal = receive(store, "data", data_file, limit_mb)
            st.session_state[f"{K}.data_saved"] = data_saved
            if data_refusal:
                st.error(markdown_text(data_refusal))
            elif data_file.name.lower().endswith((".csv", ".parquet")):
                st.text_input("Label column", value="label", key=f"{K}.label")
    elif kind == form.DATA_BUILTIN:
        fits = uploads.fitting_builtins(info, profiling.BUILTIN_DATASETS.values())
        if fits:
            st.selectbox(
                "Data set",
                [d.name for d in fits],
                key=f"{K}.builtin",
                format_func=lambda n: profiling.BUILTIN_DATASETS[n].description,
            )
        else:
            st.warning("No built-in data set fits this model's inputs; upload your own data.")
    elif kind == form.DATA_REPORTED:
        st.number_input(
            "Reported accuracy (fraction, 0–1)", 0.0, 1.0, 0.9, 0.001, key=f"{K}.reported"
        )
        st.caption("Stored and always shown as **reported**, never as measured.")
    else:
        st.caption(
            "Runs will have no accuracy: they are shown as efficiency-only, off the frontier."
        )
    return data_file


def device_widget() -> None:
    """The devices to measure on: this host's, or with a cluster also its GPUs (see the caption)."""
    from paretoscope.profiling import devices

    choices, caption = form.device_choices(devices.offered_devices(), devices.cluster_configured())
    st.multiselect("Devices", choices, default=["cpu"], key=f"{K}.devices")
    st.caption(caption)


def threads_and_budget(prefix: str) -> None:
    """The threads to sweep (this host's cores named) and the timing budget, under ``prefix``."""
    cores = os.cpu_count() or 1
    st.multiselect(
        f"Threads (this host has {cores} logical cores)",
        form.thread_choices(cores),
        default=[1],
        key=f"{prefix}.threads",
    )
    st.radio("Timing budget", form.BUDGETS, key=f"{prefix}.budget", horizontal=True)


def sweep_widgets() -> None:
    """Step 3: devices, precisions, batch sizes, threads, the timing budget and the repeats."""
    device_widget()
    cols = st.columns(4)
    for col, p in zip(cols, profiling.PROFILE_PRECISIONS, strict=True):
        col.checkbox(p, value=p == "fp32", key=f"{K}.p.{p}")
    st.multiselect("Batch sizes", form.BATCH_CHOICES, default=[1], key=f"{K}.batches")
    threads_and_budget(K)
    st.number_input(
        "Repeats: fresh processes per run",
        min_value=1,
        max_value=form.MAX_REPEATS,
        value=form.DEFAULT_REPEATS,
        step=1,
        key=f"{K}.repeats",
        help="Each run's latency is measured in this many fresh processes that share its "
        "timing budget; the 95% CI of the median is then taken between them, so it covers "
        "what changes from one process to the next. With 1, the CI is within one process.",
    )
    _time_limit_widget()
    st.checkbox(
        "Operator profile: where each run's time goes, by operator",
        value=False,
        key=f"{K}.op_profile",
        help="After each run's timed window, a short pass of its own under ONNX Runtime's or "
        "PyTorch's profiler; Run detail then shows the top operators by time. It does not "
        "change the timed numbers, and adds a second or so a run.",
    )
    scenario_widgets(K)


def _time_limit_widget() -> None:
    """The per-run time limit, up to the operator's maximum (``PARETOSCOPE_MAX_RUN_SECONDS``)."""
    try:
        ceiling = profiling.max_run_seconds()
    except InputError as err:
        st.warning(f"{markdown_text(err)}. Until then, this page's jobs are refused at Submit.")
        ceiling = profiling.DEFAULT_MAX_RUN_SECONDS
    st.number_input(
        "Time limit per run (seconds)",
        min_value=1.0,
        max_value=float(ceiling),
        value=float(min(profiling.DEFAULT_TIMEOUT_S, ceiling)),
        step=30.0,
        format="%g",
        key=f"{K}.timeout_s",
        help=f"Each process that measures a run (each repeat) is stopped after this long, and "
        f"the run is stored as failed with the reason. This server allows at most {ceiling:g} "
        f"s (the operator sets `{profiling.MAX_RUN_SECONDS_ENV}`).",
    )


def _answers() -> dict[str, Any]:
    prefix = f"{K}."
    return {
        str(k)[len(prefix) :]: v for k, v in st.session_state.items() if str(k).startswith(prefix)
    }


def submit(
    store: Store,
    model_file: Any,
    data_file: Any,
    saved: uploads.Upload,
    info: profiling.ModelInfo,
    limit_mb: float,
) -> None:
    """Queue the form's profile as a job and make sure a runner runs it; say what happened."""
    # A finished job takes its quarantined files along; the same upload is saved again.
    saved = receive(store, "model", model_file, limit_mb, fresh=True)[0] or saved
    if data_file is not None:
        st.session_state[f"{K}.data_saved"] = receive(
            store, "data", data_file, limit_mb, fresh=True
        )[0]
    try:
        request = form.request_from_answers(saved, info, _answers())
        profiling.validate_options(request)
    except InputError as err:
        st.error(markdown_text(err))
        return
    title = form.job_title(saved.original_name, request)
    who = access.current()
    if not access.require_profiler("Submitting a job", who):
        return
    try:
        job = jobs.submit_job(
            store, to_dict(request), title=title, submitted_by=who.who, quota=who.quota
        )
    except InputError as err:  # AccessError: over a quota, said with how to raise it
        st.error(str(err))
        return
    ahead = jobs.queue_position(store, job)
    try:
        jobrunner.ensure_runner(store)
    except OSError as err:
        st.error(
            f"Could not start the job runner: {markdown_text(err)}. Run `python -m "
            f"paretoscope.jobrunner --store {store.path}` in a terminal."
        )
    if ahead:
        st.info(f"Queued behind {ahead} job(s); it starts when they finish.")
    else:
        st.success("Submitted; it starts now.")


def sweep_quarantine(store: Store) -> None:
    """Remove quarantined uploads that neither this session nor a job holds any more."""
    held = [
        v[0].path for k, v in st.session_state.items() if str(k).startswith(f"{K}.saved.") and v[0]
    ]
    uploads.sweep_quarantine(store, keep=held)
