"""Decisions: parsing, feasibility, ranking, noise and near-misses (analysis.decide)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from paretoscope.analysis.decide import (
    Constraint,
    Decision,
    Objective,
    Where,
    decide,
    default_baseline,
    pooling_note,
    where_mask,
)
from paretoscope.core.errors import InputError
from paretoscope.core.metrics import METRICS, Metric


def runs() -> pd.DataFrame:
    """Six runs: latency with intervals, accuracy with intervals, memory missing on one."""
    return pd.DataFrame(
        {
            "run_id": ["a", "b", "c", "d", "e", "f"],
            "model": ["m1", "m2", "m3", "m4", "m5", "m6"],
            "runtime": ["ort", "ort", "torch", "torch", "ort", "ort"],
            "device_name": ["GPU X", "GPU X", "GPU X", "CPU Y", "GPU X", "GPU X"],
            "batch_size": [1, 1, 8, 1, 1, 32],
            "accuracy": [0.99, 0.97, 0.98, 0.995, 0.90, 0.975],
            "accuracy_ci_low": [0.98, 0.96, 0.97, 0.99, 0.88, 0.96],
            "accuracy_ci_high": [0.995, 0.98, 0.985, 0.999, 0.92, 0.985],
            "latency_ms_p99": [30.0, 10.0, 15.0, 5.0, 2.0, 12.0],
            "latency_ms_p50": [20.0, 5.0, 9.0, 3.0, 1.0, 8.0],
            "latency_ms_p50_ci_low": [19.0, 4.9, 8.9, 2.9, 0.9, 7.9],
            "latency_ms_p50_ci_high": [21.0, 5.1, 9.1, 3.1, 1.1, 8.1],
            "peak_mem_mb": [100.0, 150.0, 300.0, 50.0, 10.0, np.nan],
            "throughput_per_s": [50.0, 200.0, 888.0, 333.0, 1000.0, 4000.0],
        }
    )


def test_constraints_parse_and_print_back() -> None:
    c = Constraint.parse("latency_ms_p99<=20")
    assert (c.metric, c.op, c.limit) == ("latency_ms_p99", "<=", 20.0)
    assert c.text() == "latency_ms_p99<=20"
    assert Constraint.parse(" accuracy >= 0.97 ") == Constraint("accuracy", ">=", 0.97)
    assert Constraint.parse("peak_mem_mb=<200").op == "<="


@pytest.mark.parametrize(
    "text", ["latency_ms_p99<20", "latency_ms_p99", "latency_ms_p99<=x", "<=3", "accuracy>=nan"]
)
def test_malformed_constraints_are_bad_input(text: str) -> None:
    with pytest.raises(InputError):
        Constraint.parse(text)


def test_unknown_metric_names_close_keys() -> None:
    with pytest.raises(InputError, match="Did you mean latency_ms_p99"):
        Constraint.parse("latency_p99<=3")


def test_where_accepts_by_fields_only() -> None:
    assert Where.parse("device_name=NVIDIA H200") == Where("device_name", "NVIDIA H200")
    assert Where.parse("dim_seq=128").numeric
    with pytest.raises(InputError, match="cannot filter on 'gpu'"):
        Where.parse("gpu=x")
    with pytest.raises(InputError):
        Where.parse("batch_size=big")
    with pytest.raises(InputError):
        Where.parse("no-equals-sign")


def test_feasible_runs_are_ranked_and_the_first_recommended() -> None:
    d = Decision(
        require=(Constraint.parse("latency_ms_p99<=20"), Constraint.parse("accuracy>=0.97")),
        objective=Objective("throughput_per_s", "max"),
    )
    result = decide(runs(), d)
    # f (4000/s) breaks no constraint; a is too slow; e is not accurate enough.
    assert list(result.feasible["run_id"]) == ["f", "c", "d", "b"]
    assert result.recommended_id == "f"
    assert result.pool == 6 and result.n_infeasible == 2
    assert "no stored interval" in result.noise_note


def test_a_run_missing_a_constrained_metric_is_not_feasible() -> None:
    d = Decision(require=(Constraint.parse("peak_mem_mb<=1000"),), objective=Objective("accuracy"))
    result = decide(runs(), d)
    assert "f" not in set(result.feasible["run_id"])
    miss = next(m for m in result.near_misses if m.run_id == "f")
    assert miss.violations[0].metric == "peak_mem_mb" and miss.violations[0].value is None


def test_a_run_missing_the_objective_is_not_feasible() -> None:
    frame = runs()
    frame.loc[frame["run_id"] == "d", "accuracy"] = np.nan
    result = decide(frame, Decision(objective=Objective("accuracy")))
    assert result.recommended_id == "a"
    miss = next(m for m in result.near_misses if m.run_id == "d")
    assert miss.violations[0].op is None and miss.violations[0].limit is None


def test_filters_combine_with_and() -> None:
    d = Decision(
        where=(Where("device_name", "GPU X"), Where("runtime", "ort")),
        objective=Objective("latency_ms_p50", "min"),
    )
    result = decide(runs(), d)
    assert result.pool == 4 and result.recommended_id == "e"
    numeric = decide(runs(), Decision(where=(Where("batch_size", "8"),)))
    assert list(numeric.feasible["run_id"]) == ["c"]
    assert not where_mask(runs(), [Where("dim_seq", "1")]).any()


def test_runners_up_within_noise_overlap_the_recommendation() -> None:
    result = decide(runs(), Decision(objective=Objective("accuracy", "max")))
    # d [0.99, 0.999] overlaps a [0.98, 0.995], not c [0.97, 0.985] (closed intervals).
    assert result.recommended_id == "d"
    assert set(result.within_noise) == {"a"}
    assert "95% interval" in result.noise_note


def test_lexicographic_second_objective_breaks_ties() -> None:
    frame = runs()
    frame["accuracy"] = 0.99
    d = Decision(objective=Objective("accuracy"), then=Objective("latency_ms_p50", "min"))
    assert decide(frame, d).recommended_id == "e"
    with pytest.raises(InputError):
        Decision(objective=Objective("accuracy"), then=Objective("accuracy", "min"))


def test_nothing_feasible_gives_near_misses_closest_first() -> None:
    d = Decision(
        require=(Constraint.parse("latency_ms_p99<=4"), Constraint.parse("accuracy>=0.99")),
        objective=Objective("accuracy"),
    )
    result = decide(runs(), d)
    assert result.recommended is None and result.feasible.empty
    first = result.near_misses[0]
    # d misses only latency, by 1 ms of 4 (25%); e misses accuracy by 0.09 (9%) -> e is closer.
    assert first.run_id == "e"
    (v,) = first.violations
    assert (v.metric, v.op, v.limit, v.value) == ("accuracy", ">=", 0.99, 0.9)
    assert v.by == pytest.approx(0.09)
    assert [m.run_id for m in result.near_misses][1] == "d"


def test_a_metric_registered_later_is_usable(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "server_max_qps_at_p99"
    monkeypatch.setitem(METRICS, key, Metric(key, "Max QPS", "1/s", "higher", "test"))
    frame = runs()
    frame[key] = [10.0, 20.0, 30.0, 40.0, 50.0, math.nan]
    d = Decision(require=(Constraint.parse(f"{key}>=25"),), objective=Objective(key, "max"))
    result = decide(frame, d)
    assert list(result.feasible["run_id"]) == ["e", "d", "c"]
    # Registered but not in the frame: nothing measured it, nothing is feasible.
    assert decide(runs(), d).recommended is None


def test_the_frame_is_not_modified_and_the_question_reads() -> None:
    frame = runs()
    before = frame.copy()
    d = Decision(
        require=(Constraint.parse("latency_ms_p99<=20"),),
        where=(Where("runtime", "ort"),),
        objective=Objective("throughput_per_s", "max"),
    )
    decide(frame, d)
    pd.testing.assert_frame_equal(frame, before)
    assert d.question() == (
        "Which run maximises throughput with latency_ms_p99 <= 20, among runs with runtime = ort?"
    )
    assert default_baseline(frame) == "d"


def test_a_ranking_across_device_names_says_so_and_one_device_is_silent() -> None:
    # A decision ranks what its filters keep; across machines it must say it (no silent
    # pooling), and name a filter that narrows it.
    mixed = decide(runs(), Decision(objective=Objective("accuracy")))
    note = pooling_note(mixed)
    assert "2 device names (CPU Y, GPU X)" in note and "device_name=" in note
    one = Decision(where=(Where.parse("device_name=GPU X"),), objective=Objective("accuracy"))
    assert pooling_note(decide(runs(), one)) == ""
