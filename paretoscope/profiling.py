"""Profile a user's model: inspect it safely, plan the sweep, generate variants, measure, store.

The public surface of issue 3's engine, used by ``paretoscope profile`` and
by the job runner behind the Profile page:

- ``inspect_in_worker(path)`` → ``ModelInfo``: the file is sniffed (pickles
  are refused unread) and parsed in a child process, so a hostile file that
  crashes the parser cannot take the caller down;
- ``plan_profile(store, request)`` → ``ProfilePlan``: validates the model,
  the data and the options *before* writing anything, then stores the
  model and the normalised evaluation set content-addressed;
- ``run_profile(store, plan)`` → ``ProfileSummary``: makes the variants (in
  worker processes), measures every run of the sweep with an executor under
  time and memory limits, and ingests each record as it arrives.

Importing this module imports neither onnx, onnxruntime, torch nor
``measure``: the Streamlit server may import it. The heavy parts are
imported inside the functions that run them (``plan_profile``,
``run_profile``), which only the CLI and the job runner call.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from paretoscope.errors import InputError
from paretoscope.records import (
    PRECISIONS,
    RUNTIMES,
    AccuracyResult,
    ArtifactRef,
    DatasetRef,
    ModelRef,
    TimingBudget,
    from_dict,
)

if TYPE_CHECKING:
    from measure.executor import Executor
    from store import Store

__all__ = [
    "ALLOW_TORCH_UPLOADS_ENV",
    "BUILTIN_DATASETS",
    "PROFILE_PRECISIONS",
    "TASKS",
    "BuiltinDataset",
    "ModelInfo",
    "ProfilePlan",
    "ProfileProgress",
    "ProfileRequest",
    "ProfileSummary",
    "SweepPoint",
    "TensorInfo",
    "VariantStep",
    "inspect_in_worker",
    "inspect_torch_in_worker",
    "is_torch_target",
    "plan_profile",
    "run_profile",
    "sweep_points",
    "torch_uploads_allowed",
    "validate_options",
]

Task = Literal["classification", "regression"]
TASKS: tuple[str, ...] = ("classification", "regression")
#: Precisions a profile can generate and measure (``bf16`` is torch-only and not offered).
PROFILE_PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "int8", "int8-static")
#: Setting that lets the browser accept PyTorch programs; loading one can run code.
ALLOW_TORCH_UPLOADS_ENV = "PARETOSCOPE_ALLOW_TORCH_UPLOADS"
# Parsing plus an onnxruntime session; generous because a busy host is slow to import.
_INSPECT_TIMEOUT_S = 60.0
_REPO_ROOT = Path(__file__).resolve().parent.parent

Dim = int | str | None


# --- what a model is --------------------------------------------------------------------


@dataclass(frozen=True)
class TensorInfo:
    """One input or output of a model.

    ``dtype`` is a NumPy dtype name (``float32``, ``int64``) or, for types
    NumPy lacks, the ONNX type name in angle brackets (``<bfloat16>``).
    ``shape`` has an int per fixed dimension, the name of a symbolic one as
    a str, and None where the model says nothing.
    """

    name: str
    dtype: str
    shape: tuple[Dim, ...]

    @property
    def symbolic_dims(self) -> tuple[str, ...]:
        """Names of this tensor's symbolic dimensions, in axis order."""
        return tuple(d for d in self.shape if isinstance(d, str))


@dataclass(frozen=True)
class ModelInfo:
    """What inspection found in an ONNX file, before anything runs. Sizes in bytes.

    ``size_bytes`` counts the model file and its external data files;
    ``opsets`` maps each operator domain (``""`` = the default ONNX domain)
    to its version; ``custom_ops`` lists ``domain::OpType`` of operators
    outside the standard domains; ``ort_error`` is why onnxruntime could not
    create a session for the model (None when it could).
    """

    path: str
    sha256: str
    size_bytes: int
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    opsets: dict[str, int]
    ir_version: int
    producer: str
    params: int | None
    external_data: tuple[str, ...] = ()
    custom_ops: tuple[str, ...] = ()
    n_nodes: int = 0
    ort_error: str | None = None
    format: str = "onnx"

    @property
    def opset(self) -> int | None:
        """The default-domain opset version, or None when the model imports none."""
        return self.opsets.get("", self.opsets.get("ai.onnx"))

    @property
    def symbolic_dims(self) -> tuple[str, ...]:
        """Every symbolic dimension name over all inputs, in first-seen order."""
        seen: dict[str, None] = {}
        for t in self.inputs:
            for d in t.symbolic_dims:
                seen.setdefault(d, None)
        return tuple(seen)

    @property
    def batch_dims(self) -> tuple[str, ...]:
        """Names of symbolic first dimensions (set by ``--batch``)."""
        seen: dict[str, None] = {}
        for t in self.inputs:
            if t.shape and isinstance(t.shape[0], str):
                seen.setdefault(t.shape[0], None)
        return tuple(seen)

    @property
    def other_dims(self) -> tuple[str, ...]:
        """Symbolic dimensions that are not a batch dimension: each needs a value (``--dim``)."""
        batch = set(self.batch_dims)
        return tuple(d for d in self.symbolic_dims if d not in batch)


# --- built-in evaluation sets -----------------------------------------------------------


@dataclass(frozen=True)
class BuiltinDataset:
    """A labelled set that ships inside scikit-learn (nothing is downloaded)."""

    name: str
    n_features: int
    task: Task
    n_classes: int | None
    description: str


BUILTIN_DATASETS: dict[str, BuiltinDataset] = {
    d.name: d
    for d in (
        BuiltinDataset(
            "digits",
            64,
            "classification",
            10,
            "scikit-learn digits: 8×8 grey images in [0, 1], 10 classes; fits inputs of "
            "64 features or 1×8×8 / 8×8 images",
        ),
        BuiltinDataset(
            "breast_cancer",
            30,
            "classification",
            2,
            "scikit-learn breast cancer: 30 standardised features, 2 classes",
        ),
        BuiltinDataset(
            "iris", 4, "classification", 3, "scikit-learn iris: 4 standardised features, 3 classes"
        ),
        BuiltinDataset(
            "wine",
            13,
            "classification",
            3,
            "scikit-learn wine: 13 standardised features, 3 classes",
        ),
        BuiltinDataset(
            "diabetes",
            10,
            "regression",
            None,
            "scikit-learn diabetes: 10 features (already scaled), a float target (regression)",
        ),
    )
}


# --- requests, plans, progress, summaries ------------------------------------------------


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
    ``int8-static``.
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
    timeout_s: float = 300.0
    mem_limit_mb: float | None = None
    source: Literal["upload", "cli"] = "cli"
    name: str | None = None
    job_id: str | None = None
    calib_items: int = 128
    budget: TimingBudget = field(default_factory=TimingBudget)


@dataclass(frozen=True)
class VariantStep:
    """One variant to generate from the stored model: its precision and how it is made."""

    precision: str
    transformation: str
    runtime: str = "ort"


@dataclass(frozen=True)
class SweepPoint:
    """One run of the sweep, before its artifact exists."""

    runtime: str
    precision: str
    batch_size: int
    threads: int
    dims: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """E.g. ``ort int8 · batch 8 · 1 thread · seq=16``."""
        threads = f"{self.threads} thread" + ("s" if self.threads != 1 else "")
        dims = "".join(f" · {k}={v}" for k, v in sorted(self.dims.items()))
        return f"{self.runtime} {self.precision} · batch {self.batch_size} · {threads}{dims}"


@dataclass(frozen=True)
class ProfilePlan:
    """A validated request, its stored model and data, the variants to make and the sweep.

    ``artifact.path`` and ``dataset.path`` are inside the store's folder.
    """

    request: ProfileRequest
    info: ModelInfo
    model: ModelRef
    artifact: ArtifactRef
    dataset: DatasetRef | None
    variants: tuple[VariantStep, ...]
    sweep: tuple[SweepPoint, ...]
    notes: tuple[str, ...] = ()
    # PyTorch targets: the torch.export program that ``torch`` runs measure
    # (``artifact`` is then its ONNX export, or the program itself when only
    # ``torch`` runs are asked for).
    torch_artifact: ArtifactRef | None = None

    @property
    def n_runs(self) -> int:
        return len(self.sweep)

    @property
    def n_steps(self) -> int:
        """Variants to make plus runs to measure: the denominator of progress."""
        return len(self.variants) + len(self.sweep)


@dataclass(frozen=True)
class ProfileProgress:
    """Where a profile stands. Times in seconds.

    ``phase`` is ``variants`` while variants are generated, ``runs`` while
    runs are measured, ``done`` at the end. ``done``/``total`` count steps
    (variants plus runs). ``eta_s`` is None until a step has finished.
    Field names match ``paretoscope.progressbar`` and ``ProgressFile``.
    """

    done: int
    total: int
    label: str
    elapsed_s: float
    eta_s: float | None
    phase: str = "runs"
    stage: str = ""


@dataclass(frozen=True)
class ProfileSummary:
    """What a profile did: its runs (ok and failed), variants and whether it was cancelled."""

    model_id: str
    run_ids: tuple[str, ...]
    n_ok: int
    n_failed: int
    failures: tuple[str, ...]  # "label: reason", one per failed run or variant
    variant_model_ids: tuple[str, ...]
    cancelled: bool
    elapsed_s: float
    n_planned: int = 0

    @property
    def ok(self) -> bool:
        """True when every planned run was measured ok."""
        return not self.cancelled and self.n_failed == 0 and self.n_ok == self.n_planned

    def __str__(self) -> str:
        head = f"{self.n_ok} of {self.n_planned} run(s) ok"
        if self.n_failed:
            head += f", {self.n_failed} failed"
        if self.cancelled:
            head += "; cancelled before the rest"
        head += f" in {self.elapsed_s:.1f} s (model {self.model_id})"
        return "\n".join([head, *(f"  failed: {f}" for f in self.failures)])


# --- settings ---------------------------------------------------------------------------


def torch_uploads_allowed(env: Mapping[str, str] | None = None) -> bool:
    """Whether the server accepts PyTorch program uploads (``.pt2``, TorchScript).

    Off unless ``PARETOSCOPE_ALLOW_TORCH_UPLOADS=1``: loading a PyTorch
    program can execute code, so only an operator who trusts every uploader
    should turn it on. Pickled ``.pt``/``.pkl`` files are refused regardless.
    """
    value = (env if env is not None else os.environ).get(ALLOW_TORCH_UPLOADS_ENV, "")
    return value.strip().lower() in ("1", "true", "yes", "on")


# --- inspection in a child process ------------------------------------------------------


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    if _REPO_ROOT.name not in ("site-packages", "dist-packages"):
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run_inspector(
    args: list[str], timeout_s: float, what: str, python: str, crash_prefix: str
) -> dict[str, Any]:
    """Run ``python -m measure.inspect ARGS --result FILE``; its JSON answer, errors mapped."""
    with tempfile.TemporaryDirectory(prefix="paretoscope-inspect-") as tmp:
        result = Path(tmp) / "info.json"
        stderr_path = Path(tmp) / "stderr.txt"
        with stderr_path.open("wb") as err:
            proc = subprocess.Popen(
                [python, "-m", "measure.inspect", *args, "--result", str(result)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=_child_env(),
                start_new_session=True,
            )
            try:
                rc = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                _kill(proc)
                raise InputError(
                    f"inspecting {what} took longer than {timeout_s:g} s; the file may be "
                    "hostile or far larger than it looks"
                ) from None
        data: Any = None
        if result.exists():
            try:
                data = json.loads(result.read_text())
            except (OSError, ValueError):
                data = None
        if isinstance(data, dict) and "error" in data:
            raise InputError(str(data["error"]))
        if isinstance(data, dict) and rc == 0:
            return data
        tail = stderr_path.read_text(errors="replace").strip().splitlines()
        why = f"exit status {rc}" if rc >= 0 else f"signal {-rc}"
        last = f": {tail[-1][:300]}" if tail else ""
        raise InputError(f"{crash_prefix}{what} crashed the inspector ({why}{last})")


def inspect_in_worker(
    path: str | Path, timeout_s: float = _INSPECT_TIMEOUT_S, *, python: str = sys.executable
) -> ModelInfo:
    """Inspect the ONNX file at ``path`` in a child ``python -m measure.inspect`` process.

    Pickles are refused before the child starts (``paretoscope.safety``),
    without reading more than the file's header. Raises ``InputError`` with
    a specific message for a file that is not a valid ONNX model, whose
    external data points outside its folder, that crashes or hangs the
    parser past ``timeout_s`` seconds.
    """
    from paretoscope.safety import refuse_untrusted

    path = Path(path)
    refuse_untrusted(path, {"onnx-candidate"})
    data = _run_inspector([str(path)], timeout_s, path.name, python, "not a valid ONNX model: ")
    return from_dict(ModelInfo, data)


def is_torch_target(model: str) -> bool:
    """Whether ``model`` names a PyTorch model: a ``.pt2`` file or ``module:function``."""
    from paretoscope.safety import sniff

    path = Path(model)
    if path.is_file():
        return path.suffix.lower() == ".pt2" or sniff(path).kind == "pt2"
    return re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", model) is not None


def inspect_torch_in_worker(
    target: str,
    out_dir: Path,
    *,
    onnx_export: bool,
    timeout_s: float = 300.0,
    python: str = sys.executable,
) -> tuple[ModelInfo, Path | None, tuple[str, ...]]:
    """Load a trusted PyTorch model in a child process: its ``ModelInfo``, ONNX export, notes.

    Runs ``measure.inspect.export_torch``; a ``module:function`` target is
    exported to ``out_dir/model.pt2`` (and with ``onnx_export`` to
    ``out_dir/model.onnx``). The child imports the module from the current
    directory. Raises ``InputError`` with the reason when loading, building
    or exporting fails, crashes or exceeds ``timeout_s`` seconds.
    """
    args = [target, "--torch", str(out_dir)] + (["--onnx"] if onnx_export else [])
    data = _run_inspector(args, timeout_s, target, python, "")
    onnx_path = Path(data["onnx"]) if data.get("onnx") else None
    return from_dict(ModelInfo, data["info"]), onnx_path, tuple(data.get("notes", ()))


def _kill(proc: subprocess.Popen[bytes]) -> None:
    import contextlib
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


# --- planning ---------------------------------------------------------------------------


def sweep_points(
    runtimes: Sequence[str],
    precisions: Sequence[str],
    batches: Sequence[int],
    threads: Sequence[int],
    dims: Mapping[str, Sequence[int]],
) -> tuple[SweepPoint, ...]:
    """Every combination of runtime × precision × batch × threads × dim values, in that order."""
    names = sorted(dims)
    values = [tuple(dims[n]) for n in names]
    out = []
    for rt, prec, b, t in itertools.product(runtimes, precisions, batches, threads):
        for combo in itertools.product(*values):
            out.append(SweepPoint(rt, prec, int(b), int(t), dict(zip(names, combo, strict=True))))
    return tuple(out)


def validate_options(request: ProfileRequest) -> None:
    """Check the request's lists and numbers (no files read). Raises ``InputError``."""
    problems: list[str] = []
    if request.task not in TASKS:
        problems.append(f"task {request.task!r} is not one of {', '.join(TASKS)}")
    for rt in request.runtimes:
        if rt not in RUNTIMES:
            problems.append(f"runtime {rt!r} is not one of {', '.join(RUNTIMES)}")
    for p in request.precisions:
        if p not in PROFILE_PRECISIONS:
            known = p in PRECISIONS
            problems.append(
                f"precision {p!r} is not one of {', '.join(PROFILE_PRECISIONS)}"
                + (" (bf16 is not generated by profiles)" if known else "")
            )
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
    if "int8-static" in request.precisions and not (request.data_path or request.builtin_data):
        problems.append("int8-static is calibrated on your data: give --data or a built-in set")
    if request.timeout_s <= 0:
        problems.append(f"the time limit must be > 0 s (got {request.timeout_s})")
    if request.mem_limit_mb is not None and request.mem_limit_mb <= 0:
        problems.append(f"the memory limit must be > 0 MB (got {request.mem_limit_mb})")
    if problems:
        raise InputError("cannot profile: " + "; ".join(problems))


def _check_model(info: ModelInfo, request: ProfileRequest) -> None:
    """Refuse a model the request cannot run: onnxruntime errors, dtypes, fixed batches."""
    name = Path(request.model_path).name
    if info.ort_error is not None and "ort" in request.runtimes:
        if info.custom_ops:
            raise InputError(
                f"ONNX Runtime cannot run {name}: it uses operator(s) "
                f"{', '.join(info.custom_ops)}, which ONNX Runtime does not implement. Export "
                f"the model with standard ONNX operators only. ({info.ort_error})"
            )
        raise InputError(f"ONNX Runtime cannot load {name}: {info.ort_error}")
    if "torch" in request.runtimes:
        raise InputError(
            f"{name} is an ONNX model, which runs with --runtime ort; the torch runtime measures "
            "PyTorch models (a .pt2 file or module:function, on the command line)"
        )
    for t in info.inputs:
        if t.dtype.startswith("<"):
            raise InputError(f"model input {t.name!r} has type {t.dtype}, which is not supported")
        first = t.shape[0] if t.shape else None
        if isinstance(first, int) and first > 0:
            other = [b for b in request.batches if int(b) != first]
            if other:
                raise InputError(
                    f"input {t.name!r} has a fixed batch of {first} (shape "
                    f"{list(t.shape)}); it cannot run batch {other[0]}. Use --batch {first} or "
                    "export the model with a dynamic first dimension"
                )
    if not info.outputs:
        raise InputError(f"{name} declares no outputs")


def _sweep_dims(
    info: ModelInfo, request: ProfileRequest, data_dims: Mapping[str, int] | None
) -> dict[str, tuple[int, ...]]:
    """Values of every non-batch symbolic dimension: from ``--dim``, else from the data."""
    wanted = info.other_dims
    unknown = [d for d in request.dims if d not in wanted]
    if unknown:
        have = ", ".join(wanted) if wanted else "none besides the batch"
        batch = [d for d in unknown if d in info.batch_dims]
        hint = f" ({', '.join(batch)} is the batch: use --batch)" if batch else ""
        raise InputError(
            f"the model has no symbolic dimension {', '.join(map(repr, unknown))}{hint}; its "
            f"symbolic dimensions are: {have}"
        )
    out: dict[str, tuple[int, ...]] = {}
    missing = []
    for dim in wanted:
        given = tuple(int(v) for v in request.dims.get(dim, ()))
        if data_dims is not None and dim in data_dims:
            if given and set(given) != {data_dims[dim]}:
                raise InputError(
                    f"the evaluation data has {dim}={data_dims[dim]} but --dim asks for "
                    f"{dim}={','.join(map(str, given))}; with data, the data's shape is measured"
                )
            out[dim] = (data_dims[dim],)
        elif given:
            out[dim] = given
        else:
            missing.append(dim)
    if missing:
        raise InputError(
            "give a value for every symbolic dimension: "
            + ", ".join(f"--dim {d}=VALUE" for d in missing)
            + f" (the model's inputs: {_inputs_text(info)})"
        )
    if data_dims is None:
        for t in info.inputs:
            if any(d is None for d in t.shape[1:]):
                raise InputError(
                    f"input {t.name!r} has an unnamed dynamic dimension ({_shape_text(t.shape)}); "
                    "without data its size is unknown: give evaluation data"
                )
    return out


def _shape_text(shape: Sequence[Dim]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _inputs_text(info: ModelInfo) -> str:
    return "; ".join(f"{t.name} {t.dtype} {_shape_text(t.shape)}" for t in info.inputs)


def _store_model(store: Store, info: ModelInfo) -> tuple[str, Path]:
    """Copy the model (and its external data, by relative name) into the store by sha256."""
    import shutil

    src = Path(info.path)
    if not info.external_data:
        return store.put_file(src, "artifacts", ".onnx")
    # External data is found relative to the model file: keep the set together.
    folder = store.files_dir / "artifacts" / info.sha256
    target = folder / "model.onnx"
    if not target.exists():
        tmp = store.files_dir / "artifacts" / f".tmp-{info.sha256}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for rel in info.external_data:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src.parent / rel, tmp / rel)
        shutil.copyfile(src, tmp / "model.onnx")
        if folder.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    return info.sha256, target


def plan_profile(store: Store, request: ProfileRequest) -> ProfilePlan:
    """Validate ``request`` completely, then store its model and data; return the plan.

    Order matters for "nothing half-written": the options, the model file
    (sniffed, then inspected in a child process), onnxruntime's ability to
    run it, the symbolic dimensions, and the data (read and checked against
    the model's inputs and outputs) are all checked first; only then are
    the model and the normalised evaluation set copied into the store's
    folder, content-addressed by sha256 (the same file twice is stored
    once). Nothing is written to the database here. Raises ``InputError``
    with a specific message for every refusal.
    """
    from measure.evaldata import load_eval_set, store_eval_set
    from measure.variants import transformation_text

    validate_options(request)
    with tempfile.TemporaryDirectory(prefix="paretoscope-plan-") as tmp:
        return _plan_in(
            store, request, Path(tmp), load_eval_set, store_eval_set, transformation_text
        )


def _plan_in(
    store: Store,
    request: ProfileRequest,
    tmp: Path,
    load_eval_set: Any,
    store_eval_set: Any,
    transformation_text: Callable[[str, int], str],
) -> ProfilePlan:
    notes: list[str] = []
    model_path = Path(request.model_path)
    torch_info: ModelInfo | None = None
    info: ModelInfo
    if is_torch_target(request.model_path):
        if request.source != "cli" and not torch_uploads_allowed():
            raise InputError(
                f"refused {model_path.name}: PyTorch programs run code when loaded; they are "
                f"profiled from the command line, or uploaded only where the server sets "
                f"{ALLOW_TORCH_UPLOADS_ENV}=1"
            )
        torch_info, onnx_path, torch_notes = inspect_torch_in_worker(
            request.model_path,
            tmp / "torch",
            onnx_export="ort" in request.runtimes,
            timeout_s=request.timeout_s,
        )
        notes.extend(torch_notes)
        info = torch_info
        if onnx_path is not None:
            info = inspect_in_worker(onnx_path, timeout_s=_INSPECT_TIMEOUT_S)
            _check_model(info, dataclasses.replace(request, runtimes=("ort",)))
            notes.append("ort runs measure the model's ONNX export (torch.onnx, dynamo)")
    else:
        if not model_path.is_file():
            raise InputError(f"model file not found: {model_path}")
        info = inspect_in_worker(model_path, timeout_s=_INSPECT_TIMEOUT_S)
        _check_model(info, request)

    data = None
    data_dims: dict[str, int] | None = None
    if request.data_path or request.builtin_data:
        data, data_dims = load_eval_set(
            info,
            request.task,
            path=request.data_path,
            builtin=request.builtin_data,
            label_column=request.label_column,
        )
    dims = _sweep_dims(info, request, data_dims)
    sweep = sweep_points(
        request.runtimes, request.precisions, request.batches, request.threads, dims
    )
    if torch_info is not None:
        # A torch.export program runs at the precision it was exported in;
        # the cheaper variants are made from its ONNX export.
        skipped = sorted(
            {p.precision for p in sweep if p.runtime == "torch" and p.precision != "fp32"}
        )
        if skipped:
            notes.append(
                f"torch runs a .pt2 program at fp32 only: skipped torch × {', '.join(skipped)} "
                "(the ort runs measure those variants)"
            )
        sweep = tuple(p for p in sweep if p.runtime != "torch" or p.precision == "fp32")
        if not sweep:
            raise InputError(
                "nothing to run: the torch runtime measures a PyTorch program at fp32 only; "
                "add --precision fp32 or --runtime ort for fp16/int8 variants of its ONNX export"
            )

    # Everything is valid: from here on, write.
    calib = min(request.calib_items, data.n_items) if data is not None else 0
    variants = tuple(
        VariantStep(p, transformation_text(p, calib))
        for p in request.precisions
        if p != "fp32" and info.format == "onnx"
    )
    dataset = None
    if data is not None:
        dataset = store_eval_set(store, data, info, tmp)
    torch_artifact = None
    if torch_info is not None:
        tsha, tstored = store.put_file(Path(torch_info.path), "artifacts", ".pt2")
        torch_artifact = ArtifactRef(
            sha256=tsha, format="pt2", path=str(tstored), size_bytes=torch_info.size_bytes
        )
    if info.format == "onnx":
        sha, stored = _store_model(store, info)
        artifact = ArtifactRef(
            sha256=sha, format="onnx", path=str(stored), size_bytes=info.size_bytes
        )
    else:
        assert torch_artifact is not None  # info is torch_info: set just above
        sha, artifact = torch_artifact.sha256, torch_artifact
    name = request.name or (
        model_path.stem if model_path.is_file() else request.model_path.replace(":", ".")
    )
    producer = info.producer or "unknown producer"
    source_sha = torch_artifact.sha256 if torch_artifact is not None else sha
    model = ModelRef(
        model_id=f"{request.source}-{source_sha[:16]}",
        name=name,
        family="user",
        task=request.task,
        params=info.params,
        source=request.source,
        description=f"{request.model_path}; {producer}"
        + (f"; opset {info.opset}" if info.opset is not None else ""),
    )
    if dataset is None:
        notes.append("efficiency only: no evaluation data, timed on random inputs")
    if request.reported_accuracy is not None:
        notes.append("the accuracy given is stored as reported, not measured")
    return ProfilePlan(
        request,
        info,
        model,
        artifact,
        dataset,
        variants,
        sweep,
        tuple(notes),
        torch_artifact=torch_artifact,
    )


def _keep_as(keep: Callable[[Any, str], None], label: str, record: Any) -> None:
    keep(record, label)


def _reported(plan: ProfilePlan) -> AccuracyResult | None:
    value = plan.request.reported_accuracy
    if value is None or plan.dataset is not None:
        return None
    return AccuracyResult(
        metric="top1",
        value=float(value),
        dataset_id="reported",
        n_samples=0,
        origin="reported",
        note="typed by the user when profiling; not measured by Paretoscope",
    )


def run_profile(
    store: Store,
    plan: ProfilePlan | ProfileRequest,
    *,
    on_progress: Callable[[ProfileProgress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    executor: Executor | None = None,
) -> ProfileSummary:
    """Generate the plan's variants and measure its sweep; store each record as it arrives.

    A ``ProfileRequest`` is planned first (``plan_profile``). Variants are
    made in worker processes; one that fails makes its runs failed records
    with the reason. Runs go through ``executor`` (a ``LocalExecutor`` by
    default) one at a time, each under the request's time and memory limits;
    ``should_cancel`` is asked before each variant and each run, and a true
    answer stops there (runs already stored stay). ``on_progress`` gets a
    ``ProfileProgress`` at each step and worker stage, with an ETA.
    Raises ``InputError`` only from planning; failed measurements are
    failed records, counted in the summary.
    """
    from measure.executor import LocalExecutor
    from measure.executor import Progress as ExecProgress
    from measure.variants import make_variant_in_worker
    from measure.worker import failed_record
    from paretoscope.errors import ParetoscopeError
    from paretoscope.records import RunRecord, RunSpec, new_run_id
    from paretoscope.timefmt import utc_now_iso

    if isinstance(plan, ProfileRequest):
        plan = plan_profile(store, plan)
    request = plan.request
    executor = executor or LocalExecutor()
    cancel = should_cancel or (lambda: False)
    t0 = time.monotonic()
    total = plan.n_steps
    done = 0
    step_started = t0

    def emit(label: str, phase: str, stage: str = "") -> None:
        if on_progress is None:
            return
        elapsed = time.monotonic() - t0
        eta = None
        if done:
            per_step = (step_started - t0) / done
            eta = max(0.0, per_step * (total - done) - (time.monotonic() - step_started))
        on_progress(ProfileProgress(done, total, label, elapsed, eta, phase, stage))

    artifacts: dict[str, ArtifactRef] = {"fp32": plan.artifact}
    models: dict[str, ModelRef] = {"fp32": plan.model}
    variant_errors: dict[str, str] = {}
    failures: list[str] = []
    cancelled = False
    for step in plan.variants:
        if cancel():
            cancelled = True
            break
        emit(f"making the {step.precision} variant", "variants")
        with tempfile.TemporaryDirectory(prefix="paretoscope-variant-") as tmp:
            dst = Path(tmp) / f"{step.precision}.onnx"
            try:
                make_variant_in_worker(
                    plan.artifact.path,
                    step.precision,
                    dst,
                    calib_data=plan.dataset.path if plan.dataset is not None else None,
                    calib_items=request.calib_items,
                    timeout_s=request.timeout_s,
                )
            except ParetoscopeError as err:
                variant_errors[step.precision] = (
                    f"making the {step.precision} variant failed: {err}"
                )
                failures.append(f"{step.precision} variant: {err}")
            else:
                sha, stored = store.put_file(dst, "artifacts", ".onnx")
                artifacts[step.precision] = ArtifactRef(
                    sha256=sha,
                    format="onnx",
                    path=str(stored),
                    size_bytes=stored.stat().st_size,
                    precision=step.precision,
                )
                models[step.precision] = ModelRef(
                    model_id=f"{plan.model.model_id}-{step.precision}",
                    name=f"{plan.model.name} {step.precision}",
                    family=plan.model.family,
                    task=plan.model.task,
                    parent_model_id=plan.model.model_id,
                    transformation=step.transformation,
                    params=plan.model.params,
                    source=plan.model.source,
                    description=f"{step.precision} variant of {plan.model.name}",
                )
        done += 1
        step_started = time.monotonic()

    reported = _reported(plan)
    run_ids: list[str] = []
    n_ok = n_failed = 0

    def keep(record: RunRecord, label: str) -> None:
        nonlocal n_ok, n_failed
        if record.status == "ok" and reported is not None and record.spec.precision == "fp32":
            record = dataclasses.replace(record, accuracy=(reported,))
        store.ingest(record)
        run_ids.append(record.run_id)
        if record.status == "ok":
            n_ok += 1
        else:
            n_failed += 1
            failures.append(f"{label}: {record.error}")

    for point in plan.sweep if not cancelled else ():
        if cancel():
            cancelled = True
            break
        precision = point.precision
        spec = RunSpec(
            run_id=new_run_id(),
            model=models.get(precision, plan.model),
            artifact=plan.torch_artifact
            if point.runtime == "torch" and plan.torch_artifact is not None
            else artifacts.get(precision, plan.artifact),
            runtime=point.runtime,  # type: ignore[arg-type]  # validated in plan_profile
            precision=precision,
            batch_size=point.batch_size,
            threads=point.threads,
            dataset=plan.dataset,
            budget=request.budget,
            dims=dict(point.dims),
            timeout_s=request.timeout_s,
            mem_limit_mb=request.mem_limit_mb,
            job_id=request.job_id,
        )
        label = f"{plan.model.name} · {point.label}"
        if precision in variant_errors:
            now = utc_now_iso()
            keep(failed_record(spec, variant_errors[precision], started_at=now), label)
        else:
            emit(label, "runs", "started")

            def relay(p: ExecProgress, label: str = label) -> None:
                if p.current is not None:
                    emit(label, "runs", p.stage)

            executor.run([spec], functools.partial(_keep_as, keep, label), relay)
        done += 1
        step_started = time.monotonic()

    elapsed = time.monotonic() - t0
    if on_progress is not None:
        on_progress(ProfileProgress(done, total, "done", elapsed, 0.0, "done", "done"))
    return ProfileSummary(
        model_id=plan.model.model_id,
        run_ids=tuple(run_ids),
        n_ok=n_ok,
        n_failed=n_failed,
        failures=tuple(failures),
        variant_model_ids=tuple(m.model_id for p, m in models.items() if p != "fp32"),
        cancelled=cancelled,
        elapsed_s=elapsed,
        n_planned=plan.n_runs,
    )
