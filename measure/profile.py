"""Measure one ``RunSpec`` in this process: load, time, meter, evaluate, and record it all.

``profile_run`` is what the worker process calls; calling it directly is for
tests and debugging, because a crash or a leak would take the caller with it
and the process's peak memory would include whatever ran before. Stages in
order: thread settings, host and device, runtime import (baseline memory),
model load, input batch, timed loop under the energy meter, peak memory,
accuracy (apart from timing), provenance.
"""

from __future__ import annotations

import functools
import os
import platform
import time
from collections.abc import Callable
from dataclasses import replace
from importlib import metadata
from pathlib import Path

import numpy as np

from measure.devices import cpu_governor, device_for, host_info
from measure.energy import EnergyMeter, energy_meter_for
from measure.evaluate import evaluate, load_eval_arrays
from measure.memory import (
    BYTES_PER_MB,
    DeviceMemoryProbe,
    current_rss_mb,
    device_memory_probe,
    memory_stats,
    peak_rss_mb,
)
from measure.runtimes import Session, random_batch, runtime_for
from measure.serving import measure_e2e, serving_stats, timed_first_run
from measure.timing import measure_latency
from paretoscope.core.errors import InputError, MeasurementError
from paretoscope.core.records import (
    RUNTIMES,
    ArtifactRef,
    DeviceInfo,
    EnergyStats,
    HostInfo,
    LatencyStats,
    MemoryStats,
    Provenance,
    RunRecord,
    RunSpec,
    TimingBudget,
)
from paretoscope.core.timefmt import utc_now_iso

__all__ = [
    "STAGES",
    "THREAD_ENV_VARS",
    "artifact_size_mb",
    "check_finite_outputs",
    "input_batch",
    "profile_run",
]

THREAD_ENV_VARS: tuple[str, ...] = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
STAGES: tuple[str, ...] = ("loading", "timing", "evaluating", "done")
_LIBRARIES: tuple[str, ...] = (
    "numpy",
    "onnxruntime",
    "onnxruntime-gpu",
    "onnx",
    "torch",
    "nvidia-ml-py",
)


def artifact_size_mb(artifact: ArtifactRef) -> float:
    """Size on disk of the model in MB (10^6 bytes), ONNX external-data files included.

    Raises ``InputError`` when the file is missing.
    """
    path = Path(artifact.path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise InputError(f"model file not found: {path}") from err
    if artifact.format == "onnx":
        size += sum(p.stat().st_size for p in _onnx_external_files(path))
    return size / BYTES_PER_MB


def _onnx_external_files(path: Path) -> list[Path]:
    from measure.runtimes.onnx_wire import WireError, read_graph_summary

    try:
        names = read_graph_summary(path).external_files()
    except (WireError, OSError):
        return _onnx_external_files_by_onnx(path)
    files = [path.parent / name for name in names]
    return [f for f in files if f.is_file()]


def _onnx_external_files_by_onnx(path: Path) -> list[Path]:
    try:
        import onnx
    except ImportError:
        return []
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception:
        return []  # onnxruntime loaded it; a size without extras beats no run
    names: set[str] = set()
    for init in model.graph.initializer:
        if init.data_location == onnx.TensorProto.EXTERNAL:
            for entry in init.external_data:
                if entry.key == "location":
                    names.add(entry.value)
    files = [path.parent / name for name in sorted(names)]
    return [f for f in files if f.is_file()]


def input_batch(session: Session, spec: RunSpec) -> tuple[dict[str, np.ndarray], list[str]]:
    """The batch to time, and notes about how it was made.

    With a data set: its first ``batch_size`` items (repeated cyclically when
    the set is smaller). Without: random data of the declared shapes, named
    dimensions taken from ``spec.dims``. Raises ``InputError`` when neither
    gives a shape.
    """
    notes: list[str] = []
    if spec.dataset is None:
        notes.append("timed on random inputs (no data set)")
        return random_batch(session.inputs, spec.batch_size, spec.dims), notes
    arrays = load_eval_arrays(spec.dataset.path)
    n = len(arrays)
    if n == 0:
        raise InputError(f"data set {spec.dataset.path} is empty")
    if n < spec.batch_size:
        notes.append(f"data set has {n} items; the timed batch repeats them")
    # The first batch_size items, repeated cyclically when the set is smaller.
    idx = np.arange(spec.batch_size) % n
    feed = arrays.feed(session, 0, n)
    return {k: np.ascontiguousarray(v[idx]) for k, v in feed.items()}, notes


def check_finite_outputs(
    session: Session, batch: dict[str, np.ndarray], outputs: np.ndarray | None = None
) -> None:
    """One pass of ``batch``: NaN or infinity in the output fails the run, with or without data.

    Without data nothing else would look at the outputs, and a model whose
    outputs are all NaN would be stored as measured. ``outputs``: that
    pass's first output when the caller already ran it. Raises
    ``MeasurementError`` naming how many items and values were not finite.
    """
    out = np.asarray(session.run(batch) if outputs is None else outputs)
    if out.dtype.kind not in "fc" or out.size == 0:
        return
    finite = np.isfinite(out)
    if finite.all():
        return
    items = len(out) if out.ndim else 1
    bad_items = int((~finite.reshape(items, -1)).any(axis=1).sum())
    nans = int(np.isnan(out).sum())
    infinite = int((~finite).sum()) - nans
    raise MeasurementError(
        f"model produced non-finite outputs on {bad_items} of {items} items of the timed batch "
        f"({nans} NaN and {infinite} infinite of {out.size} values); a model whose outputs are "
        "NaN or infinity is not measured"
    )


@functools.cache
def _installed_versions() -> tuple[tuple[str, str], ...]:
    """Versions of ``_LIBRARIES`` from installed-distribution metadata, read once a process.

    Reading it costs about 10 ms a run (it parses each package's METADATA);
    a warm worker measuring many runs reads it once.
    """
    out: list[tuple[str, str]] = []
    for name in _LIBRARIES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return tuple(out)


def _library_versions(session: Session, spec: RunSpec) -> dict[str, str]:
    # Installed-distribution metadata, so that recording torch's version does
    # not import torch into an onnxruntime run.
    out = {"python": platform.python_version(), **dict(_installed_versions())}
    # The module that ran wins over installed metadata: with onnxruntime-gpu
    # ahead on the path, the CPU build's metadata may still be found first.
    out["onnxruntime" if spec.runtime == "ort" else "torch"] = session.version
    return out


def _env(session: Session, spec: RunSpec) -> dict[str, str]:
    env = {var: os.environ[var] for var in THREAD_ENV_VARS if var in os.environ}
    env["threads"] = str(spec.threads)
    governor = cpu_governor()
    if governor is not None:
        env["cpu_governor"] = governor
    if hasattr(os, "sched_getaffinity"):
        env["cpu_affinity_count"] = str(len(os.sched_getaffinity(0)))
    env.update(session.env())
    return env


def _memory(
    session: Session, baseline_mb: float | None, probe: DeviceMemoryProbe | None
) -> tuple[MemoryStats, list[str]]:
    """The run's memory, and notes: device memory on a GPU (every runtime), host RSS on a CPU.

    ``probe`` is None on a CPU. On a GPU every runtime gets the probe's
    figure where NVML names this process (``nvml-process``), so torch and
    ONNX Runtime runs compare one quantity (the process's device memory, its
    CUDA context included); torch's own allocator peak is then kept in a note
    and ``device_peak_reserved_mb``. Without NVML's per-process figure torch
    reports its allocator's peak (``torch-allocator``) and other runtimes the
    drop in free memory (``cuda-meminfo``) or none with the reason: never the
    host's RSS under ``peak_mem_mb``. ``peak_host_mem_mb`` is the process's
    peak RSS always.
    """
    device = session.peak_device_memory_mb()
    host_mb = peak_rss_mb()[0]
    if probe is None and device is None:
        return memory_stats(baseline_mb), []
    stats = MemoryStats(None, baseline_mb, None, None, host_mb)
    notes: list[str] = []
    if probe is not None:
        probe.sample()
        stats, notes = probe.stats(baseline_mb, host_mb)
    if device is None:
        return stats, notes
    allocated, reserved = device
    if stats.source == "nvml-process":
        note = (
            f"torch's caching allocator peaked at {allocated:.1f} MB allocated and "
            f"{reserved:.1f} MB reserved within that device memory"
        )
        return replace(stats, device_peak_reserved_mb=reserved), [*notes, note]
    # The allocator's peak since the timed loop began (weights, activations, workspace).
    return MemoryStats(allocated, baseline_mb, "torch-allocator", reserved, host_mb), []


def _gpu_uuid(device: DeviceInfo) -> str | None:
    """The UUID inside a ``{host}:cuda:{uuid}`` device id; None when the id ends in an index."""
    tail = device.device_id.rpartition(":cuda:")[2]
    return None if not tail or tail.isdigit() else tail


def _gpu_state(device: DeviceInfo) -> tuple[dict[str, str], list[str]]:
    """NVML's view of the GPU now (clocks, temperature, power, other processes), and warnings."""
    from measure.devices.nvml import gpu_state, handle_for, load_nvml

    nvml, reason = load_nvml()
    if nvml is None:
        return {"gpu_state": f"unavailable: {reason}"}, []
    try:
        handle = handle_for(nvml, device.index, _gpu_uuid(device))
    except Exception as err:
        return {"gpu_state": f"unavailable: NVML has no such GPU: {err}"}, []
    return gpu_state(nvml, handle)


def _stretch(budget: TimingBudget, min_window_s: float) -> TimingBudget:
    """``budget`` with a timed window of at least ``min_window_s`` (for an energy counter)."""
    if min_window_s <= budget.min_time_s:
        return budget
    return replace(
        budget,
        min_time_s=min_window_s,
        max_time_s=max(budget.max_time_s, min_window_s),
        max_iters=max(budget.max_iters, 10_000_000),
    )


def _validate(spec: RunSpec) -> None:
    problems = []
    if spec.runtime not in RUNTIMES:
        problems.append(f"runtime {spec.runtime!r} is not one of {', '.join(RUNTIMES)}")
    if spec.batch_size < 1:
        problems.append(f"batch_size must be >= 1 (got {spec.batch_size})")
    if spec.threads < 1:
        problems.append(f"threads must be >= 1 (got {spec.threads})")
    if problems:
        raise InputError("invalid run: " + "; ".join(problems))


def _pin_threads(spec: RunSpec) -> None:
    # Effective only before the runtime's library starts its thread pools,
    # which is always the case in a fresh worker.
    for var in THREAD_ENV_VARS:
        os.environ[var] = str(spec.threads)


def _energy_meter(
    spec: RunSpec, device: DeviceInfo, notes: list[str]
) -> tuple[EnergyMeter, TimingBudget]:
    """The device's energy meter, and the budget stretched to the window it needs (noted)."""
    uuid = _gpu_uuid(device) if device.kind == "cuda" else None
    meter = energy_meter_for(spec.device, uuid=uuid)
    budget = spec.budget
    if meter.min_window_s > budget.min_time_s:
        budget = _stretch(budget, meter.min_window_s)
        notes.append(
            f"timed window stretched to at least {meter.min_window_s:.2g} s so the energy "
            "counter's steps are small against it"
        )
    return meter, budget


def _timed_window(
    session: Session,
    spec: RunSpec,
    step: Callable[[], object],
    meter: EnergyMeter,
    budget: TimingBudget,
) -> tuple[LatencyStats, EnergyStats]:
    """Latency of ``step`` under ``budget``, and the energy over exactly the timed iterations."""
    sync = session.sync if session.needs_sync else None
    energy: EnergyStats = EnergyStats.unavailable("the timed loop did not finish")

    def stop_meter(n_iter: int) -> None:
        nonlocal energy
        energy = meter.stop(items=n_iter * spec.batch_size)

    session.reset_peak_device_memory()
    with session.timing_context():
        latency = measure_latency(
            step,
            sync,
            budget,
            on_window_start=meter.start,
            on_window_end=stop_meter,
            clock=session.step_clock(),
        )
    return latency, energy


def _energy_notes(energy: EnergyStats) -> list[str]:
    if energy.source == "rapl":
        return ["energy: RAPL package counters, which include other processes"]
    if energy.source == "nvml":
        return [
            "energy: NVML total-energy counter of the whole GPU board over the timed "
            "window; power samples in env cross-check it"
        ]
    return []


def _measure(
    session: Session,
    spec: RunSpec,
    *,
    host: HostInfo,
    device: DeviceInfo,
    started_at: str,
    baseline_mb: float | None,
    stage: Callable[[str], None],
    probe: DeviceMemoryProbe | None = None,
    accuracy: bool = True,
) -> RunRecord:
    """The stages after loading: input batch, timed loop under the meter, memory, accuracy."""
    if probe is not None:
        probe.sample()  # the model loaded
    batch, notes = input_batch(session, spec)
    # The first inference, cold: timed, and its outputs checked.
    first_out, first_run_ms = timed_first_run(session, batch)
    check_finite_outputs(session, batch, first_out)
    step = session.step_fn(batch)

    stage("timing")
    meter, budget = _energy_meter(spec, device, notes)
    latency, energy = _timed_window(session, spec, step, meter, budget)
    # Clocks and temperature as the timed loop left them; other processes.
    gpu_env, gpu_warnings = _gpu_state(device) if device.kind == "cuda" else ({}, [])
    meter_env = meter.provenance()
    # Read before evaluation, whose whole-data-set buffers are not part of
    # serving one batch.
    memory, memory_notes = _memory(session, baseline_mb, probe)
    # After the device-resident window and its memory reading: host inputs, outputs back.
    e2e, e2e_reason = measure_e2e(session, batch, spec.budget)

    stage("evaluating")
    scores = (
        evaluate(session, spec.dataset, spec.batch_size, spec.model.task)
        if spec.dataset is not None and accuracy
        else ()
    )
    if probe is not None and memory.source != "torch-allocator":
        # Evaluation runs batches of the same size: its device memory counts.
        memory, memory_notes = _memory(session, baseline_mb, probe)
    notes.extend(memory_notes)
    notes.extend(_energy_notes(energy))
    notes.extend(gpu_warnings)
    provenance = Provenance(
        runtime_version=session.version,
        library_versions=_library_versions(session, spec),
        execution_provider=session.execution_provider,
        input_shapes={name: list(array.shape) for name, array in batch.items()},
        env={**_env(session, spec), **gpu_env, **meter_env},
        notes=(*session.notes, *notes),
    )
    return RunRecord(
        run_id=spec.run_id,
        spec=spec,
        status="ok",
        started_at=started_at,
        finished_at=utc_now_iso(),
        host=host,
        device=device,
        provenance=provenance,
        latency=latency,
        memory=memory,
        energy=energy,
        accuracy=scores,
        throughput_per_s=spec.batch_size / (latency.p50_ms / 1000.0)
        if latency.p50_ms > 0
        else None,
        model_size_mb=artifact_size_mb(spec.artifact),
        params=session.params,
        serving=serving_stats(session.load_ms, first_run_ms, e2e, e2e_reason),
    )


def profile_run(
    spec: RunSpec, *, on_stage: Callable[[str], None] | None = None, accuracy: bool = True
) -> RunRecord:
    """Measure ``spec`` in this process and return an ``ok`` ``RunRecord``.

    ``on_stage`` is called with each stage name in ``STAGES`` as it starts.
    ``accuracy=False`` skips evaluation (a later repeat of a run whose first
    repeat measured it): the record then has no accuracy.
    Latency is in ms, memory in MB, energy in J, throughput in items/s
    (batch size over median latency), model size in MB on disk. Raises
    ``InputError`` for an unusable spec, model or data set,
    ``UnavailableError`` for absent hardware or libraries, and
    ``MeasurementError`` when the model fails or gives non-finite outputs.
    """

    def stage(name: str) -> None:
        if on_stage is not None:
            on_stage(name)

    if spec.model.task == "causal-lm":
        from measure.profile_lm import profile_causal_lm

        return profile_causal_lm(spec, on_stage=on_stage, accuracy=accuracy)
    started_at = utc_now_iso()
    _validate(spec)
    _pin_threads(spec)
    host = host_info()
    device = device_for(spec.device, host)

    stage("loading")
    runtime = runtime_for(spec.runtime)
    baseline_mb = current_rss_mb()
    # On a GPU, free device memory is read before the session exists.
    probe = device_memory_probe(device) if device.kind == "cuda" else None
    load_started_ns = time.perf_counter_ns()
    session = runtime.load(spec)
    if session.load_ms is None:
        session.load_ms = (time.perf_counter_ns() - load_started_ns) / 1e6
    try:
        record = _measure(
            session,
            spec,
            host=host,
            device=device,
            started_at=started_at,
            baseline_mb=baseline_mb,
            stage=stage,
            probe=probe,
            accuracy=accuracy,
        )
    finally:
        session.close()
    stage("done")
    return record
