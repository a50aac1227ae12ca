"""Tests of combining a run's repeats: the CI between processes, pooled statistics, the record."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from measure.repeats import combine_repeats, repeat_budget, repeats_latency
from measure.timing import latency_stats
from paretoscope.core.errors import InputError
from paretoscope.core.records import EnergyStats, LatencyStats, MemoryStats, TimingBudget
from tests.factories import make_record


def _lat(samples_ns: list[int], stop: str = "ci_target") -> LatencyStats:
    return latency_stats(samples_ns, stop_reason=stop, warmup_iter=3)


def _shifted(rng: np.random.Generator, centre_ns: float, n: int) -> list[int]:
    return [int(v) for v in rng.normal(centre_ns, centre_ns * 0.01, n).clip(1)]


def test_three_repeats_give_a_t_interval_over_their_medians() -> None:
    rng = np.random.default_rng(0)
    parts = [_lat(_shifted(rng, c, 500)) for c in (1_000_000, 1_050_000, 1_020_000)]
    combined = repeats_latency(parts)
    medians = np.array([p.p50_ms for p in parts])
    expected = stats.t.interval(0.95, 2, loc=medians.mean(), scale=stats.sem(medians))
    assert combined.ci_low_ms == pytest.approx(expected[0])
    assert combined.ci_high_ms == pytest.approx(expected[1])
    assert combined.p50_ms == pytest.approx(float(np.median(medians)))
    assert combined.ci_scope == "between-repeats"
    assert [r.p50_ms for r in combined.repeats] == [p.p50_ms for p in parts]
    # Wider than any one process claims: the processes disagree by ~5%.
    assert all(
        combined.ci_high_ms - combined.ci_low_ms > 3 * (p.ci_high_ms - p.ci_low_ms) for p in parts
    )


def test_pooled_statistics_match_the_pooled_samples() -> None:
    rng = np.random.default_rng(1)
    raw = [_shifted(rng, c, n) for c, n in ((1_000_000, 300), (1_200_000, 700), (900_000, 500))]
    combined = repeats_latency([_lat(r) for r in raw])
    pooled = latency_stats([v for r in raw for v in r])
    assert combined.n_iter == 1500 and combined.warmup_iter == 9
    assert combined.mean_ms == pytest.approx(pooled.mean_ms, rel=1e-12)
    assert combined.std_ms == pytest.approx(pooled.std_ms, rel=1e-9)
    assert (combined.min_ms, combined.max_ms) == (pooled.min_ms, pooled.max_ms)
    # Quantiles read off the repeats' own 101 quantiles: within a percentile step.
    step = (pooled.max_ms - pooled.min_ms) / 100
    for got, want in zip(combined.quantiles_ms, pooled.quantiles_ms, strict=True):
        assert abs(got - want) <= step
    assert combined.p90_ms == combined.quantiles_ms[90]
    assert len(combined.samples_ms) == 1500


def test_one_repeat_is_unchanged_and_none_is_refused() -> None:
    part = _lat(list(range(1000, 2000)))
    assert repeats_latency([part]) is part
    with pytest.raises(InputError):
        repeats_latency([])


def test_stop_reason_is_ci_target_only_when_every_repeat_reached_it() -> None:
    ok, slow = _lat([1000] * 50), _lat([1000] * 50, stop="max_time")
    assert repeats_latency([ok, ok]).stop_reason == "ci_target"
    combined = repeats_latency([ok, slow, ok])
    assert combined.stop_reason == "max_time"
    assert [r.stop_reason for r in combined.repeats] == ["ci_target", "max_time", "ci_target"]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.01, 100.0), min_size=2, max_size=9))
def test_the_interval_always_holds_the_combined_median_and_every_repeat(
    medians: list[float],
) -> None:
    parts = [_lat([round(m * 1e6)] * 7) for m in medians]
    combined = repeats_latency(parts)
    assert combined.ci_low_ms <= combined.p50_ms <= combined.ci_high_ms
    for p in parts:
        assert combined.ci_low_ms <= p.p50_ms <= combined.ci_high_ms
    assert not math.isnan(combined.ci_low_ms)


def test_repeat_budget_splits_the_time_not_the_rules() -> None:
    budget = TimingBudget(warmup_iters=10, min_iters=30, min_time_s=0.3, max_time_s=1.5)
    each = repeat_budget(budget, 3)
    assert (each.min_time_s, each.max_time_s) == pytest.approx((0.1, 0.5))
    assert (each.warmup_iters, each.min_iters, each.target_ci_rel) == (10, 30, 0.01)
    assert repeat_budget(budget, 1) is budget
    with pytest.raises(InputError):
        repeat_budget(budget, 0)


def test_combined_record_keeps_the_first_accuracy_the_top_memory_and_all_energy() -> None:
    base = make_record()
    assert base.latency is not None and base.accuracy
    records = []
    for k, (peak, host, joules) in enumerate(
        ((100.0, 120.0, 2.0), (140.0, 130.0, 4.0), (90.0, 150.0, 3.0))
    ):
        lat = _lat([1_000_000 + 10_000 * k] * 100)
        records.append(
            dataclasses.replace(
                base,
                latency=lat,
                accuracy=base.accuracy if k == 0 else (),
                memory=MemoryStats(peak, 50.0 + k, "vmhwm", peak_host_mem_mb=host),
                energy=EnergyStats(joules, None, None, "rapl", window_s=1.0),
                finished_at=f"2026-01-01T00:00:0{k}Z",
            )
        )
    combined = combine_repeats(records)
    assert combined.accuracy == base.accuracy
    assert combined.memory is not None
    assert (combined.memory.peak_mem_mb, combined.memory.baseline_mem_mb) == (140.0, 51.0)
    assert combined.memory.peak_host_mem_mb == 150.0
    assert combined.energy is not None and combined.energy.energy_j == pytest.approx(9.0)
    assert combined.energy.energy_j_per_item == pytest.approx(9.0 / (300 * base.spec.batch_size))
    assert combined.energy.avg_power_w == pytest.approx(3.0)
    assert combined.finished_at == records[-1].finished_at
    assert combined.latency is not None and len(combined.latency.repeats) == 3
    assert combined.throughput_per_s == pytest.approx(
        base.spec.batch_size / (combined.latency.p50_ms / 1000)
    )


def test_energy_is_unavailable_unless_every_repeat_has_it() -> None:
    base = make_record()
    lat = _lat([1_000_000] * 100)
    have = dataclasses.replace(base, latency=lat, energy=EnergyStats(1.0, None, None, "rapl"))
    lack = dataclasses.replace(base, latency=lat, energy=EnergyStats.unavailable("no RAPL"))
    combined = combine_repeats([have, lack])
    assert combined.energy is not None and combined.energy.energy_j is None
    assert combined.energy.unavailable_reason == "repeat 2 of 2: no RAPL"


def test_failed_records_are_not_combined() -> None:
    ok = make_record()
    failed = dataclasses.replace(ok, status="failed", latency=None, error="boom")
    with pytest.raises(InputError):
        combine_repeats([ok, failed])


def test_a_combined_record_round_trips_through_the_store(tmp_path: Path) -> None:
    from store import Store

    base = make_record()
    parts = [
        dataclasses.replace(base, latency=_lat([1_000_000 + 20_000 * k] * 50)) for k in range(3)
    ]
    combined = combine_repeats(parts)
    store = Store(tmp_path / "s.duckdb")
    store.ingest(combined)
    (back,) = store.records([combined.run_id])
    assert back.latency is not None and combined.latency is not None
    assert back.latency.repeats == combined.latency.repeats
    assert back.latency.ci_scope == "between-repeats"
    assert (back.latency.ci_low_ms, back.latency.ci_high_ms) == (
        combined.latency.ci_low_ms,
        combined.latency.ci_high_ms,
    )
