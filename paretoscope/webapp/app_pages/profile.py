"""Profile: upload an ONNX model and its data, pick variants and sweeps, run it as a job."""

from __future__ import annotations

import streamlit as st

from paretoscope import profiling
from paretoscope.ui import access, job_list, lm_form
from paretoscope.ui import dashboard as dash
from paretoscope.ui import profile_form as form

store = dash.current_store()
who = access.current()
limit_mb = float(st.get_option("server.maxUploadSize"))
st.title("Profile a model")
st.caption(
    "Upload an ONNX model, or a zipped causal language model (a Hugging Face folder); it is "
    "checked before anything runs. Each "
    "device × variant × batch × threads combination is one run, measured in its own worker "
    "process, with accuracy measured on your data. Runs appear on the Frontier page."
)

st.subheader("1 · Model")
if profiling.torch_uploads_allowed():
    st.info(
        f"`{profiling.ALLOW_TORCH_UPLOADS_ENV}` is set, but this page takes ONNX files only for "
        "now: profile `.pt2` files with `paretoscope profile` on the command line."
    )
st.caption(
    f"One `.onnx` file or `.zip`, up to {limit_mb:g} MB (server setting "
    "`server.maxUploadSize`). PyTorch programs (`.pt2`, TorchScript) can run code when "
    "loaded, so browser uploads of them are off "
    f"unless the server sets `{profiling.ALLOW_TORCH_UPLOADS_ENV}=1`; pickled `.pt`/`.pkl` files "
    "are always refused. Trusted local PyTorch models: `paretoscope profile` on the command line. "
    "A causal LM: a `.zip` of a folder saved with `save_pretrained` (`config.json`, "
    "`*.safetensors`, tokenizer files; built-in architectures, no custom code, no pickles)."
)
may = access.require_profiler("Uploading and profiling a model", who)
label = "ONNX model, or .zip of a Hugging Face causal LM"
model_file = st.file_uploader(label, key=f"{form.K}.model") if may else None
is_lm = lm_form.is_lm_file(model_file)
if is_lm:
    lm_form.lm_section(store, model_file, limit_mb)
saved, info = form.received_model(store, None if is_lm else model_file, limit_mb)
if saved is not None and info is not None:
    form.show_info(info)
    st.subheader("2 · Evaluation data")
    data_file = form.data_widgets(store, info, limit_mb)
    st.subheader("3 · Variants and sweeps")
    form.sweep_widgets()
    if st.button("Submit", type="primary", key=f"{form.K}.submit"):
        form.submit(store, model_file, data_file, saved, info, limit_mb)

st.subheader("Jobs")
st.caption(
    "Jobs run one at a time, in the order they were submitted, in a background process that "
    "outlives this page: reload or close it freely."
)
job_list.jobs_list(store)
form.sweep_quarantine(store)
