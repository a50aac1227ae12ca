"""One run measured in several fresh processes, combined into one record.

Inside one process the timed samples are not independent of the process:
where the allocator put the buffers, which core and frequency the scheduler
gave, what other tenants did. A confidence interval computed from one
process's samples therefore understates how far a second process's median
can land. ``repeats_latency`` combines repeats into one ``LatencyStats``
whose interval is taken over the repeats' medians; ``combine_repeats`` does
the same for whole records (memory, energy, accuracy). Pure NumPy (and
scipy's t distribution): nothing here imports torch or onnxruntime.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from measure.timing import MAX_KEPT_SAMPLES, N_QUANTILES
from paretoscope.core.errors import InputError
from paretoscope.core.records import (
    EnergyStats,
    LatencyStats,
    MemoryStats,
    RepeatLatency,
    RunRecord,
    ServingStats,
    TimingBudget,
)

__all__ = ["combine_repeats", "repeat_budget", "repeats_latency"]

# The pooled quantiles are read off each repeat's quantile function sampled this finely.
_FINE_GRID = 1001


def repeat_budget(budget: TimingBudget, repeats: int) -> TimingBudget:
    """The budget of each of ``repeats`` processes, so that all of them time about ``budget``.

    ``min_time_s`` and ``max_time_s`` are split evenly; warm-up, ``min_iters``,
    ``max_iters`` and the CI target stay per process. A run measured in three
    processes then does about the timed work of one, plus the start-up of
    the extra processes. Raises ``InputError`` for ``repeats < 1``.
    """
    if repeats < 1:
        raise InputError(f"repeats must be >= 1 (got {repeats})")
    if repeats == 1:
        return budget
    return replace(
        budget, min_time_s=budget.min_time_s / repeats, max_time_s=budget.max_time_s / repeats
    )


def _between_repeats_ci(medians: np.ndarray, confidence: float) -> tuple[float, float]:
    """Student's t interval of the mean of the repeat medians, widened to hold every median.

    The repeats are independent processes and each median, of many samples,
    is close to normal; but they are few (3 by default), so the interval
    uses the t distribution with n - 1 degrees of freedom (``scipy.stats.t``):
    with three repeats it is the mean ± 2.48 standard deviations of the
    medians. For two to four repeats it holds every median already; the
    widening matters only for more.
    """
    from scipy.stats import t

    n = medians.size
    centre = float(medians.mean())
    sem = float(medians.std(ddof=1)) / math.sqrt(n)
    half = float(t.ppf(0.5 + confidence / 2.0, n - 1)) * sem
    return min(centre - half, float(medians.min())), max(centre + half, float(medians.max()))


def _pooled_quantiles(parts: Sequence[LatencyStats]) -> np.ndarray:
    """The 0th..100th percentiles of all the repeats' samples together (ms).

    Each repeat's 101 quantiles are interpolated onto a fine grid of
    probabilities, weighted by its number of samples, and the weighted
    quantiles of the lot are read off: exact up to that interpolation.
    O(r·g log(r·g)) for r repeats and a grid of g = 1001.
    """
    grid = np.linspace(0.0, 1.0, N_QUANTILES)
    fine = np.linspace(0.0, 1.0, _FINE_GRID)
    values, weights = [], []
    for p in parts:
        q = np.asarray(p.quantiles_ms or (p.p50_ms,) * N_QUANTILES, dtype=np.float64)
        values.append(np.interp(fine, np.linspace(0.0, 1.0, q.size), q))
        weights.append(np.full(_FINE_GRID, p.n_iter / _FINE_GRID))
    v = np.concatenate(values)
    order = np.argsort(v, kind="stable")
    v = v[order]
    cum = np.cumsum(np.concatenate(weights)[order])
    cum /= cum[-1]
    out = v[np.clip(np.searchsorted(cum, grid, side="left"), 0, v.size - 1)]
    out[0], out[-1] = min(p.min_ms for p in parts), max(p.max_ms for p in parts)
    return out


def _pooled_std(parts: Sequence[LatencyStats], mean: float) -> float:
    """Sample standard deviation of all the samples, from each repeat's count, mean and std."""
    n = sum(p.n_iter for p in parts)
    if n < 2:
        return 0.0
    ss = sum((p.n_iter - 1) * p.std_ms**2 + p.n_iter * (p.mean_ms - mean) ** 2 for p in parts)
    return math.sqrt(max(ss, 0.0) / (n - 1))


def _pooled_samples(parts: Sequence[LatencyStats], cap: int) -> tuple[float, ...]:
    """The repeats' kept samples one after the other, evenly strided down to ``cap``."""
    joined = [s for p in parts for s in p.samples_ms]
    if len(joined) <= cap:
        return tuple(joined)
    keep = np.linspace(0, len(joined) - 1, cap).round().astype(np.int64)
    return tuple(joined[i] for i in keep)


def _stop_reason(parts: Sequence[LatencyStats]) -> str:
    """``ci_target`` when every repeat reached its target, else the first limit a repeat hit."""
    for p in parts:
        if p.stop_reason != "ci_target":
            return p.stop_reason
    return "ci_target"


def _repeat(p: LatencyStats) -> RepeatLatency:
    return RepeatLatency(
        p50_ms=p.p50_ms,
        ci_low_ms=p.ci_low_ms,
        ci_high_ms=p.ci_high_ms,
        mean_ms=p.mean_ms,
        n_iter=p.n_iter,
        total_time_s=p.total_time_s,
        stop_reason=p.stop_reason,
    )


def repeats_latency(parts: Sequence[LatencyStats], confidence: float = 0.95) -> LatencyStats:
    """One run's latency from its repeats, each measured in a fresh process (ms).

    ``p50_ms`` is the median of the repeats' medians: the process is the
    unit that varies, so each repeat counts once whatever number of
    iterations its stopping rule took, and one odd process among three does
    not move the figure (a pooled median would weight the noisiest repeat,
    which runs longest, the most). ``ci_low_ms``/``ci_high_ms`` are Student's
    t interval over the repeat medians (``_between_repeats_ci``), so the
    interval covers the spread between processes, not only the sampling
    error inside one; ``ci_scope`` is ``between-repeats``. The rest pools the
    samples of all repeats: mean and standard deviation exactly (from counts,
    means and deviations), minimum and maximum, p90, p99 and ``quantiles_ms``
    of the pooled distribution (whose 50th percentile, the pooled median,
    may differ a little from ``p50_ms``), the kept samples in order, the
    summed iteration counts and timed time. ``stop_reason`` is ``ci_target``
    only when every repeat reached it. ``repeats`` keeps each repeat's own
    statistics. One repeat is returned unchanged (its CI stays within one
    process). Raises ``InputError`` when there is no repeat or the repeats
    used different timers.
    """
    if not parts:
        raise InputError("combining repeats needs at least one repeat")
    if len(parts) == 1:
        return parts[0]
    timers = {p.timer for p in parts}
    if len(timers) != 1:
        raise InputError(f"repeats were timed with different clocks: {sorted(timers)}")
    n_iter = sum(p.n_iter for p in parts)
    mean = math.fsum(p.mean_ms * p.n_iter for p in parts) / n_iter
    medians = np.asarray([p.p50_ms for p in parts], dtype=np.float64)
    ci_low, ci_high = _between_repeats_ci(medians, confidence)
    quantiles = _pooled_quantiles(parts)
    return LatencyStats(
        mean_ms=mean,
        p50_ms=float(np.median(medians)),
        p90_ms=float(quantiles[90]),
        p99_ms=float(quantiles[99]),
        std_ms=_pooled_std(parts, mean),
        min_ms=min(p.min_ms for p in parts),
        max_ms=max(p.max_ms for p in parts),
        ci_low_ms=ci_low,
        ci_high_ms=ci_high,
        n_iter=n_iter,
        warmup_iter=sum(p.warmup_iter for p in parts),
        total_time_s=math.fsum(p.total_time_s for p in parts),
        stop_reason=_stop_reason(parts),
        timer=parts[0].timer,
        samples_ms=_pooled_samples(parts, MAX_KEPT_SAMPLES),
        quantiles_ms=tuple(float(q) for q in quantiles),
        ci_scope="between-repeats",
        repeats=tuple(_repeat(p) for p in parts),
    )


def _max_or_none(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _memory(parts: Sequence[MemoryStats | None]) -> MemoryStats | None:
    """The largest peak of the repeats (its baseline with it); host peak: the largest too."""
    present = [m for m in parts if m is not None]
    if not present:
        return None
    measured = [m for m in present if m.peak_mem_mb is not None]
    top = max(measured, key=lambda m: m.peak_mem_mb or 0.0) if measured else present[0]
    return replace(
        top,
        peak_host_mem_mb=_max_or_none([m.peak_host_mem_mb for m in present]),
        device_peak_reserved_mb=_max_or_none([m.device_peak_reserved_mb for m in present]),
    )


def _energy(records: Sequence[RunRecord]) -> EnergyStats | None:
    """Energy over all the repeats' timed windows: summed joules over summed items and seconds.

    Unavailable (with the first repeat's reason) unless every repeat has it.
    """
    parts = [r.energy for r in records]
    for i, e in enumerate(parts, start=1):
        if e is None or e.energy_j is None:
            if e is None:
                return None
            reason = e.unavailable_reason or "not measured"
            return EnergyStats.unavailable(f"repeat {i} of {len(parts)}: {reason}")
    energies = [e for e in parts if e is not None]
    joules = math.fsum(e.energy_j or 0.0 for e in energies)
    items = sum((r.latency.n_iter if r.latency else 0) * r.spec.batch_size for r in records)
    window = math.fsum(e.window_s or 0.0 for e in energies)
    return EnergyStats(
        energy_j=joules,
        energy_j_per_item=joules / items if items else None,
        avg_power_w=joules / window if window > 0 else None,
        source=energies[0].source,
        window_s=window or None,
    )


def _serving(records: Sequence[RunRecord]) -> ServingStats | None:
    """The first repeat's load and first run; end-to-end latency combined like ``latency``."""
    first = records[0].serving
    parts = [r.serving.e2e for r in records if r.serving is not None and r.serving.e2e]
    if first is None or len(parts) != len(records):
        return first
    return replace(first, e2e=repeats_latency(parts))


def combine_repeats(records: Sequence[RunRecord]) -> RunRecord:
    """One ``ok`` record from the ``ok`` records of the same run's repeats, in order.

    The first repeat's record is the base (host, device, provenance,
    accuracy: accuracy is measured once, by the first repeat, because the
    model is deterministic). Latency is ``repeats_latency``; throughput is
    the batch over the combined median; memory is the largest peak of the
    repeats; energy is the total over all timed windows, per item over all
    timed items; end-to-end latency combines like latency, load and first run are
    the first repeat's. ``finished_at`` is the last repeat's. Raises ``InputError``
    when there is no record or one is not ``ok``.
    """
    if not records:
        raise InputError("combining repeats needs at least one record")
    if any(r.status != "ok" or r.latency is None for r in records):
        raise InputError("only ok repeats with a latency can be combined")
    first = records[0]
    if len(records) == 1:
        return first
    latency = repeats_latency([r.latency for r in records if r.latency is not None])
    notes = (
        f"latency measured in {len(records)} fresh processes (repeats); the CI of the "
        "median is taken between them",
    )
    provenance = first.provenance
    if provenance is not None:
        provenance = replace(provenance, notes=(*provenance.notes, *notes))
    return replace(
        first,
        finished_at=records[-1].finished_at,
        latency=latency,
        memory=_memory([r.memory for r in records]),
        energy=_energy(records),
        provenance=provenance,
        serving=_serving(records),
        throughput_per_s=first.spec.batch_size / (latency.p50_ms / 1000.0)
        if latency.p50_ms > 0
        else None,
    )
