"""Laws of the Pareto frontier, checked against a brute-force reference."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from paretoscope.analysis.frontier import frontier_mask, pareto_mask, pareto_mask_bruteforce
from paretoscope.core.errors import InputError

# Small integer grids make ties and duplicates common; NaN is sprinkled in.
values = st.floats(min_value=0, max_value=4, allow_nan=False).map(round) | st.just(float("nan"))


def point_sets(k: int) -> st.SearchStrategy[np.ndarray]:
    return st.integers(0, 40).flatmap(lambda n: arrays(np.float64, (n, k), elements=values))


def senses(k: int) -> st.SearchStrategy[list[int]]:
    return st.lists(st.sampled_from([1, -1]), min_size=k, max_size=k)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_matches_bruteforce(k: int, data: st.DataObject) -> None:
    pts = data.draw(point_sets(k))
    sg = data.draw(senses(k))
    assert (pareto_mask(pts, sg) == pareto_mask_bruteforce(pts, sg)).all()


@pytest.mark.parametrize("k", [2, 3, 4])
@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_laws(k: int, data: st.DataObject) -> None:
    pts = data.draw(point_sets(k))
    mask = pareto_mask(pts)
    finite = ~np.isnan(pts).any(axis=1) if len(pts) else np.zeros(0, bool)
    front = pts[mask]
    # Nothing on the frontier is dominated by anything.
    for p in front:
        for q in pts[finite]:
            assert not ((q <= p).all() and (q < p).any())
    # Everything finite off the frontier is dominated by something on it.
    for p in pts[finite & ~mask]:
        assert any((q <= p).all() and (q < p).any() for q in front)
    # NaN never sits on a frontier.
    assert not (mask & ~finite).any()
    # Row order does not matter.
    perm = np.random.default_rng(0).permutation(len(pts))
    assert (pareto_mask(pts[perm]) == mask[perm]).all()


def test_ties_both_stay() -> None:
    pts = np.array([[1.0, 1.0], [1.0, 1.0], [2.0, 2.0]])
    assert pareto_mask(pts).tolist() == [True, True, False]


def test_higher_is_better_sense() -> None:
    # x: latency (lower), y: accuracy (higher)
    pts = np.array([[1.0, 0.9], [2.0, 0.95], [3.0, 0.94], [0.5, 0.5]])
    assert pareto_mask(pts, [1, -1]).tolist() == [True, True, False, True]


def test_empty_and_all_nan() -> None:
    assert pareto_mask(np.zeros((0, 2))).tolist() == []
    assert pareto_mask(np.full((3, 2), np.nan)).tolist() == [False] * 3


def test_frontier_mask_uses_registry_directions_and_groups() -> None:
    frame = pd.DataFrame(
        {
            "latency_ms_p50": [1.0, 2.0, 3.0, 1.0, 2.0],
            "accuracy": [0.90, 0.95, 0.94, 0.80, 0.99],
            "runtime": ["ort", "ort", "ort", "torch", "torch"],
        }
    )
    assert frontier_mask(frame, ["latency_ms_p50", "accuracy"]).tolist() == [
        True, False, False, False, True,
    ]  # fmt: skip
    by = frontier_mask(frame, ["latency_ms_p50", "accuracy"], by="runtime")
    assert by.tolist() == [True, True, False, True, True]


def test_frontier_mask_unknown_metric() -> None:
    with pytest.raises(InputError, match="unknown metric"):
        frontier_mask(pd.DataFrame({"a": [1]}), ["a", "accuracy"])
