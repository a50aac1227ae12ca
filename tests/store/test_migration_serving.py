"""Migration 8 adds the serving costs: NULL for runs of older stores, kept for new ones."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from measure.timing import latency_stats
from paretoscope.core.records import RunRecord, ServingStats
from paretoscope.present.runtable import RUN_COLUMNS, run_table
from store import migrations
from store.store import Store
from tests.factories import make_record
from tests.store.old_schema import store_at_version

SERVING_COLUMNS = [
    "load_ms",
    "first_run_ms",
    "latency_e2e_ms_p50",
    "latency_e2e_ms_p90",
    "latency_e2e_ms_p99",
    "latency_e2e_ms_p50_ci_low",
    "latency_e2e_ms_p50_ci_high",
    "serving_unavailable_reason",
]


def _served(run_id: str) -> RunRecord:
    e2e = latency_stats(
        [2_000_000 + 1000 * i for i in range(50)],
        warmup_iter=10,
        total_time_s=0.1,
        stop_reason="ci_target",
        timer="perf_counter_ns",
    )
    serving = ServingStats(load_ms=12.5, first_run_ms=3.25, e2e=e2e)
    return dataclasses.replace(make_record(run_id=run_id), serving=serving)


def test_an_old_store_opens_with_no_serving_figures(tmp_path: Path) -> None:
    path = tmp_path / "v7.duckdb"
    store_at_version(path, make_record(run_id="old"), 7)
    store = Store(path)
    assert store.schema_version() == migrations.MIGRATIONS[-1].version >= 8
    frame = store.runs_frame()
    row = frame.iloc[0]
    for col in SERVING_COLUMNS:
        assert col in frame.columns
        assert row[col] is None or row[col] != row[col], col  # None or NaN
    old = store.get_record("old")
    assert old is not None and old.serving is None
    # A new run in the migrated store keeps its figures, and reads back whole.
    store.ingest(_served("new"))
    new = store.get_record("new")
    assert new is not None and new.serving == _served("new").serving
    got = store.runs_frame().set_index("run_id").loc["new"]
    assert got["load_ms"] == 12.5 and got["first_run_ms"] == 3.25
    assert new.serving is not None and new.serving.e2e is not None
    assert got["latency_e2e_ms_p50"] == new.serving.e2e.p50_ms
    assert got["latency_e2e_ms_p50_ci_low"] <= got["latency_e2e_ms_p50"]
    assert got["latency_e2e_ms_p50"] <= got["latency_e2e_ms_p50_ci_high"]


def test_serving_columns_come_last_in_runs_output(tmp_path: Path) -> None:
    """Added at the end: every column that was there before keeps its place."""
    start = RUN_COLUMNS.index("accuracy_ci_high") + 1  # the last column before issue 14
    assert list(RUN_COLUMNS[start : start + len(SERVING_COLUMNS)]) == SERVING_COLUMNS
    store = Store(tmp_path / "s.duckdb")
    store.ingest(_served("r1"))
    table = run_table(store.runs_frame())
    assert list(table.columns) == list(RUN_COLUMNS)
    assert table.iloc[0]["load_ms"] == 12.5
