"""Budget answers equal brute-force searches; the 3-objective frontier equals brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paretoscope.analysis.budget import best_within_budget, budget_answers, cheapest_above_floor
from paretoscope.analysis.frontier import frontier_mask, pareto_mask_bruteforce
from paretoscope.core.errors import InputError
from paretoscope.core.metrics import METRICS

vals = st.sampled_from([0.5, 1.0, 2.0, 3.0, float("nan")])
accs = st.sampled_from([0.8, 0.9, 0.95, float("nan")])


def _frame(rows: list[tuple[float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": [f"r{i:03d}" for i in range(len(rows))],
            "latency_ms_p50": [r[0] for r in rows],
            "accuracy": [r[1] for r in rows],
            "throughput_per_s": [r[2] for r in rows],
        }
    )


def _brute_best(frame: pd.DataFrame, cost: str, limit: float, obj: str) -> str | None:
    best = None
    for _, r in frame.iterrows():
        c, o = r[cost], r[obj]
        if np.isnan(c) or np.isnan(o):
            continue
        if not (c <= limit if METRICS[cost].direction == "lower" else c >= limit):
            continue
        key = (o * METRICS[obj].sign, c * METRICS[cost].sign, r["run_id"])
        if best is None or key < best:
            best = key
    return None if best is None else best[2]


def _brute_cheapest(frame: pd.DataFrame, cost: str, floor: float, obj: str) -> str | None:
    best = None
    for _, r in frame.iterrows():
        c, o = r[cost], r[obj]
        if np.isnan(c) or np.isnan(o) or not o >= floor:
            continue
        key = (c * METRICS[cost].sign, o * METRICS[obj].sign, r["run_id"])
        if best is None or key < best:
            best = key
    return None if best is None else best[2]


rows_st = st.lists(st.tuples(vals, accs, vals), max_size=30)


@settings(max_examples=150, deadline=None)
@given(rows=rows_st, limit=st.sampled_from([0.5, 1.0, 2.5, 10.0]))
def test_best_within_budget_equals_bruteforce(
    rows: list[tuple[float, float, float]], limit: float
) -> None:
    frame = _frame(rows)
    for cost in ("latency_ms_p50", "throughput_per_s"):
        ans = best_within_budget(frame, cost, limit, "accuracy")
        assert ans.run_id == _brute_best(frame, cost, limit, "accuracy")


@settings(max_examples=150, deadline=None)
@given(rows=rows_st, floor=st.sampled_from([0.0, 0.85, 0.9, 0.99]))
def test_cheapest_above_floor_equals_bruteforce(
    rows: list[tuple[float, float, float]], floor: float
) -> None:
    frame = _frame(rows)
    for cost in ("latency_ms_p50", "throughput_per_s"):
        ans = cheapest_above_floor(frame, cost, floor, "accuracy")
        assert ans.run_id == _brute_cheapest(frame, cost, floor, "accuracy")


@settings(max_examples=100, deadline=None)
@given(rows=rows_st)
def test_answers_sit_on_the_2d_frontier(rows: list[tuple[float, float, float]]) -> None:
    frame = _frame(rows)
    on = frontier_mask(frame, ["latency_ms_p50", "accuracy"])
    for ans in (
        best_within_budget(frame, "latency_ms_p50", 2.0),
        cheapest_above_floor(frame, "latency_ms_p50", 0.9),
    ):
        if ans.run is not None:
            # pandas-stubs' .loc takes no Hashable, which is what a row's .name is.
            assert bool(on.loc[ans.run.name])  # type: ignore[call-overload]


def test_no_answer_and_bad_metrics() -> None:
    frame = _frame([(1.0, 0.9, 1.0)])
    ans = best_within_budget(frame, "latency_ms_p50", 0.1)
    assert ans.run is None and ans.n_eligible == 0
    assert "Latency p50 ≤ 0.1 ms" in ans.question
    with pytest.raises(InputError):
        best_within_budget(frame, "accuracy", 0.5, "accuracy")
    with pytest.raises(InputError):
        cheapest_above_floor(frame, "nope", 0.5)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.tuples(vals, accs, vals, st.sampled_from(["a", "b"])), max_size=30))
def test_three_objective_frontier_by_group_equals_bruteforce(
    rows: list[tuple[float, float, float, str]],
) -> None:
    frame = _frame([r[:3] for r in rows])
    frame["runtime"] = [r[3] for r in rows]
    metrics = ["latency_ms_p50", "accuracy", "throughput_per_s"]
    got = frontier_mask(frame, metrics, by="runtime").to_numpy()
    want = np.zeros(len(frame), dtype=bool)
    for g in ("a", "b"):
        idx = np.flatnonzero(frame["runtime"].to_numpy() == g)
        pts = frame.iloc[idx][metrics].to_numpy(dtype=float)
        want[idx] = pareto_mask_bruteforce(pts, [METRICS[m].sign for m in metrics])
    assert (got == want).all()


def test_the_runner_up_within_noise_is_said() -> None:
    frame = pd.DataFrame(
        {
            "run_id": ["win", "close", "far"],
            "latency_ms_p50": [1.0, 1.1, 1.2],
            "latency_ms_p50_ci_low": [0.9, 1.0, 1.1],
            "latency_ms_p50_ci_high": [1.1, 1.2, 1.3],
            "accuracy": [0.95, 0.94, 0.80],
            "accuracy_ci_low": [0.93, 0.92, 0.76],
            "accuracy_ci_high": [0.97, 0.96, 0.84],
        }
    )
    ans = best_within_budget(frame, "latency_ms_p50", 2.0)
    assert ans.run_id == "win" and ans.runner_up is not None
    assert ans.runner_up["run_id"] == "close" and ans.within_noise
    assert ans.answered == "accuracy"
    apart = frame.drop(index=1)
    ans = best_within_budget(apart, "latency_ms_p50", 2.0)
    assert ans.runner_up is not None and ans.runner_up["run_id"] == "far"
    assert not ans.within_noise
    # The floor answers latency: win and close overlap there too.
    floor = cheapest_above_floor(frame, "latency_ms_p50", 0.9)
    assert floor.run_id == "win" and floor.within_noise and floor.answered == "latency_ms_p50"
    only = best_within_budget(frame, "latency_ms_p50", 1.05)
    assert only.runner_up is None and not only.within_noise


def test_budget_answers_never_rank_two_groups_together() -> None:
    frame = pd.DataFrame(
        {
            "run_id": ["cpu", "gpu"],
            "latency_ms_p50": [1.0, 0.5],
            "accuracy": [0.9, 0.99],
        }
    )
    groups = pd.Series(["Xeon", "H100"])
    answers = budget_answers(frame, groups, "latency_ms_p50", "accuracy", limit=2.0)
    assert [(a.group, a.run_id, a.runner_up) for a in answers] == [
        ("H100", "gpu", None),
        ("Xeon", "cpu", None),
    ]
