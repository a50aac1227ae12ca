"""The demo's repeats: runs of fewer repeats or less time are measured again; refusals."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from measure.repeats import repeat_budget
from paretoscope.core.errors import InputError
from paretoscope.core.records import RunRecord
from paretoscope.profiling.demo import FULL_BUDGET, QUICK_BUDGET, _measured_keys, run_demo
from store import Store
from tests.factories import HOST, make_record


def _demo_run(repeats: int, budget_repeats: int | None = None) -> RunRecord:
    rec = make_record()
    spec = rec.spec
    spec = dataclasses.replace(
        spec,
        model=dataclasses.replace(spec.model, source="demo"),
        budget=repeat_budget(FULL_BUDGET, budget_repeats or repeats),
        repeats=repeats,
    )
    return dataclasses.replace(rec, spec=spec)


@pytest.mark.parametrize(
    ("stored", "wanted", "counts"),
    [
        (3, 3, True),  # the same demo again: nothing to do
        (5, 3, True),  # more repeats than asked, the same total time
        (1, 3, False),  # one process: its CI understates the spread; measure again
        (3, 1, True),
    ],
)
def test_a_run_counts_as_measured_with_enough_repeats_and_time(
    tmp_path: Path, stored: int, wanted: int, counts: bool
) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.ingest(_demo_run(stored))
    keys = _measured_keys(store, HOST.host_id, FULL_BUDGET, wanted)
    assert bool(keys) is counts


def test_a_repeat_with_a_short_share_of_the_time_does_not_count(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    # Three repeats that each had a fifth of the budget: 60% of the time in all.
    store.ingest(_demo_run(3, budget_repeats=5))
    assert _measured_keys(store, HOST.host_id, FULL_BUDGET, 3) == set()
    assert _measured_keys(store, HOST.host_id, QUICK_BUDGET, 3) != set()


@pytest.mark.parametrize("repeats", [0, 21])
def test_repeats_out_of_range_are_refused_before_anything_runs(
    tmp_path: Path, repeats: int
) -> None:
    store = Store(tmp_path / "s.duckdb")
    with pytest.raises(InputError, match="repeats must be from 1 to 20"):
        run_demo(store, quick=True, repeats=repeats)
    assert store.run_count() == 0
