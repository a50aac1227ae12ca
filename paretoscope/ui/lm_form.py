"""The Profile page's causal-LM form: a zipped Hugging Face folder, checked once, then its options.

Widget keys start with ``profile.lm.``. The zip is quarantined (role ``lm``)
and checked (``profiling.lm_form.check_lm_upload``: traversal, links, sizes,
pickles, custom code, safetensors) once per upload, in the session
(``profile.lm.info.<file_id>``); a refused zip is deleted at once and no job
is made. What the answers mean is in ``paretoscope.profiling.lm_form``.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from paretoscope import profiling
from paretoscope.core.errors import InputError
from paretoscope.core.records import to_dict
from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from paretoscope.present.markup import markdown_text
from paretoscope.profiling import form, uploads
from paretoscope.profiling import lm_form as lm
from paretoscope.profiling.hfzip import LmZipInfo
from paretoscope.ui import access
from paretoscope.ui.profile_form import receive, threads_and_budget
from store import Store

__all__ = ["KL", "is_lm_file", "lm_section"]

KL = "profile.lm"  # widget key prefix


def is_lm_file(model_file: Any) -> bool:
    """Whether the uploaded model (or None) is offered as a zipped causal LM (``.zip``)."""
    return model_file is not None and lm.is_lm_upload(model_file.name)


def _checked(store: Store, model_file: Any, limit_mb: float) -> tuple[Any, LmZipInfo | None]:
    """The zip saved and checked once per upload, or (None, None) with the refusal shown."""
    saved, refusal = receive(store, "lm", model_file, limit_mb)
    key = f"{KL}.info.{model_file.file_id}"
    if saved is not None and key not in st.session_state:
        with st.spinner(f"Checking {markdown_text(saved.original_name)}…"):
            try:
                st.session_state[key] = (lm.check_lm_upload(saved, limit_mb), None)
            except InputError as err:
                uploads.remove_upload(store, saved.path)
                st.session_state[key] = (None, str(err))
    info = None
    if saved is not None:
        info, refusal = st.session_state[key]
    if refusal:
        st.error(markdown_text(refusal))
        return None, None
    return saved, info


def _show(info: LmZipInfo) -> None:
    # The architecture's name comes from the uploaded config.json: shown as text, escaped.
    st.markdown(
        f"A causal language model: **{markdown_text(info.architecture)}** "
        f"(model type {markdown_text(info.model_type)}), safetensors weights."
    )
    facts = lm.zip_facts(info)[1:]
    for row in (facts[:4], facts[4:]):
        for col, (label, value) in zip(st.columns(4), row, strict=False):
            col.metric(label, value)
    st.caption(
        "Parameters are counted from the safetensors headers (tensor shapes); the rest is "
        "read from config.json."
    )


def _text_widgets(store: Store, limit_mb: float) -> Any:
    kind = st.radio("Perplexity measured on", lm.TEXT_CHOICES, key=f"{KL}.text")
    st.session_state[f"{KL}.text_saved"] = text_file = None
    if kind == lm.TEXT_UPLOAD:
        text_file = st.file_uploader(
            "Evaluation text (UTF-8 .txt, or .jsonl with a `text` field per line)",
            type=["txt", "jsonl"],
            key=f"{KL}.textfile",
        )
        if text_file is not None:
            saved, refusal = receive(store, "text", text_file, limit_mb)
            if saved is not None and refusal is None:
                try:
                    lm.check_text_upload(saved)
                except InputError as err:
                    uploads.remove_upload(store, saved.path)
                    saved, refusal = None, str(err)
            st.session_state[f"{KL}.text_saved"] = saved
            if refusal:
                st.error(markdown_text(refusal))
        st.caption(
            "Cut into consecutive windows of the context below; each token after a window's "
            "first is predicted from those before it (see Methodology)."
        )
    else:
        st.caption("Runs get no perplexity: prompts are random token ids (efficiency only).")
    return text_file


def _sweep_widgets() -> None:
    from paretoscope.profiling import devices

    choices, caption = form.device_choices(devices.offered_devices(), devices.cluster_configured())
    st.multiselect("Devices", choices, default=["cpu"], key=f"{KL}.devices")
    st.caption(caption)
    cols = st.columns(3)
    cols[0].text_input("Prompt lengths (tokens)", "32, 128", key=f"{KL}.prompt_len")
    cols[1].text_input("Generated lengths (tokens, ≥ 2)", "32", key=f"{KL}.gen_len")
    cols[2].number_input("Perplexity context (tokens)", 2, 1 << 16, 128, key=f"{KL}.context")
    for col, p in zip(st.columns(len(lm.LM_PRECISIONS)), lm.LM_PRECISIONS, strict=True):
        col.checkbox(p, value=p == "fp32", key=f"{KL}.p.{p}")
    st.caption("fp16 needs a GPU; int8 (dynamic, linear layers) runs on a CPU only.")
    st.multiselect("Batch sizes", lm.LM_BATCH_CHOICES, default=[1], key=f"{KL}.batches")
    threads_and_budget(KL)
    try:
        ceiling = profiling.max_run_seconds()
    except InputError as err:
        st.warning(f"{markdown_text(err)}. Until then, this page's jobs are refused at Submit.")
        ceiling = profiling.DEFAULT_MAX_RUN_SECONDS
    st.number_input(
        "Time limit per run (seconds)", 1.0, float(ceiling),
        float(min(profiling.DEFAULT_TIMEOUT_S, ceiling)), 30.0, format="%g", key=f"{KL}.timeout_s",
    )  # fmt: skip


def _answers() -> dict[str, Any]:
    prefix = f"{KL}."
    return {
        str(k)[len(prefix) :]: v for k, v in st.session_state.items() if str(k).startswith(prefix)
    }


def _submit(store: Store, model_file: Any, text_file: Any, saved: Any, limit_mb: float) -> None:
    # A finished job takes its quarantined files along; the same upload is saved again.
    saved = receive(store, "lm", model_file, limit_mb, fresh=True)[0] or saved
    if text_file is not None:
        st.session_state[f"{KL}.text_saved"] = receive(
            store, "text", text_file, limit_mb, fresh=True
        )[0]
    try:
        request = lm.lm_request_from_answers(saved, _answers())
    except InputError as err:
        st.error(markdown_text(err))
        return
    who = access.current()
    if not access.require_profiler("Submitting a job", who):
        return
    title = form.job_title(saved.original_name, request)
    try:
        job = jobs.submit_job(
            store, to_dict(request), title=title, submitted_by=who.who, quota=who.quota
        )
    except InputError as err:
        st.error(str(err))
        return
    ahead = jobs.queue_position(store, job)
    try:
        jobrunner.ensure_runner(store)
    except OSError as err:
        st.error(f"Could not start the job runner: {markdown_text(err)}.")
    st.info(f"Queued behind {ahead} job(s).") if ahead else st.success("Submitted; it starts now.")


def lm_section(store: Store, model_file: Any, limit_mb: float) -> None:
    """Steps 1–3 for a zipped causal LM: what it holds, its text, its sweep, Submit."""
    saved, info = _checked(store, model_file, limit_mb)
    if saved is None or info is None:
        return
    _show(info)
    st.subheader("2 · Evaluation text")
    text_file = _text_widgets(store, limit_mb)
    st.subheader("3 · Variants and sweeps")
    _sweep_widgets()
    if st.button("Submit", type="primary", key=f"{KL}.submit"):
        _submit(store, model_file, text_file, saved, limit_mb)
