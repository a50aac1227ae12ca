"""Tests of the latency harness: the median's interval, the statistics and the stopping rule."""

from __future__ import annotations

import random
import time
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from measure.timing import (
    MAX_KEPT_SAMPLES,
    _exact_k,
    _normal_k,
    latency_stats,
    measure_latency,
    median_ci,
    median_ci_ranks,
)
from paretoscope.core.errors import InputError
from paretoscope.core.records import TimingBudget

durations = st.lists(st.integers(min_value=0, max_value=10**10), min_size=1, max_size=400)


def test_ranks_match_published_tables() -> None:
    # Conover's table of order statistics for the median at 95%: n=10 → x(2), x(9);
    # n=30 → x(10), x(21); n=100 → x(40), x(61). Ranks here are 0-based.
    assert median_ci_ranks(10) == (1, 8)
    assert median_ci_ranks(30) == (9, 20)
    assert median_ci_ranks(100) == (39, 60)


def test_too_few_samples_give_the_full_range() -> None:
    assert median_ci_ranks(1) == (0, 0)
    assert median_ci_ranks(5) == (0, 4)  # less than 95%: no narrower interval exists


def test_normal_approximation_agrees_with_exact_where_they_meet() -> None:
    for n in range(800, 1001, 7):
        assert abs(_exact_k(n, 0.95) - _normal_k(n, 0.95)) <= 1


@pytest.mark.parametrize("bad", [0.0, 1.0, -0.5, 1.5])
def test_confidence_outside_unit_interval_is_rejected(bad: float) -> None:
    with pytest.raises(InputError, match="confidence"):
        median_ci_ranks(10, bad)


@given(durations)
def test_interval_contains_the_sample_median(samples: list[int]) -> None:
    ordered = sorted(samples)
    lo, hi = median_ci(ordered)
    assert lo <= float(np.median(ordered)) <= hi


@pytest.mark.parametrize("n", [9, 31, 200, 1500])
def test_interval_coverage_is_about_95_percent(n: int) -> None:
    # Skewed, heavy-tailed data like real latencies; the true median of a
    # lognormal(0, 1) is exactly 1.
    rng = np.random.default_rng(n)
    reps = 4000
    draws = np.sort(rng.lognormal(0.0, 1.0, size=(reps, n)), axis=1)
    lo, hi = median_ci_ranks(n)
    covered = (draws[:, lo] <= 1.0) & (draws[:, hi] >= 1.0)
    coverage = covered.mean()
    # Order-statistic intervals are conservative (coverage >= 95% up to the
    # normal approximation's error); 4000 reps give a standard error of ~0.35%.
    assert 0.935 <= coverage <= 0.995, coverage


@given(durations, st.randoms(use_true_random=False))
def test_statistics_do_not_depend_on_sample_order(samples: list[int], rnd: random.Random) -> None:
    shuffled = list(samples)
    rnd.shuffle(shuffled)
    a = latency_stats(samples, total_time_s=1.0)
    b = latency_stats(shuffled, total_time_s=1.0)
    for field in (
        "mean_ms",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "std_ms",
        "min_ms",
        "max_ms",
        "ci_low_ms",
        "ci_high_ms",
        "n_iter",
        "quantiles_ms",
    ):
        assert getattr(a, field) == pytest.approx(getattr(b, field), rel=1e-12), field


@given(durations)
def test_percentiles_are_ordered_and_bounded(samples: list[int]) -> None:
    s = latency_stats(samples)
    assert s.min_ms <= s.p50_ms <= s.p90_ms <= s.p99_ms <= s.max_ms
    assert s.ci_low_ms <= s.p50_ms <= s.ci_high_ms
    assert s.min_ms <= s.mean_ms <= s.max_ms or np.isclose(s.mean_ms, s.min_ms)
    assert len(s.quantiles_ms) == 101
    assert s.quantiles_ms[0] == s.min_ms and s.quantiles_ms[-1] == s.max_ms
    assert s.quantiles_ms[50] == s.p50_ms
    assert all(a <= b for a, b in zip(s.quantiles_ms, s.quantiles_ms[1:], strict=False))
    assert s.n_iter == len(samples)


def test_units_are_milliseconds() -> None:
    s = latency_stats([1_000_000, 2_000_000, 3_000_000])
    assert (s.min_ms, s.p50_ms, s.max_ms, s.mean_ms) == (1.0, 2.0, 3.0, 2.0)
    assert s.total_time_s == pytest.approx(0.006)
    assert s.timer == "perf_counter_ns"


@settings(max_examples=20)
@given(st.integers(min_value=MAX_KEPT_SAMPLES + 1, max_value=20_000))
def test_kept_samples_are_capped_and_keep_time_order(n: int) -> None:
    samples = list(range(n))  # increasing, so time order is visible
    s = latency_stats(samples)
    assert len(s.samples_ms) == MAX_KEPT_SAMPLES
    assert s.samples_ms[0] == 0.0 and s.samples_ms[-1] == (n - 1) / 1e6
    assert list(s.samples_ms) == sorted(s.samples_ms)
    assert len(set(s.samples_ms)) == MAX_KEPT_SAMPLES  # evenly strided, no repeats


def test_empty_or_negative_samples_are_rejected() -> None:
    with pytest.raises(InputError, match="at least one sample"):
        latency_stats([])
    with pytest.raises(InputError, match="non-negative"):
        latency_stats([5, -1])


def _busy(us: float) -> None:
    end = time.perf_counter_ns() + int(us * 1000)
    while time.perf_counter_ns() < end:
        pass


def test_steady_step_stops_on_the_ci_target() -> None:
    budget = TimingBudget(
        warmup_iters=5,
        min_iters=30,
        max_iters=100_000,
        min_time_s=0.02,
        max_time_s=3.0,
        target_ci_rel=0.05,
    )
    s = measure_latency(lambda: _busy(50), None, budget)
    assert s.stop_reason == "ci_target"
    assert s.n_iter >= 30 and s.total_time_s >= 0.02
    assert (s.ci_high_ms - s.ci_low_ms) / 2 <= 0.05 * s.p50_ms
    assert 0.045 <= s.p50_ms <= 0.5


def test_max_iters_stops_exactly() -> None:
    budget = TimingBudget(
        warmup_iters=0,
        min_iters=1,
        max_iters=77,
        min_time_s=0.0,
        max_time_s=10.0,
        target_ci_rel=1e-12,
    )
    s = measure_latency(lambda: None, None, budget)
    assert (s.stop_reason, s.n_iter) == ("max_iters", 77)


def test_max_time_stops_without_overshooting_on_a_slow_step() -> None:
    # 20 ms per iteration, 0.1 s allowed: the chunking must not run 30 of them.
    budget = TimingBudget(
        warmup_iters=1,
        min_iters=30,
        max_iters=100_000,
        min_time_s=0.0,
        max_time_s=0.1,
        target_ci_rel=1e-12,
    )
    s = measure_latency(lambda: time.sleep(0.02), None, budget)
    assert s.stop_reason == "max_time"
    assert 0.1 <= s.total_time_s < 0.2
    assert 4 <= s.n_iter <= 9


def test_warmup_sync_and_window_hooks() -> None:
    calls = {"step": 0, "sync": 0}
    window: list[object] = []

    def step() -> None:
        calls["step"] += 1

    def sync() -> None:
        calls["sync"] += 1

    budget = TimingBudget(
        warmup_iters=7,
        min_iters=1,
        max_iters=50,
        min_time_s=0.0,
        max_time_s=10.0,
        target_ci_rel=1e-12,
    )
    s = measure_latency(
        step,
        sync,
        budget,
        on_window_start=lambda: window.append(("start", calls["step"])),
        on_window_end=lambda n: window.append(("end", n, calls["step"])),
    )
    assert s.warmup_iter == 7 and s.n_iter == 50
    assert calls == {"step": 57, "sync": 57}
    assert window == [("start", 7), ("end", 50, 57)]


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"min_iters": 0}, "min_iters"),
        ({"max_iters": 5, "min_iters": 10}, "max_iters"),
        ({"min_time_s": 3.0, "max_time_s": 1.0}, "min_time_s"),
        ({"target_ci_rel": 0.0}, "target_ci_rel"),
        ({"warmup_iters": -1}, "warmup_iters"),
    ],
)
def test_invalid_budgets_are_rejected(changes: dict[str, Any], match: str) -> None:
    budget = TimingBudget(**changes)
    with pytest.raises(InputError, match=match):
        measure_latency(lambda: None, None, budget)


def test_step_exceptions_propagate() -> None:
    def boom() -> None:
        raise ZeroDivisionError("x")

    with pytest.raises(ZeroDivisionError):
        measure_latency(boom, None, TimingBudget(warmup_iters=0))
