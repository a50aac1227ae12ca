"""store.bulk: the columnar path stores what the spooled ingest stores, idempotently."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from paretoscope.core.records import EnergyStats
from store import Store
from store.bulk import bulk_ingest
from tests.factories import make_record


def _records() -> list:
    return [
        make_record(model="a", latency_ms=1.0, accuracy=0.9),
        make_record(model="b", latency_ms=None, accuracy=0.8, runtime="torch"),
        make_record(model="c", accuracy=None, energy=EnergyStats(0.5, 0.01, 12.0, "rapl")),
        make_record(model="d", status="failed", error="boom", latency_ms=None, accuracy=None),
        make_record(model="e", parent_model_id="abc", precision="int8"),
    ]


def test_bulk_rows_equal_spooled_rows(tmp_path: Path) -> None:
    recs = _records()
    slow, fast = Store(tmp_path / "slow.duckdb"), Store(tmp_path / "fast.duckdb")
    slow.ingest_many(recs)
    assert bulk_ingest(fast, recs) == len(recs)
    for rec in recs:
        assert fast.get_record(rec.run_id) == slow.get_record(rec.run_id) == rec
    cols = [c for c in slow.runs_frame(None).columns if c not in ("started_at", "finished_at")]
    a = slow.runs_frame(None)[cols].sort_values("run_id").reset_index(drop=True)
    b = fast.runs_frame(None)[cols].sort_values("run_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_bulk_is_idempotent_and_mixes_with_ingest(tmp_path: Path) -> None:
    recs = _records()
    store = Store(tmp_path / "s.duckdb")
    store.ingest(recs[0])
    assert bulk_ingest(store, recs + recs) == len(recs) - 1
    assert bulk_ingest(store, recs) == 0
    assert bulk_ingest(store, []) == 0
    assert store.run_count() == len(recs)
