"""The Profile page's form as data: its choices, and the request and job title its answers make.

No Streamlit: the page (``paretoscope.ui.profile_form``) draws the widgets and
hands their values here by name (``eval``, ``task``, ``p.fp32``, ``dim.seq``…).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from paretoscope.core.errors import InputError
from paretoscope.core.modelinfo import ModelInfo
from paretoscope.core.records import TimingBudget
from paretoscope.profiling.request import (
    DEFAULT_REPEATS,
    DEFAULT_TIMEOUT_S,
    MAX_REPEATS,
    PROFILE_PRECISIONS,
    ProfileRequest,
    sweep_points,
    sweep_text,
)
from paretoscope.profiling.scenario_form import scenarios_from_answers
from paretoscope.profiling.uploads import Upload, parse_values

__all__ = [
    "BATCH_CHOICES",
    "BUDGETS",
    "DATA_BUILTIN",
    "DATA_CHOICES",
    "DATA_NONE",
    "DATA_REPORTED",
    "DATA_UPLOAD",
    "DEFAULT_REPEATS",
    "DEFAULT_TIMEOUT_S",
    "MAX_REPEATS",
    "QUICK",
    "device_choices",
    "job_title",
    "request_from_answers",
    "thread_choices",
]

#: The quick timing budget: noisier, for a first look.
QUICK = TimingBudget(warmup_iters=3, min_iters=10, max_iters=5000, min_time_s=0.02, max_time_s=0.2)
BUDGETS = ("standard: up to 2 s of timing per run", "quick: up to 0.2 s per run, noisier")
DATA_UPLOAD, DATA_BUILTIN, DATA_REPORTED, DATA_NONE = (
    "Upload labelled data",
    "A built-in data set",
    "Type an accuracy measured elsewhere",
    "None: efficiency only",
)
DATA_CHOICES = (DATA_UPLOAD, DATA_BUILTIN, DATA_REPORTED, DATA_NONE)
BATCH_CHOICES = (1, 2, 4, 8, 16, 32, 64, 128)


def thread_choices(cores: int) -> list[int]:
    """Thread counts to offer on a host with ``cores`` logical cores: powers of two and all."""
    return sorted({t for t in (1, 2, 4, 8, 16, 32, 64) if t <= cores} | {cores})


def device_choices(offered: Sequence[str], cluster: bool) -> tuple[tuple[str, ...], str]:
    """The devices the page offers and a caption that says where they come from.

    ``offered``: this host's (``devices.offered_devices``). With a Dask
    cluster (``cluster``) the runs go to its workers, whose devices the page
    does not ask the scheduler for (that would hold the page up on every
    rerun): ``cpu`` and ``cuda:0`` are offered, ``cuda:0`` meaning a GPU of
    any worker that offers one (resource ``gpu``; by model ``gpu-<model>``,
    e.g. ``gpu-h200``).
    """
    if cluster:
        choices = tuple(dict.fromkeys([*offered, "cuda:0"]))
        return choices, (
            "A Dask cluster is configured (`PARETOSCOPE_DASK_SCHEDULER`): runs go to its "
            "workers. A `cuda:N` run goes to a worker offering a GPU (resource `gpu`; its "
            "workers name GPUs by model, e.g. `gpu-h200`). This page does not list the "
            "workers' devices: asking the scheduler would hold the page up. A run no worker "
            "can take is stored as failed with the reason."
        )
    if len(offered) == 1:
        return tuple(offered), "This host offers its CPU only (the NVIDIA driver lists no GPU)."
    return tuple(offered), f"This host's devices: {', '.join(offered)}."


def request_from_answers(
    model: Upload, info: ModelInfo, answers: Mapping[str, Any]
) -> ProfileRequest:
    """The form's answers (by widget name) as a ProfileRequest; raises InputError for a bad value.

    ``answers["data_saved"]`` is the uploaded data file (an ``Upload``) when there is one;
    ``answers["repeats"]`` the fresh processes per run (``DEFAULT_REPEATS`` when absent);
    ``answers["timeout_s"]`` each process's time limit in seconds (``DEFAULT_TIMEOUT_S``),
    checked against the operator's maximum by ``validate_options``;
    ``answers["devices"]`` the devices (``cpu`` when absent or empty).
    """
    dims = {d: parse_values(answers[f"dim.{d}"], f"`{d}`") for d in info.other_dims}
    kind = answers["eval"]
    data = answers.get("data_saved") if kind == DATA_UPLOAD else None
    if kind == DATA_UPLOAD and data is None:
        raise InputError("upload an evaluation data file, or choose another evaluation option")
    budget = QUICK if answers["budget"].startswith("quick") else TimingBudget()
    return ProfileRequest(
        model_path=str(model.path),
        data_path=str(data.path) if data else None,
        builtin_data=answers.get("builtin") if kind == DATA_BUILTIN else None,
        label_column=(answers.get("label") or None) if data else None,
        task=answers["task"],
        precisions=tuple(p for p in PROFILE_PRECISIONS if answers[f"p.{p}"]),
        devices=tuple(answers.get("devices") or ("cpu",)),
        batches=tuple(sorted(answers["batches"])),
        threads=tuple(sorted(answers["threads"])),
        dims=dims,
        reported_accuracy=answers["reported"] if kind == DATA_REPORTED else None,
        source="upload",
        name=model.original_name.rsplit(".", 1)[0] or "model",
        budget=budget,
        repeats=int(answers.get("repeats", DEFAULT_REPEATS)),
        timeout_s=float(answers.get("timeout_s", DEFAULT_TIMEOUT_S)),
        data_name=data.original_name if data else None,
        op_profile=bool(answers.get("op_profile", False)),
        scenarios=scenarios_from_answers(answers),
    )


def job_title(model_name: str, request: ProfileRequest) -> str:
    """The job's title in the jobs list: the file, what it sweeps and how many runs.

    E.g. ``model.onnx: fp32, int8 · batch 1 · seq=32,128 · 3 repeats · 4 run(s)``:
    every value of a symbolic dimension, and the repeats when more than one.
    """
    n = len(
        sweep_points(
            request.runtimes,
            request.precisions,
            request.batches,
            request.threads,
            request.dims,
            request.devices,
        )
    )
    return f"{model_name}: {sweep_text(request)} · {n} run(s)"
