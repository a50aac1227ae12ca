"""Latency harness: warm-up, timed iterations, an adaptive stop on the median's confidence interval.

Pure Python and NumPy: nothing here imports torch or onnxruntime, so the
statistics can be tested fast and reused on recorded samples.

The clock is ``time.perf_counter_ns`` (CLOCK_MONOTONIC on Linux), read around
each step plus its device synchronisation. The timed loop appends one int per
iteration and evaluates the stopping rule only between chunks, so the
harness adds well under a microsecond to each sample (see
``benchmarks/harness_overhead.py``). A session may bring its own per-step
clock (``StepClock``): torch on CUDA times each step with CUDA events
(``timer="cuda_event"``); the stopping rule still uses the host clock.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from functools import lru_cache
from statistics import NormalDist

import numpy as np

from measure.runtimes.base import StepClock
from paretoscope.core.errors import InputError
from paretoscope.core.records import LatencyStats, TimingBudget

__all__ = [
    "MAX_KEPT_SAMPLES",
    "N_QUANTILES",
    "STOP_REASONS",
    "StepClock",
    "latency_stats",
    "measure_latency",
    "median_ci",
    "median_ci_ranks",
]

STOP_REASONS: tuple[str, ...] = ("ci_target", "max_time", "max_iters")
MAX_KEPT_SAMPLES = 2000
N_QUANTILES = 101

# Below this many samples the exact binomial interval is computed with
# integers; above, the normal approximation is within one rank of it.
_EXACT_MAX_N = 1000
# The stopping rule is evaluated after chunks lasting about this long, or a
# tenth of the time spent so far when that is longer: the number of checks
# grows like log(n), so sorting for them costs O(n log² n) in all.
_CHECK_INTERVAL_NS = 10_000_000
_CHECK_FRACTION = 0.1
_MAX_CHUNK = 1 << 16


def median_ci_ranks(n: int, confidence: float = 0.95) -> tuple[int, int]:
    """0-based ranks ``(lo, hi)`` of the order statistics bounding the median of ``n`` samples.

    Distribution-free: the number of samples below the true median is
    Binomial(n, 1/2), so ``[x_(k), x_(n-k+1)]`` covers it with probability
    ``1 - 2·P(B <= k-1)``. We take the largest ``k`` whose coverage is at
    least ``confidence``, exactly for ``n <= 1000`` and by the normal
    approximation above. When no ``k`` reaches the confidence (fewer than 6
    samples at 95%) the full range ``(0, n-1)`` is returned, which covers
    less than asked. Raises ``InputError`` for ``n < 1`` or a confidence
    outside (0, 1).
    """
    if n < 1:
        raise InputError("a confidence interval needs at least one sample")
    if not 0.0 < confidence < 1.0:
        raise InputError(f"confidence must be in (0, 1), got {confidence}")
    k = _exact_k(n, confidence) if n <= _EXACT_MAX_N else _normal_k(n, confidence)
    k = max(k, 1)
    return k - 1, n - k


@lru_cache(maxsize=4096)
def _exact_k(n: int, confidence: float) -> int:
    # Largest k with 2·P(B <= k-1) <= alpha, summing binomial coefficients as
    # exact integers; O(n) big-int steps.
    alpha = 1.0 - confidence
    total = 1 << n
    coef = 1  # C(n, i)
    cum = 0
    k = 0
    for i in range(n // 2 + 1):
        cum += coef
        if 2 * cum / total > alpha:
            break
        k = i + 1
        coef = coef * (n - i) // (i + 1)
    return k


def _normal_k(n: int, confidence: float) -> int:
    # P(B <= k-1) ~ Phi((k - 1/2 - n/2) / (sqrt(n)/2)) with continuity correction.
    z = NormalDist().inv_cdf(1.0 - (1.0 - confidence) / 2.0)
    return math.floor(n / 2.0 + 0.5 - z * math.sqrt(n) / 2.0)


def median_ci(
    sorted_samples: Sequence[float] | np.ndarray, confidence: float = 0.95
) -> tuple[float, float]:
    """Distribution-free ``confidence`` interval ``(lo, hi)`` of the median of ``sorted_samples``.

    The samples must be sorted ascending; the bounds are in their unit. See
    ``median_ci_ranks`` for the method. Raises ``InputError`` when empty.
    """
    lo, hi = median_ci_ranks(len(sorted_samples), confidence)
    return float(sorted_samples[lo]), float(sorted_samples[hi])


def latency_stats(
    samples_ns: Sequence[int] | np.ndarray,
    *,
    warmup_iter: int = 0,
    total_time_s: float | None = None,
    stop_reason: str = "max_iters",
    timer: str = "perf_counter_ns",
    max_kept_samples: int = MAX_KEPT_SAMPLES,
) -> LatencyStats:
    """Summarise per-iteration times in nanoseconds as ``LatencyStats`` in milliseconds.

    Quantiles use linear interpolation; ``std_ms`` is the sample standard
    deviation (0 for one sample). ``samples_ms`` keeps the samples in the
    order they were taken, evenly strided down to ``max_kept_samples``;
    ``quantiles_ms`` holds the 0th..100th percentiles of all of them.
    ``total_time_s`` defaults to the sum of the samples. Everything except
    ``samples_ms`` is independent of the order of ``samples_ns``. O(n log n).
    Raises ``InputError`` when there are no samples or one is negative.
    """
    raw = np.asarray(samples_ns, dtype=np.int64)
    if raw.ndim != 1 or raw.size == 0:
        raise InputError("latency statistics need at least one sample")
    if (raw < 0).any():
        raise InputError("latency samples must be non-negative durations")
    if stop_reason not in STOP_REASONS:
        raise InputError(f"unknown stop reason {stop_reason!r}; expected one of {STOP_REASONS}")
    n = raw.size
    ms = np.sort(raw).astype(np.float64) / 1e6
    quantiles = np.quantile(ms, np.linspace(0.0, 1.0, N_QUANTILES))
    # Percentiles are taken from the same 101 quantiles, so p50 here always
    # equals quantiles_ms[50] when a chart draws both.
    ci_lo, ci_hi = median_ci(ms)
    if n > max_kept_samples:
        keep = np.linspace(0, n - 1, max_kept_samples).round().astype(np.int64)
        kept = raw[keep]
    else:
        kept = raw
    return LatencyStats(
        # math.fsum on sorted values: the mean does not depend on sample order.
        mean_ms=math.fsum(ms.tolist()) / n,
        p50_ms=float(quantiles[50]),
        p90_ms=float(quantiles[90]),
        p99_ms=float(quantiles[99]),
        std_ms=float(ms.std(ddof=1)) if n > 1 else 0.0,
        min_ms=float(ms[0]),
        max_ms=float(ms[-1]),
        ci_low_ms=ci_lo,
        ci_high_ms=ci_hi,
        n_iter=int(n),
        warmup_iter=warmup_iter,
        total_time_s=float(total_time_s) if total_time_s is not None else int(raw.sum()) / 1e9,
        stop_reason=stop_reason,
        timer=timer,
        samples_ms=tuple((kept.astype(np.float64) / 1e6).tolist()),
        quantiles_ms=tuple(float(q) for q in quantiles),
    )


def _validate_budget(budget: TimingBudget) -> None:
    problems = []
    if budget.warmup_iters < 0:
        problems.append(f"warmup_iters must be >= 0 (got {budget.warmup_iters})")
    if budget.min_iters < 1:
        problems.append(f"min_iters must be >= 1 (got {budget.min_iters})")
    if budget.max_iters < budget.min_iters:
        problems.append(f"max_iters ({budget.max_iters}) must be >= min_iters ({budget.min_iters})")
    if not 0.0 <= budget.min_time_s <= budget.max_time_s:
        problems.append(
            f"need 0 <= min_time_s <= max_time_s (got {budget.min_time_s}, {budget.max_time_s})"
        )
    if not budget.target_ci_rel > 0.0:
        problems.append(f"target_ci_rel must be > 0 (got {budget.target_ci_rel})")
    if problems:
        raise InputError("invalid timing budget: " + "; ".join(problems))


def _ci_within_target(samples_ns: list[int], target_ci_rel: float) -> bool:
    n = len(samples_ns)
    lo, hi = median_ci_ranks(n)
    if lo == 0 and hi == n - 1 and n < 6:
        return False  # too few samples for a real 95% interval
    mid = (n - 1) // 2
    arr = np.asarray(samples_ns, dtype=np.int64)
    # Selection, not a full sort: O(n) per check.
    part = np.partition(arr, sorted({lo, mid, n - 1 - mid, hi}))
    median = (float(part[mid]) + float(part[n - 1 - mid])) / 2.0
    half_width = (float(part[hi]) - float(part[lo])) / 2.0
    return half_width <= target_ci_rel * median


def measure_latency(
    step: Callable[[], object],
    sync: Callable[[], None] | None,
    budget: TimingBudget,
    *,
    on_window_start: Callable[[], None] | None = None,
    on_window_end: Callable[[int], None] | None = None,
    clock: StepClock | None = None,
) -> LatencyStats:
    """Time ``step`` (plus ``sync`` when given) until the budget's stopping rule holds.

    Runs ``budget.warmup_iters`` untimed iterations, then timed ones. After at
    least ``min_iters`` iterations and ``min_time_s`` seconds it stops as
    soon as the 95% CI of the median has half-width <= ``target_ci_rel`` ×
    median (``stop_reason="ci_target"``), else at ``max_time_s`` seconds of
    timed work (``"max_time"``) or ``max_iters`` iterations (``"max_iters"``);
    the rule is checked between chunks of iterations, so a stop may come up
    to one chunk (about 10 ms, or a tenth of the elapsed time) late.

    ``sync`` must block until queued device work is done: without it an
    asynchronous device would be timed at launch cost. ``on_window_start``
    is called just before the first timed iteration and ``on_window_end``
    (with the number of timed iterations) just after the last, so an energy
    meter can cover exactly the timed window. ``clock``, when given, times
    each step instead of the host clock around ``step`` and ``sync`` (it
    must wait for the device itself). Returns milliseconds. Raises
    ``InputError`` for an invalid budget; exceptions from ``step`` propagate.
    """
    _validate_budget(budget)
    for _ in range(budget.warmup_iters):
        step()
        if sync is not None:
            sync()
    if on_window_start is not None:
        on_window_start()
    samples, stop_reason, window_ns = _timed_loop(step, sync, budget, clock)
    if on_window_end is not None:
        on_window_end(len(samples))
    return latency_stats(
        samples,
        warmup_iter=budget.warmup_iters,
        total_time_s=window_ns / 1e9,
        stop_reason=stop_reason,
        timer=clock.name if clock is not None else "perf_counter_ns",
    )


def _timed_loop(
    step: Callable[[], object],
    sync: Callable[[], None] | None,
    budget: TimingBudget,
    clock: StepClock | None,
) -> tuple[list[int], str, int]:
    """Timed chunks of iterations until the budget's rule stops them.

    Returns the samples (ns), the stop reason and the window's length (ns),
    from just before the first timed iteration to just after the last.
    """
    perf = time.perf_counter_ns
    samples: list[int] = []
    max_time_ns = int(budget.max_time_s * 1e9)
    chunk = 1  # until one iteration has been timed we know nothing of its cost
    start = perf()
    while True:
        chunk = min(chunk, budget.max_iters - len(samples))
        _run_chunk(samples, chunk, step, sync, clock)
        elapsed = perf() - start
        stop_reason = _stop_reason(samples, elapsed, budget)
        if stop_reason is not None:
            break
        chunk = _next_chunk(len(samples), elapsed, max_time_ns)
    end = perf()
    return samples, stop_reason, end - start


def _run_chunk(
    samples: list[int],
    n: int,
    step: Callable[[], object],
    sync: Callable[[], None] | None,
    clock: StepClock | None,
) -> None:
    """Run ``step`` ``n`` times, appending each iteration's time (ns) to ``samples``."""
    perf = time.perf_counter_ns
    append = samples.append
    # Separate copies of the loop so the common no-sync case pays no branch.
    if clock is not None:
        for _ in range(n):
            append(clock(step))
    elif sync is None:
        for _ in range(n):
            t0 = perf()
            step()
            t1 = perf()
            append(t1 - t0)
    else:
        for _ in range(n):
            t0 = perf()
            step()
            sync()
            t1 = perf()
            append(t1 - t0)


def _stop_reason(samples: list[int], elapsed_ns: int, budget: TimingBudget) -> str | None:
    """Why the timed loop stops after ``elapsed_ns`` of timed work, or None to go on."""
    n = len(samples)
    if n >= budget.max_iters:
        return "max_iters"
    if elapsed_ns >= int(budget.max_time_s * 1e9):
        return "max_time"
    if (
        n >= budget.min_iters
        and elapsed_ns >= int(budget.min_time_s * 1e9)
        and _ci_within_target(samples, budget.target_ci_rel)
    ):
        return "ci_target"
    return None


def _next_chunk(n: int, elapsed_ns: int, max_time_ns: int) -> int:
    """How many iterations to run before the stopping rule is checked again."""
    per_iter_ns = max(elapsed_ns / n, 1.0)
    interval_ns = max(_CHECK_INTERVAL_NS, _CHECK_FRACTION * elapsed_ns)
    # Never run past max_time by more than one iteration's worth.
    interval_ns = min(interval_ns, max_time_ns - elapsed_ns + per_iter_ns)
    return int(min(max(interval_ns / per_iter_ns, 1.0), _MAX_CHUNK))
