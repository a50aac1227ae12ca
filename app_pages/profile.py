"""Profile: upload an ONNX model and its data, pick variants and sweeps, run it as a job."""

from __future__ import annotations

import os
from typing import Any

import pandas as pd
import streamlit as st

from paretoscope import profiling
from paretoscope.core.errors import InputError
from paretoscope.core.records import TimingBudget, to_dict
from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from paretoscope.present.progress import format_duration
from paretoscope.profiling import uploads
from paretoscope.ui import dashboard as dash

K = "profile"  # widget key prefix
LIST_LIMIT = 20
QUICK = TimingBudget(warmup_iters=3, min_iters=10, max_iters=5000, min_time_s=0.02, max_time_s=0.2)
STATUS_ICON = {
    "queued": ":gray[:material/schedule:]",
    "running": ":blue[:material/play_circle:]",
    "done": ":green[:material/check_circle:]",
    "failed": ":red[:material/error:]",
    "cancelled": ":gray[:material/cancel:]",
    "interrupted": ":orange[:material/warning:]",
}
store = dash.current_store()
limit_mb = float(st.get_option("server.maxUploadSize"))
st.title("Profile a model")
st.caption(
    "Upload an ONNX model; it is inspected in a separate process before anything runs. Each "
    "variant × batch × threads combination is one run, measured in its own worker process, "
    "with accuracy measured on your data. Runs appear on the Frontier page."
)


def receive(role: str, upload: Any, *, fresh: bool = False) -> tuple[Any, str | None]:
    """Quarantine an uploaded file once per upload; (saved ``Upload``, refusal message).

    ``fresh``: save it again if its quarantine copy went with a finished job.
    """
    key = f"{K}.saved.{role}.{upload.file_id}"
    done = st.session_state.get(key)
    if done is None or (fresh and done[0] is not None and not done[0].path.exists()):
        upload.seek(0)
        try:
            saved = uploads.save_upload(
                store, upload.name, upload, role=role, limit_mb=limit_mb, size_bytes=upload.size
            )
            st.session_state[key] = (saved, None)
        except InputError as err:
            st.session_state[key] = (None, str(err))
    result: tuple[uploads.Upload | None, str | None] = st.session_state[key]
    return result


def inspect(saved: uploads.Upload, file_id: str) -> tuple[Any, str | None]:
    key = f"{K}.info.{file_id}"
    if key not in st.session_state:
        with st.spinner(f"Inspecting {saved.original_name} in a separate process…"):
            try:
                st.session_state[key] = (profiling.inspect_in_worker(saved.path), None)
            except InputError as err:
                uploads.remove_upload(store, saved.path)
                # Say it with the name the user knows, not the quarantine's.
                why = str(err).replace(saved.path.name, saved.original_name)
                st.session_state[key] = (None, why)
    result: tuple[profiling.ModelInfo | None, str | None] = st.session_state[key]
    return result


def shape_text(shape: tuple[Any, ...]) -> str:
    return "[" + ", ".join("?" if d is None else str(d) for d in shape) + "]"


def show_info(info: profiling.ModelInfo) -> None:
    cols = st.columns(4)
    cols[0].metric("File size", f"{info.size_bytes / 1e6:.3f} MB")
    cols[1].metric("Parameters", f"{info.params:,}" if info.params is not None else "unknown")
    cols[2].metric("Opset", str(info.opset or "—"))
    cols[3].metric("Nodes", str(info.n_nodes))
    rows = [
        {"": kind, "Name": t.name, "Type": t.dtype, "Shape": shape_text(t.shape)}
        for kind, ts in (("input", info.inputs), ("output", info.outputs))
        for t in ts
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True)
    if info.symbolic_dims:
        st.caption("Symbolic dimensions: " + ", ".join(f"`{d}`" for d in info.symbolic_dims))
    if info.ort_error:
        st.warning(f"ONNX Runtime cannot run this model: {info.ort_error}")


def request_from_form(saved: uploads.Upload, info: profiling.ModelInfo) -> Any:
    """The form's answers as a ProfileRequest; raises InputError for a bad value."""
    dims = {
        d: uploads.parse_values(st.session_state[f"{K}.dim.{d}"], f"`{d}`") for d in info.other_dims
    }
    kind = st.session_state[f"{K}.eval"]
    data = st.session_state.get(f"{K}.data_saved") if kind == DATA_UPLOAD else None
    if kind == DATA_UPLOAD and data is None:
        raise InputError("upload an evaluation data file, or choose another evaluation option")
    budget = QUICK if st.session_state[f"{K}.budget"].startswith("quick") else TimingBudget()
    return profiling.ProfileRequest(
        model_path=str(saved.path),
        data_path=str(data.path) if data else None,
        builtin_data=st.session_state.get(f"{K}.builtin") if kind == DATA_BUILTIN else None,
        label_column=(st.session_state.get(f"{K}.label") or None) if data else None,
        task=st.session_state[f"{K}.task"],
        precisions=tuple(p for p in profiling.PROFILE_PRECISIONS if st.session_state[f"{K}.p.{p}"]),
        batches=tuple(sorted(st.session_state[f"{K}.batches"])),
        threads=tuple(sorted(st.session_state[f"{K}.threads"])),
        dims=dims,
        reported_accuracy=st.session_state[f"{K}.reported"] if kind == DATA_REPORTED else None,
        source="upload",
        name=saved.original_name.rsplit(".", 1)[0] or "model",
        budget=budget,
    )


BUDGETS = ("standard: up to 2 s of timing per run", "quick: up to 0.2 s per run, noisier")
DATA_UPLOAD, DATA_BUILTIN, DATA_REPORTED, DATA_NONE = (
    "Upload labelled data",
    "A built-in data set",
    "Type an accuracy measured elsewhere",
    "None: efficiency only",
)

st.subheader("1 · Model")
if profiling.torch_uploads_allowed():
    st.info(
        f"`{profiling.ALLOW_TORCH_UPLOADS_ENV}` is set, but this page takes ONNX files only for "
        "now: profile `.pt2` files with `paretoscope profile` on the command line."
    )
st.caption(
    f"One `.onnx` file, up to {limit_mb:g} MB (server setting `server.maxUploadSize`). PyTorch "
    f"programs (`.pt2`, TorchScript) can run code when loaded, so browser uploads of them are off "
    f"unless the server sets `{profiling.ALLOW_TORCH_UPLOADS_ENV}=1`; pickled `.pt`/`.pkl` files "
    "are always refused. Trusted local PyTorch models: `paretoscope profile` on the command line."
)
model_file = st.file_uploader("ONNX model", key=f"{K}.model")
saved = info = None
if model_file is not None:
    saved, refusal = receive("model", model_file)
    if saved is not None:
        info, refusal = inspect(saved, model_file.file_id)
    if refusal:
        st.error(refusal)
if saved is not None and info is not None:
    show_info(info)
    st.subheader("2 · Evaluation data")
    for d in info.other_dims:
        st.text_input(f"Values of `{d}` (comma-separated; each is a run)", key=f"{K}.dim.{d}")
    if info.batch_dims:
        st.caption(f"The batch dimension ({', '.join(info.batch_dims)}) is swept below.")
    st.radio("Task", profiling.TASKS, key=f"{K}.task", horizontal=True)
    kind = st.radio(
        "Accuracy from", (DATA_UPLOAD, DATA_BUILTIN, DATA_REPORTED, DATA_NONE), key=f"{K}.eval"
    )
    st.session_state[f"{K}.data_saved"] = data_file = None
    if kind == DATA_UPLOAD:
        data_file = st.file_uploader(
            "Labelled data: .npz (one array per input, by name, plus `labels`), or .csv/.parquet "
            "(feature columns and a label column) for a one-input model",
            type=["npz", "csv", "parquet"],
            key=f"{K}.data",
        )
        if data_file is not None:
            data_saved, data_refusal = receive("data", data_file)
            st.session_state[f"{K}.data_saved"] = data_saved
            if data_refusal:
                st.error(data_refusal)
            elif data_file.name.lower().endswith((".csv", ".parquet")):
                st.text_input("Label column", value="label", key=f"{K}.label")
    elif kind == DATA_BUILTIN:
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
    elif kind == DATA_REPORTED:
        st.number_input(
            "Reported accuracy (fraction, 0–1)", 0.0, 1.0, 0.9, 0.001, key=f"{K}.reported"
        )
        st.caption("Stored and always shown as **reported**, never as measured.")
    else:
        st.caption(
            "Runs will have no accuracy: they are shown as efficiency-only, off the frontier."
        )

    st.subheader("3 · Variants and sweeps")
    cols = st.columns(4)
    for col, p in zip(cols, profiling.PROFILE_PRECISIONS, strict=True):
        col.checkbox(p, value=p == "fp32", key=f"{K}.p.{p}")
    st.multiselect("Batch sizes", [1, 2, 4, 8, 16, 32, 64, 128], default=[1], key=f"{K}.batches")
    cores = os.cpu_count() or 1
    threads = sorted({t for t in (1, 2, 4, 8, 16, 32, 64) if t <= cores} | {cores})
    st.multiselect(f"Threads (this host has {cores} logical cores)", threads, default=[1],
                   key=f"{K}.threads")  # fmt: skip
    st.radio("Timing budget", BUDGETS, key=f"{K}.budget", horizontal=True)
    if st.button("Submit", type="primary", key=f"{K}.submit"):
        # A finished job takes its quarantined files along; the same upload is saved again.
        saved = receive("model", model_file, fresh=True)[0] or saved
        if data_file is not None:
            st.session_state[f"{K}.data_saved"] = receive("data", data_file, fresh=True)[0]
        try:
            request = request_from_form(saved, info)
            profiling.validate_options(request)
        except InputError as err:
            st.error(str(err))
        else:
            n = len(
                profiling.sweep_points(
                    request.runtimes,
                    request.precisions,
                    request.batches,
                    request.threads,
                    request.dims,
                )
            )
            title = (
                f"{saved.original_name}: {', '.join(request.precisions)} · batch "
                + ", ".join(map(str, request.batches))
                + f" · {n} run(s)"
            )
            job = jobs.submit_job(store, to_dict(request), title=title)
            ahead = jobs.queue_position(store, job)
            try:
                jobrunner.ensure_runner(store)
            except OSError as err:
                st.error(
                    f"Could not start the job runner: {err}. Run `python -m "
                    f"paretoscope.jobrunner --store {store.path}` in a terminal."
                )
            if ahead:
                st.info(f"Queued behind {ahead} job(s); it starts when they finish.")
            else:
                st.success("Submitted; it starts now.")


st.subheader("Jobs")
st.caption(
    "Jobs run one at a time, in the order they were submitted, in a background process that "
    "outlives this page: reload or close it freely."
)


def show_job(job: jobs.Job) -> None:
    with st.container(border=True):
        when = job.created_at.strftime("%Y-%m-%d %H:%M UTC")
        st.markdown(
            f"{STATUS_ICON.get(job.status, '')} **{job.title or job.job_id}** — "
            f"{job.status} · submitted {when}"
        )
        if job.status == "running":
            total = job.progress_total or "?"
            eta = f", about {format_duration(job.eta_s)} left" if job.eta_s is not None else ""
            step = job.label or "starting…"
            st.progress(job.fraction, text=f"{job.progress_done}/{total} — {step}{eta}")
        elif job.status == "queued":
            st.caption("Waiting for the jobs before it to finish.")
        if job.message and job.status in ("failed", "interrupted"):
            st.error(job.message)
        elif job.message:
            st.caption(job.message)
        if job.active and not job.cancel_requested:
            st.button("Cancel", key=f"{K}.cancel.{job.job_id}", on_click=jobs.cancel_job,
                      args=(store, job.job_id))  # fmt: skip
        elif job.active:
            st.caption("Cancelling: it stops at the next step.")
        if job.status in ("failed", "cancelled", "interrupted") and uploads.inputs_present(
            job.request
        ):
            st.button("Run again", key=f"{K}.again.{job.job_id}", on_click=run_again,
                      args=(job.job_id,))  # fmt: skip
        if job.status in ("done", "cancelled") and job.runs_ok:
            st.page_link(
                "app_pages/frontier.py",
                label=f"See its {job.runs_ok} run(s) on the Frontier page",
                icon=":material/scatter_plot:",
            )


def start_runner() -> None:
    jobrunner.ensure_runner(store)


def run_again(job_id: str) -> None:
    jobs.resubmit_job(store, job_id)
    start_runner()


def jobs_section() -> None:
    jobs.recover_interrupted(store)
    listed = jobs.list_jobs(store, limit=LIST_LIMIT)
    active = any(j.active for j in listed)
    if st.session_state.get(f"{K}.was_active") and not active:
        st.session_state[f"{K}.was_active"] = False
        st.rerun(scope="app")  # stop polling; refresh the run counts
    st.session_state[f"{K}.was_active"] = active
    if not listed:
        st.info("No jobs yet. Upload a model above and submit it.")
        return
    queued = sum(j.status == "queued" for j in listed)
    if queued and jobrunner.runner_pid(store) is None:
        st.warning(f"{queued} job(s) are queued but no job runner is running.")
        st.button("Start the job runner", key=f"{K}.start_runner", on_click=start_runner)
    for job in listed:
        show_job(job)
    if len(listed) == LIST_LIMIT:
        st.caption(f"The {LIST_LIMIT} most recent jobs are shown.")


polling = any(j.active for j in jobs.list_jobs(store, statuses=jobs.ACTIVE_STATUSES, limit=1))
st.fragment(run_every=1.0 if polling else None)(jobs_section)()
held = [v[0].path for k, v in st.session_state.items() if str(k).startswith(f"{K}.saved.") and v[0]]
uploads.sweep_quarantine(store, keep=held)
