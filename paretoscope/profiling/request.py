"""What a user asks to profile, checked before any file is read; the sweep it expands to."""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from paretoscope.core.errors import InputError
from paretoscope.core.modelinfo import BUILTIN_DATASETS, TASKS, Task
from paretoscope.core.records import PRECISIONS, RUNTIMES, TimingBudget
from paretoscope.core.scenarios import ScenarioRequest

#: Precisions a profile can generate and measure (``bf16`` is torch-only and not offered).
PROFILE_PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8", "int8-static")
#: Precisions only the torch runtime measures (a cast of the fp32 model when it is loaded).
TORCH_ONLY_PRECISIONS: tuple[str, ...] = ("bf16",)

#: Fresh processes per run by default (``--repeats``). Three is the fewest
#: whose spread gives a usable interval (Student's t with 2 degrees of
#: freedom) and a median that one odd process cannot move; measured in
#: ``benchmarks/repeat_coverage.py`` (see benchmarks/README.md).
DEFAULT_REPEATS = 3
#: The most repeats a request may ask for.
MAX_REPEATS = 20

#: Setting that lets the browser accept PyTorch programs; loading one can run code.
ALLOW_TORCH_UPLOADS_ENV = "PARETOSCOPE_ALLOW_TORCH_UPLOADS"
#: The operator's ceiling on a browser-submitted run's time limit, in seconds.
MAX_RUN_SECONDS_ENV = "PARETOSCOPE_MAX_RUN_SECONDS"
#: A run's time limit by default (s) and the ceiling when the operator sets none.
DEFAULT_TIMEOUT_S = 300.0
DEFAULT_MAX_RUN_SECONDS = 1800.0


@dataclass(frozen=True)
class ProfileRequest:
    """What a user asked to profile. Times in seconds, memory in MB (10^6 bytes).

    Exactly one of ``data_path`` (``.npz``, ``.csv``, ``.parquet``) and
    ``builtin_data`` (a key of ``BUILTIN_DATASETS``) may be given, or
    neither (an efficiency-only profile: random inputs, no accuracy).
    ``reported_accuracy`` is an accuracy measured elsewhere, a fraction; it
    is stored with origin ``reported`` and never shown as measured, and it
    may not be combined with data. ``dims`` gives the values to sweep of
    each named symbolic dimension other than the batch; ``batches`` sets the
    first dimension of every input where it is symbolic. Every combination
    of runtime × precision × batch × threads × dims is one run.
    ``calib_items`` is how many items of the data (the first ones) calibrate
    ``int8-static``. ``repeats`` is how many fresh processes measure each
    run's latency (the CI of the median is then taken between them); they
    share ``budget``'s time (``measure.repeats.repeat_budget``), and each
    has the whole ``timeout_s``. ``skip_points`` are the labels
    (``SweepPoint.label``) of configurations already stored by the job this
    one continues (``resumes``, a job id): Run again measures only the rest.
    ``devices`` are where every combination runs (``cpu``, ``cuda:N``, or
    ``all``: every device the host offers), resolved by ``plan_profile``.
    """

    model_path: str
    data_path: str | None = None
    builtin_data: str | None = None
    label_column: str | None = None
    task: Task = "classification"
    runtimes: tuple[str, ...] = ("ort",)
    precisions: tuple[str, ...] = ("fp32",)
    batches: tuple[int, ...] = (1,)
    threads: tuple[int, ...] = (1,)
    dims: dict[str, tuple[int, ...]] = field(default_factory=dict)
    reported_accuracy: float | None = None
    timeout_s: float = DEFAULT_TIMEOUT_S
    mem_limit_mb: float | None = None
    source: Literal["upload", "cli"] = "cli"
    name: str | None = None
    job_id: str | None = None
    calib_items: int = 128
    budget: TimingBudget = field(default_factory=TimingBudget)
    repeats: int = DEFAULT_REPEATS
    skip_points: tuple[str, ...] = ()
    resumes: str | None = None
    # The name the data file was uploaded under: its quarantine copy has a name of
    # ours (``data.npz``), and a refusal must name the file the user knows.
    data_name: str | None = None
    devices: tuple[str, ...] = ("cpu",)
    # Each run also gets a per-operator profile (``--op-profile``; ``measure.opprofile``).
    op_profile: bool = False
    # Offline and server scenarios of each run (``--scenario``, issue 16); None: single-stream.
    scenarios: ScenarioRequest | None = None


@dataclass(frozen=True)
class SweepPoint:
    """One run of the sweep, before its artifact exists.

    ``unavailable`` says why this device cannot run this combination (it is
    then stored as one failed run with that reason); empty when it can be tried.
    """

    runtime: str
    precision: str
    batch_size: int
    threads: int
    dims: dict[str, int] = field(default_factory=dict)
    device: str = "cpu"
    unavailable: str = ""

    @property
    def label(self) -> str:
        """E.g. ``ort int8 · batch 8 · 1 thread · seq=16`` (`` · cuda:0`` after the precision)."""
        threads = f"{self.threads} thread" + ("s" if self.threads != 1 else "")
        dims = "".join(f" · {k}={v}" for k, v in sorted(self.dims.items()))
        where = "" if self.device == "cpu" else f" · {self.device}"
        return f"{self.runtime} {self.precision}{where} · batch {self.batch_size} · {threads}{dims}"


def sweep_text(request: ProfileRequest) -> str:
    """What a request sweeps, e.g. ``fp32, int8 · batch 1, 8 · seq=32,128 · 3 repeats``.

    Threads appear when other than one; the repeats when more than one; the
    devices first when other than ``cpu`` alone.
    """
    parts = [", ".join(request.precisions), "batch " + ", ".join(map(str, request.batches))]
    if tuple(request.devices) != ("cpu",):
        parts.insert(0, ", ".join(request.devices))
    if tuple(request.threads) != (1,):
        parts.append("threads " + ", ".join(map(str, request.threads)))
    parts.extend(f"{k}={','.join(map(str, v))}" for k, v in sorted(request.dims.items()))
    if request.repeats > 1:
        parts.append(f"{request.repeats} repeats")
    if request.op_profile:
        parts.append("op profile")
    if request.scenarios is not None:
        parts.append(" + ".join(request.scenarios.scenarios))
    return " · ".join(parts)


def torch_uploads_allowed(env: Mapping[str, str] | None = None) -> bool:
    """Whether the server accepts PyTorch program uploads (``.pt2``, TorchScript).

    Off unless ``PARETOSCOPE_ALLOW_TORCH_UPLOADS=1``: loading a PyTorch
    program can execute code, so only an operator who trusts every uploader
    should turn it on. Pickled ``.pt``/``.pkl`` files are refused regardless.
    """
    value = (env if env is not None else os.environ).get(ALLOW_TORCH_UPLOADS_ENV, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


def max_run_seconds(env: Mapping[str, str] | None = None) -> float:
    """The longest time limit (s) a run submitted from the browser may have.

    ``PARETOSCOPE_MAX_RUN_SECONDS`` when set to a positive number, else
    ``DEFAULT_MAX_RUN_SECONDS`` (1800 s). The command line is the operator's
    own and is not capped. Raises ``InputError`` for a value that is not a
    positive number, so a typo is not silently ignored.
    """
    raw = (env if env is not None else os.environ).get(MAX_RUN_SECONDS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_RUN_SECONDS
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not value > 0 or value == float("inf"):
        raise InputError(
            f"{MAX_RUN_SECONDS_ENV}={raw!r} is not a positive number of seconds; fix or unset it"
        )
    return value


def sweep_points(
    runtimes: Sequence[str],
    precisions: Sequence[str],
    batches: Sequence[int],
    threads: Sequence[int],
    dims: Mapping[str, Sequence[int]],
    devices: Sequence[str] = ("cpu",),
) -> tuple[SweepPoint, ...]:
    """Every device × runtime × precision × batch × threads × dim values, in that order."""
    names = sorted(dims)
    values = [tuple(dims[n]) for n in names]
    out = []
    for dev, rt, prec, b, t in itertools.product(devices, runtimes, precisions, batches, threads):
        for combo in itertools.product(*values):
            at = dict(zip(names, combo, strict=True))
            out.append(SweepPoint(rt, prec, int(b), int(t), at, device=dev))
    return tuple(out)


def device_name(device: str) -> str:
    """``cpu``, ``cuda:N`` or ``all`` as written canonically (``cuda`` is ``cuda:0``).

    Raises ``InputError`` for anything else.
    """
    name = device.strip().lower()
    if name in ("cpu", "all"):
        return name
    if name == "cuda":
        return "cuda:0"
    kind, sep, index = name.partition(":")
    if kind == "cuda" and sep and index.isdigit():
        return f"cuda:{int(index)}"
    raise InputError(f"unknown device {device!r}; use cpu, cuda, cuda:N or all")


def validate_options(request: ProfileRequest) -> None:
    """Check the request's lists and numbers (no files read). Raises ``InputError``."""
    problems: list[str] = []
    if request.task not in TASKS:
        problems.append(f"task {request.task!r} is not one of {', '.join(TASKS)}")
    for rt in request.runtimes:
        if rt not in RUNTIMES:
            problems.append(f"runtime {rt!r} is not one of {', '.join(RUNTIMES)}")
    for p in request.precisions:
        if p in TORCH_ONLY_PRECISIONS and "torch" in request.runtimes:
            continue
        if p not in PROFILE_PRECISIONS:
            known = p in PRECISIONS
            problems.append(
                f"precision {p!r} is not one of {', '.join(PROFILE_PRECISIONS)}"
                + (" (bf16 runs in torch only: add --runtime torch)" if known else "")
            )
    if not request.devices:
        problems.append("give at least one device (cpu, cuda:N or all)")
    for d in request.devices:
        try:
            device_name(d)
        except InputError as err:
            problems.append(str(err))
    for label, values in (("batch", request.batches), ("threads", request.threads)):
        if not values:
            problems.append(f"give at least one {label} value")
        for v in values:
            if int(v) < 1:
                problems.append(f"{label} values must be >= 1 (got {v})")
    for name, values in request.dims.items():
        if not values:
            problems.append(f"dimension {name!r} has no value")
        for v in values:
            if int(v) < 1:
                problems.append(f"dimension {name}={v}: values must be >= 1")
    if not request.runtimes:
        problems.append("give at least one runtime")
    if not request.precisions:
        problems.append("give at least one precision")
    if request.data_path and request.builtin_data:
        problems.append("give either a data file or a built-in data set, not both")
    if request.builtin_data and request.builtin_data not in BUILTIN_DATASETS:
        problems.append(
            f"unknown built-in data set {request.builtin_data!r}; choose one of "
            + ", ".join(BUILTIN_DATASETS)
        )
    if request.reported_accuracy is not None:
        if request.data_path or request.builtin_data:
            problems.append(
                "give either evaluation data or a reported accuracy, not both: the measured "
                "accuracy is the one Paretoscope shows"
            )
        value = request.reported_accuracy
        if request.task != "classification":
            problems.append(
                "a reported accuracy applies to classification; for regression give "
                "evaluation data and MAE/RMSE are measured"
            )
        elif not (0.0 <= value <= 1.0):
            problems.append(f"a reported accuracy is a fraction in [0, 1], got {value}")
    if request.scenarios is not None and request.task == "causal-lm":
        problems.append("--scenario offline/server applies to models other than causal LMs")
    if "int8-static" in request.precisions and not (request.data_path or request.builtin_data):
        problems.append("int8-static is calibrated on your data: give --data or a built-in set")
    if not 1 <= int(request.repeats) <= MAX_REPEATS:
        problems.append(f"repeats must be from 1 to {MAX_REPEATS} (got {request.repeats})")
    if request.timeout_s <= 0:
        problems.append(f"the time limit must be > 0 s (got {request.timeout_s})")
    elif request.source == "upload" and request.timeout_s > (ceiling := max_run_seconds()):
        problems.append(
            f"the time limit per run is at most {ceiling:g} s on this server (got "
            f"{request.timeout_s:g} s); the operator raises it with {MAX_RUN_SECONDS_ENV}"
        )
    if request.mem_limit_mb is not None and request.mem_limit_mb <= 0:
        problems.append(f"the memory limit must be > 0 MB (got {request.mem_limit_mb})")
    if problems:
        raise InputError("cannot profile: " + "; ".join(problems))
