"""Record types shared by ``measure`` (which produces them) and ``store`` (which keeps them).

Everything here is a frozen dataclass that round-trips through JSON with
``to_dict``/``from_dict``, so a record can cross a process boundary (worker →
parent, Dask worker → scheduler) and a bundle file without pickling. Units are
in field names. Nothing here imports torch, onnxruntime, DuckDB or Streamlit.
"""

from __future__ import annotations

import dataclasses
import types
import typing
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from paretoscope.core.scenarios import ScenarioRequest, ScenarioStats

__all__ = [
    "MEMORY_SOURCES",
    "PRECISIONS",
    "RUNTIMES",
    "AccuracyResult",
    "ArtifactRef",
    "DatasetRef",
    "DeviceInfo",
    "EnergyStats",
    "HostInfo",
    "LatencyStats",
    "MemoryStats",
    "ModelRef",
    "OpProfile",
    "OpTime",
    "Provenance",
    "RepeatLatency",
    "RunRecord",
    "RunSpec",
    "ServingStats",
    "TimingBudget",
    "describe_memory_source",
    "from_dict",
    "new_run_id",
    "to_dict",
]

RUNTIMES: tuple[str, ...] = ("ort", "torch")
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "bf16", "int8", "int8-static")

Runtime = Literal["ort", "torch"]
Status = Literal["ok", "failed"]
Origin = Literal["measured", "imported"]

# What ``MemoryStats.source`` (the ``peak_mem_source`` column) may name, and what it means.
MEMORY_SOURCES: dict[str, str] = {
    "vmhwm": "peak resident set of the measuring process (VmHWM in /proc/self/status)",
    "ru_maxrss": "peak resident set of the measuring process (getrusage ru_maxrss)",
    "torch-allocator": "peak device memory allocated by torch's caching allocator "
    "(torch.cuda.max_memory_allocated)",
    "nvml-process": "peak device memory NVML reports in use by the measuring process",
    "cuda-meminfo": "peak drop in free device memory (cudaMemGetInfo) from before the "
    "session was created",
}


def describe_memory_source(source: str) -> str:
    """``source: meaning`` for a ``MEMORY_SOURCES`` key; an unknown key alone."""
    meaning = MEMORY_SOURCES.get(source)
    return f"{source}: {meaning}" if meaning else source


def new_run_id() -> str:
    """A fresh run id. Ids are made before a run starts, so a retried ingest is idempotent."""
    return uuid.uuid4().hex


@dataclass(frozen=True)
class HostInfo:
    """The machine a run was measured on. ``host_id`` is stable for the same machine."""

    host_id: str
    hostname: str
    os: str
    cpu_model: str
    cpu_cores_logical: int
    cpu_cores_physical: int | None
    mem_total_mb: float
    python_version: str
    # The host's GPU models, part of its identity (a fingerprint, not the hostname).
    gpus: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeviceInfo:
    """A device of a host: ``kind`` is ``cpu`` or ``cuda``; ``device_id`` is stable per host."""

    device_id: str
    host_id: str
    kind: Literal["cpu", "cuda"]
    name: str
    index: int = 0
    memory_mb: float | None = None
    compute_capability: str | None = None
    driver_version: str | None = None
    # Free-form extras (CUDA version, power limit, ...): kept, not queried.
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ModelRef:
    """A model, and its lineage: a variant names its parent and the transformation."""

    model_id: str
    name: str
    family: str
    task: str = "classification"
    parent_model_id: str | None = None
    transformation: str | None = None  # e.g. "int8 dynamic quantization (onnxruntime)"
    params: int | None = None
    source: Literal["demo", "upload", "cli", "import"] = "demo"
    description: str = ""


@dataclass(frozen=True)
class ArtifactRef:
    """A model file. ``path`` is where the measuring process finds it."""

    sha256: str
    # ``hf-causal-lm``: a Hugging Face folder (``path``) or ``builder`` returning
    # ``(model, tokenizer)`` (issue 15).
    format: Literal["onnx", "torch-state", "pt2", "hf-causal-lm"]
    path: str
    size_bytes: int
    precision: str = "fp32"
    # For ``torch-state``: ``module:function`` that builds the nn.Module, and its
    # keyword arguments; the weights are loaded with ``weights_only=True``.
    builder: str | None = None
    builder_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DatasetRef:
    """A labelled evaluation set stored as ``.npz`` with arrays ``x`` and ``labels``."""

    dataset_id: str
    name: str
    split: str
    path: str
    n_samples: int
    sha256: str
    source: str = "scikit-learn"
    # The items accuracy is scored on, as a Python-style range of the file's
    # items ("128:450"); None: all of them. A profile with int8-static scores
    # every run on the items after those that calibrated it.
    items: str | None = None


@dataclass(frozen=True)
class TimingBudget:
    """How long and how hard the latency harness works.

    The harness runs ``warmup_iters`` untimed passes, then timed passes until the
    95% confidence interval of the median is within ``target_ci_rel`` of the
    median (checked after at least ``min_iters`` and ``min_time_s``), or until
    ``max_iters`` or ``max_time_s`` is reached.
    """

    warmup_iters: int = 10
    min_iters: int = 30
    max_iters: int = 100_000
    min_time_s: float = 0.2
    max_time_s: float = 2.0
    target_ci_rel: float = 0.01


@dataclass(frozen=True)
class RunSpec:
    """Everything needed to measure one run, in a worker process or on a remote host."""

    run_id: str
    model: ModelRef
    artifact: ArtifactRef
    runtime: Runtime
    device: str = "cpu"  # "cpu" or "cuda:N"
    precision: str = "fp32"
    batch_size: int = 1
    threads: int = 1
    dataset: DatasetRef | None = None
    budget: TimingBudget = field(default_factory=TimingBudget)
    # Values for named symbolic dimensions other than the batch, e.g. {"seq": 128}.
    dims: dict[str, int] = field(default_factory=dict)
    timeout_s: float = 300.0
    mem_limit_mb: float | None = None
    job_id: str | None = None
    # Latency measured this many times, each in a fresh process (``--repeats``).
    repeats: int = 1
    # A per-operator profile after the timed window (``--op-profile``): ``OpProfile``.
    op_profile: bool = False
    # Offline and server scenarios after the timing (``--scenario``, issue 16).
    scenarios: ScenarioRequest | None = None


@dataclass(frozen=True)
class RepeatLatency:
    """One repeat's own latency statistics, kept beside the combined ones (ms)."""

    p50_ms: float
    ci_low_ms: float
    ci_high_ms: float
    mean_ms: float
    n_iter: int
    total_time_s: float
    stop_reason: str


@dataclass(frozen=True)
class LatencyStats:
    """Latency of one forward pass of one batch, in milliseconds.

    ``ci_low_ms``/``ci_high_ms`` bound the median at 95% confidence
    (distribution-free, from order statistics). ``samples_ms`` keeps the raw
    timed samples (capped; ``quantiles_ms`` has 101 evenly spaced quantiles of
    all of them) so the distribution can be drawn.
    """

    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    std_ms: float
    min_ms: float
    max_ms: float
    ci_low_ms: float
    ci_high_ms: float
    n_iter: int
    warmup_iter: int
    total_time_s: float
    stop_reason: str  # "ci_target" | "max_time" | "max_iters"
    timer: str  # "perf_counter_ns" | "cuda_event"
    samples_ms: tuple[float, ...] = ()
    quantiles_ms: tuple[float, ...] = ()
    # Whose spread the CI covers: "within-process" (one process's timed
    # samples) or "between-repeats" (the medians of ``repeats``, each measured
    # in a fresh process). ``repeats`` keeps each repeat's own statistics.
    ci_scope: str = "within-process"
    repeats: tuple[RepeatLatency, ...] = ()


@dataclass(frozen=True)
class MemoryStats:
    """Memory of a run, in MB (10^6 bytes): one quantity per field.

    ``peak_mem_mb`` is device memory on an accelerator (for every runtime) and
    the measuring process's peak resident set on a CPU; ``source`` (a key of
    ``MEMORY_SOURCES``) says which was measured. ``peak_mem_mb`` is None, with
    ``unavailable_reason``, when it was not measured. ``peak_host_mem_mb`` is
    the host resident set of the measuring process on every run.
    ``baseline_mem_mb`` is the resident set after the runtime was imported and
    before the model was loaded, so the difference approximates what the
    model and its buffers cost on the host.
    """

    peak_mem_mb: float | None
    baseline_mem_mb: float | None
    source: str | None  # a key of MEMORY_SOURCES; None when peak_mem_mb is unavailable
    device_peak_reserved_mb: float | None = None
    peak_host_mem_mb: float | None = None
    unavailable_reason: str | None = None


@dataclass(frozen=True)
class EnergyStats:
    """Energy over the timed window, or the reason it is unavailable. Never a silent zero."""

    energy_j: float | None
    energy_j_per_item: float | None
    avg_power_w: float | None
    source: str | None  # "nvml" | "rapl" | None
    unavailable_reason: str | None = None
    window_s: float | None = None

    @staticmethod
    def unavailable(reason: str) -> EnergyStats:
        return EnergyStats(None, None, None, None, unavailable_reason=reason)


@dataclass(frozen=True)
class ServingStats:
    """What a serving application pays besides the device-resident forward pass, in ms.

    ``load_ms``: session creation or model load until the model is ready to
    run (ONNX Runtime's ``InferenceSession``; torch's load or build plus
    ``.to(device)``). ``first_run_ms``: the first inference, cold, before any
    warm-up, inputs from and outputs to host memory (synchronised on a GPU).
    ``e2e``: latency of one batch with its inputs handed over from NumPy
    arrays in host memory and every output copied back to NumPy, timed by the
    same harness and budget as ``RunRecord.latency`` after that window. A
    figure is None, with ``unavailable_reason``, when it was not measured.
    """

    load_ms: float | None = None
    first_run_ms: float | None = None
    e2e: LatencyStats | None = None
    unavailable_reason: str | None = None


@dataclass(frozen=True)
class GenerationStats:
    """A causal language model's generation, timed by phase (issue 15), in ms and MB.

    One generate call is a prompt of ``prompt_len`` tokens per sequence (a
    batch of ``RunSpec.batch_size``) followed by exactly ``gen_len`` new
    tokens, greedy, with the KV cache, EOS ignored. ``ttft``: prompt submitted
    to the first new token (prefill plus one token), one sample per call.
    ``tpot``: one decode step (one new token for every sequence), one sample
    per step. ``prefill_ms_p50``: the median of the prefill forward pass alone.
    ``kv_cache_mb``: bytes of the cache tensors held after the last step.
    Energy per generated token is None, with its reason, where no counter
    covers the window. ``prompt_source`` says where prompts came from
    (``"data"``: the evaluation text; ``"random"``: random token ids, the run
    is efficiency-only).
    """

    prompt_len: int
    gen_len: int
    ttft: LatencyStats
    tpot: LatencyStats
    prefill_ms_p50: float | None = None
    kv_cache_mb: float | None = None
    energy_j_per_token: float | None = None
    energy_unavailable_reason: str | None = None
    prompt_source: str = "random"


@dataclass(frozen=True)
class AccuracyResult:
    """One quality metric on a labelled data set. ``value`` for ``top1`` is a fraction."""

    metric: str  # "top1" | "top5" | "mae" | "rmse"
    value: float
    dataset_id: str
    n_samples: int
    origin: Literal["measured", "reported"] = "measured"
    note: str = ""
    # 95% interval of ``value`` from the item count (Wilson score; fractions
    # only), and per-item correctness ('1'/'0' per scored item, in order) over
    # the items named by ``items`` ("0:450": a Python-style range of the data
    # set's items), so two runs scored on the same items get a paired test.
    ci_low: float | None = None
    ci_high: float | None = None
    item_correct: str | None = None
    items: str | None = None


@dataclass(frozen=True)
class Provenance:
    """What changes the number: versions, providers, threads, shapes, host state."""

    runtime_version: str
    library_versions: dict[str, str]
    execution_provider: str | None
    input_shapes: dict[str, list[int]]
    env: dict[str, str] = field(default_factory=dict)  # OMP_NUM_THREADS, governor, ...
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class OpTime:
    """One operator (ONNX op type, or torch op/kernel name) of an ``OpProfile``.

    ``calls`` and ``total_ms`` are over the profiled pass (``OpProfile.iterations``
    inferences); ``share`` is the fraction of all operator time in it. ``op`` comes
    from the user's model: plain text, never markup.
    """

    op: str
    calls: int
    total_ms: float
    share: float


@dataclass(frozen=True)
class OpProfile:
    """Where a run's time goes, by operator, from its runtime's own profiler.

    Measured in a separate pass after the timed window (profiling slows the
    model down), over ``iterations`` inferences of the timed batch. ``ops``
    are the top operators by time, largest first, and, when there were more,
    a last entry for the rest (``others`` operators), so shares sum to 1.
    ``profiler`` says which profiler and which time (e.g. ``onnxruntime``
    node kernel time, ``torch.profiler`` self CPU time).
    """

    profiler: str
    iterations: int
    ops: tuple[OpTime, ...] = ()
    others: int = 0


@dataclass(frozen=True)
class RunRecord:
    """The result of a run: ok with measurements, or failed with its reason."""

    run_id: str
    spec: RunSpec
    status: Status
    started_at: str  # ISO 8601, UTC
    finished_at: str
    host: HostInfo | None = None
    device: DeviceInfo | None = None
    provenance: Provenance | None = None
    latency: LatencyStats | None = None
    memory: MemoryStats | None = None
    energy: EnergyStats | None = None
    accuracy: tuple[AccuracyResult, ...] = ()
    throughput_per_s: float | None = None
    model_size_mb: float | None = None
    params: int | None = None
    error: str | None = None
    origin: Origin = "measured"
    # Load, cold first run and end-to-end latency (issue 14); None in records
    # made before they were measured.
    serving: ServingStats | None = None
    # A causal LM's prefill and decode timing (issue 15); None for other models.
    # Its quality is in ``accuracy`` (metrics "perplexity", "next_token_accuracy").
    generation: GenerationStats | None = None
    op_profile: OpProfile | None = None
    scenarios: ScenarioStats | None = None  # issue 16: offline and server


T = TypeVar("T")


def to_dict(obj: Any) -> Any:
    """A JSON-ready structure for a record (tuples become lists)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    return obj


def from_dict(cls: type[T], data: Any) -> T:
    """Rebuild a record of type ``cls`` from ``to_dict`` output; unknown keys are ignored.

    Raises ``TypeError`` when a required field is missing.
    """
    return typing.cast(T, _build(cls, data))


def _build(tp: Any, data: Any) -> Any:
    if data is None:
        return None
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _build(args[0], data) if len(args) == 1 else data
    if origin is tuple:
        (elem, *_rest) = typing.get_args(tp) or (Any,)
        return tuple(_build(elem, v) for v in data)
    if origin is list:
        (elem,) = typing.get_args(tp) or (Any,)
        return [_build(elem, v) for v in data]
    if origin is dict:
        return dict(data)
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        kwargs = {}
        for f in dataclasses.fields(tp):
            if f.name in data:
                kwargs[f.name] = _build(hints[f.name], data[f.name])
        return tp(**kwargs)  # type: ignore[operator]  # tp is a dataclass type here
    return data
