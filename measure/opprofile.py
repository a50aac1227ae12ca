"""Per-operator profile of a run (``--op-profile``): where the time goes, by operator.

Measured in a short pass of its own after the run's timed window, in a
second session of the same model, so the profiler's overhead never touches
the timed numbers. ONNX Runtime: a session created with
``SessionOptions.enable_profiling``, its JSON trace (``end_profiling``) read
for the ``Node`` events (``*_kernel_time``) inside the profiled runs, summed
by op type (``args.op_name``). PyTorch: ``torch.profiler.profile`` around the
same number of forward passes, ``key_averages()`` by op name, self CPU time
(on CUDA: self device time, which names the kernels). The top ``TOP_OPS``
operators are kept, and the rest as one last entry, so shares sum to 1.

Op names come from the user's model: they are data, never markup.
"""

from __future__ import annotations

import dataclasses
import json
import math
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from paretoscope.core.records import OpProfile, OpTime, RunRecord, RunSpec

__all__ = [
    "TOP_OPS",
    "attach_op_profile",
    "ort_node_times",
    "profile_iterations",
    "profile_ops",
    "summarise",
]

#: How many operators a profile keeps by name; the rest are one entry.
TOP_OPS = 15
#: Untimed passes before the profiled ones (allocations, caches, lazy init).
WARMUP = 5
#: The profiled pass lasts about this long (s), between the iteration bounds.
TARGET_S = 0.1
MIN_ITERS = 10
MAX_ITERS = 200

OpTimes = dict[str, tuple[int, float]]  # op -> (calls, total µs)


def profile_iterations(latency_ms: float | None) -> int:
    """Inferences to profile: about ``TARGET_S`` of them, from ``MIN_ITERS`` to ``MAX_ITERS``."""
    if latency_ms is None or not latency_ms > 0:
        return MIN_ITERS
    return max(MIN_ITERS, min(MAX_ITERS, math.ceil(TARGET_S * 1000.0 / latency_ms)))


def summarise(
    times: Mapping[str, tuple[int, float]],
    *,
    profiler: str,
    iterations: int,
    top: int = TOP_OPS,
) -> OpProfile:
    """``times`` (op -> calls, µs) as an ``OpProfile``: the ``top`` ops, then the rest as one.

    The rest is one entry only when it is two ops or more (``others``). Ops
    with no time are dropped. Ties in time are broken by name, so a profile
    is the same whatever the order of ``times``. O(n log n) in the ops.
    """
    items = sorted(((op, c, us) for op, (c, us) in times.items() if us > 0), key=_order)
    total_us = sum(us for _op, _c, us in items)
    if total_us <= 0:
        return OpProfile(profiler=profiler, iterations=iterations)
    # One op past ``top`` is kept by name: a "rest" entry stands for two or more.
    cut = top if len(items) > top + 1 else len(items)
    kept, rest = items[:cut], items[cut:]
    ops = [OpTime(op, int(c), us / 1000.0, us / total_us) for op, c, us in kept]
    if rest:
        rest_us = sum(us for _op, _c, us in rest)
        calls = sum(int(c) for _op, c, _us in rest)
        ops.append(OpTime(f"{len(rest)} other ops", calls, rest_us / 1000.0, rest_us / total_us))
    return OpProfile(profiler=profiler, iterations=iterations, ops=tuple(ops), others=len(rest))


def _order(item: tuple[str, int, float]) -> tuple[float, str]:
    return (-item[2], item[0])


# --- ONNX Runtime ----------------------------------------------------------------------------


def ort_node_times(events: Iterable[Mapping[str, Any]], *, skip_runs: int = 0) -> OpTimes:
    """Kernel time by op type from an onnxruntime profile trace (its JSON list of events).

    Only ``Node`` events named ``*_kernel_time`` inside a ``model_run``
    event count, and of those only the runs after the first ``skip_runs``
    (warm-up). An op placed on a provider other than the session's CPU
    fallback is named with it, e.g. ``MatMul (CUDAExecutionProvider)``.
    """
    events = list(events)
    runs = sorted(
        (int(e["ts"]), int(e["ts"]) + int(e.get("dur", 0)))
        for e in events
        if e.get("cat") == "Session" and e.get("name") == "model_run"
    )[skip_runs:]
    out: OpTimes = {}
    for e in events:
        if e.get("cat") != "Node" or not str(e.get("name", "")).endswith("_kernel_time"):
            continue
        ts = int(e.get("ts", 0))
        if not any(start <= ts <= end for start, end in runs):
            continue
        args = e.get("args") or {}
        op = str(args.get("op_name") or e.get("name"))
        provider = str(args.get("provider") or "")
        if provider and provider != "CPUExecutionProvider":
            op = f"{op} ({provider})"
        calls, us = out.get(op, (0, 0.0))
        out[op] = (calls + 1, us + float(e.get("dur", 0)))
    return out


def _ort_profile(spec: RunSpec, iterations: int) -> OpProfile:
    import onnxruntime as ort

    from measure.profile import input_batch
    from measure.runtimes.ort import OrtRuntime, OrtSession

    base = OrtRuntime().load(spec)  # the run's own settings, checks and providers
    inner = base.inference_session
    options = inner.get_session_options()
    providers = inner.get_providers()
    provider_options = inner.get_provider_options()
    base.close()
    with tempfile.TemporaryDirectory(prefix="paretoscope-opprof-") as tmp:
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(tmp) / "ort")
        twin = ort.InferenceSession(
            spec.artifact.path,
            sess_options=options,
            providers=[(p, provider_options.get(p, {})) for p in providers],
        )
        session = OrtSession(twin, None, spec.device)
        batch, _notes = input_batch(session, spec)
        step = session.step_fn(batch)  # runs the batch once itself
        _passes(step, session.sync, WARMUP - 1)
        _passes(step, session.sync, iterations)
        trace = Path(twin.end_profiling())
        events = json.loads(trace.read_text())
    times = ort_node_times(events, skip_runs=WARMUP)
    what = "onnxruntime profiler: node kernel time"
    if spec.device != "cpu":
        what += " (host-side time of each node's launch and wait)"
    return summarise(times, profiler=what, iterations=iterations)


# --- PyTorch ---------------------------------------------------------------------------------


def _torch_profile(spec: RunSpec, iterations: int) -> OpProfile:
    from torch.profiler import ProfilerActivity, profile

    from measure.profile import input_batch
    from measure.runtimes import runtime_for

    session = runtime_for("torch").load(spec)
    try:
        batch, _notes = input_batch(session, spec)
        step = session.step_fn(batch)
        cuda = spec.device.startswith("cuda")
        activities = [ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if cuda else [])]
        with session.timing_context():
            _passes(step, session.sync, WARMUP)
            # acc_events: one cycle here, and torch 2.11 warns without it (an error under pytest).
            with profile(activities=activities, acc_events=True) as prof:
                _passes(step, session.sync, iterations)
        times: OpTimes = {}
        for avg in prof.key_averages():
            us = float(avg.self_device_time_total if cuda else avg.self_cpu_time_total)
            if us > 0:
                calls, total = times.get(str(avg.key), (0, 0.0))
                times[str(avg.key)] = (calls + int(avg.count), total + us)
    finally:
        session.close()
    what = "torch.profiler: self " + ("device (GPU kernel) time" if cuda else "CPU time")
    return summarise(times, profiler=what, iterations=iterations)


def _passes(step: Callable[[], object], sync: Callable[[], None], n: int) -> None:
    for _ in range(max(n, 0)):
        step()
    sync()


# --- entry points ----------------------------------------------------------------------------


def profile_ops(spec: RunSpec, *, latency_ms: float | None = None) -> OpProfile:
    """The per-operator profile of ``spec``, over ``profile_iterations(latency_ms)`` inferences.

    Loads the model again (a session of its own), so call it after the
    run's timed window. Raises what loading and running the model raise.
    """
    iterations = profile_iterations(latency_ms)
    if spec.runtime == "ort":
        return _ort_profile(spec, iterations)
    return _torch_profile(spec, iterations)


def attach_op_profile(record: RunRecord) -> RunRecord:
    """``record`` with its op profile when its spec asks for one and the run is ``ok``.

    A profile that cannot be made does not fail the run: a note says why.
    """
    if not record.spec.op_profile or record.status != "ok":
        return record
    p50 = record.latency.p50_ms if record.latency is not None else None
    try:
        profile = profile_ops(record.spec, latency_ms=p50)
    except Exception as err:
        if record.provenance is None:
            return record
        note = f"no operator profile: {type(err).__name__}: {err}"
        notes = (*record.provenance.notes, note)
        return dataclasses.replace(
            record, provenance=dataclasses.replace(record.provenance, notes=notes)
        )
    return dataclasses.replace(record, op_profile=profile)
