"""What a serving user pays besides the device-resident forward pass: cold first run, end to end.

``measure.profile`` times the model with its inputs already where the
runtime wants them (bound on the device, outputs left there). An application
also pays for loading the model (``Session.load_ms``, timed by the runtime),
for its first inference, which is cold (lazy initialisation, kernel
selection, allocator growth), and on every request for handing its inputs
over from host memory and fetching the outputs back. ``timed_first_run``
and ``measure_e2e`` measure the last two; ``serving_stats`` puts them in a
record. Nothing here imports torch or onnxruntime.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np

from measure.runtimes import Session
from measure.timing import measure_latency
from paretoscope.core.errors import InputError, MeasurementError
from paretoscope.core.records import LatencyStats, ServingStats, TimingBudget

__all__ = ["measure_e2e", "serving_stats", "timed_first_run"]


def timed_first_run(session: Session, batch: Mapping[str, np.ndarray]) -> tuple[np.ndarray, float]:
    """The first output of ``session.run(batch)`` and how long the call took (ms, host clock).

    Meant to be the session's first inference: nothing is warmed up first.
    ``Session.run`` takes NumPy inputs and returns NumPy, so on a GPU the
    time includes the input and output copies and ends after the device is
    done. Exceptions from ``run`` propagate.
    """
    started_ns = time.perf_counter_ns()
    out = session.run(batch)
    return out, (time.perf_counter_ns() - started_ns) / 1e6


def measure_e2e(
    session: Session, batch: Mapping[str, np.ndarray], budget: TimingBudget
) -> tuple[LatencyStats | None, str | None]:
    """End-to-end latency of ``session.e2e_step_fn(batch)`` under ``budget``, or why there is none.

    Timed by the host clock (``perf_counter_ns``) around each call, never a
    device clock: the end-to-end figure is what the calling thread waits.
    Same warm-up, stopping rule and budget as the device-resident window.
    A failure of the end-to-end path does not fail the run, whose
    device-resident figures stand: it returns None and the reason.
    """
    sync = session.sync if session.needs_sync else None
    try:
        step = session.e2e_step_fn(batch)
        with session.timing_context():
            return measure_latency(step, sync, budget), None
    except (InputError, MeasurementError, RuntimeError, ValueError, TypeError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        return None, f"end-to-end timing failed: {type(err).__name__}: {first}"


def serving_stats(
    load_ms: float | None,
    first_run_ms: float | None,
    e2e: LatencyStats | None,
    e2e_reason: str | None = None,
) -> ServingStats:
    """A ``ServingStats``; its reason names each figure that is missing."""
    reasons = []
    if load_ms is None:
        reasons.append("load time was not measured by this runtime")
    if first_run_ms is None:
        reasons.append("the first run was not timed")
    if e2e is None:
        reasons.append(e2e_reason or "end-to-end latency was not measured")
    return ServingStats(
        load_ms=load_ms,
        first_run_ms=first_run_ms,
        e2e=e2e,
        unavailable_reason="; ".join(reasons) or None,
    )
