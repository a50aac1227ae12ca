"""Migration 6 moves legacy memory figures honestly and adds the columns that keep runs apart."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pytest

from paretoscope.core.intervals import wilson_interval
from paretoscope.core.legacy import NOT_DEVICE_MEMORY
from paretoscope.core.records import DatasetRef, HostInfo
from paretoscope.core.timefmt import utc_now
from store import migrations
from store.rows import record_rows
from store.store import Store
from tests.factories import make_record


def _v5_store(path: Path) -> None:
    """A store at schema 5 holding one ORT CUDA run whose peak_mem_mb was host RSS."""
    conn = duckdb.connect(str(path))
    try:
        old = migrations.MIGRATIONS
        migrations.MIGRATIONS = old[:5]
        try:
            migrations.apply_migrations(conn)
        finally:
            migrations.MIGRATIONS = old
        rec = make_record(run_id="gpu-ort", accuracy=0.9)
        rec = dataclasses.replace(rec, spec=dataclasses.replace(rec.spec, device="cuda:0"))
        for table, row in record_rows(rec, utc_now()):
            cols = {c[0] for c in conn.execute(f"DESCRIBE {table}").fetchall()}
            row = {k: v for k, v in row.items() if k in cols}
            if table == "runs":
                row.update(peak_mem_mb=912.5, mem_source="VmHWM")
            conn.execute(
                f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )
    finally:
        conn.close()


def test_legacy_gpu_host_rss_moves_to_host_memory(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    _v5_store(path)
    store = Store(path)
    assert store.schema_version() == migrations.MIGRATIONS[-1].version
    row = store.runs_frame().iloc[0]
    assert row["peak_mem_mb"] is None or row["peak_mem_mb"] != row["peak_mem_mb"]
    assert row["peak_host_mem_mb"] == 912.5
    assert row["peak_mem_unavailable_reason"] == NOT_DEVICE_MEMORY
    assert row["repeats"] == 1 and row["latency_ci_scope"] == "within-process"
    # The SQL Wilson interval equals scipy's.
    assert (row["accuracy_ci_low"], row["accuracy_ci_high"]) == pytest.approx(
        wilson_interval(405, 450), abs=1e-12
    )
    rec = store.get_record("gpu-ort")
    assert rec is not None and rec.memory is not None
    assert rec.memory.peak_mem_mb is None and rec.memory.peak_host_mem_mb == 912.5


def test_two_hosts_with_one_name_get_two_labels(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    a = HostInfo("aaaaaa111", "vm", "Linux", "CPU A", 2, 2, 24000.0, "3.11")
    b = HostInfo("bbbbbb222", "vm", "Linux", "CPU B", 16, 8, 2e6, "3.12")
    c = HostInfo("cccccc333", "solo", "Linux", "CPU C", 4, 4, 8000.0, "3.12")
    store.ingest_many([make_record(host=h) for h in (a, b, c)])
    hosts = sorted(store.runs_frame()["host"])
    assert hosts == ["solo", "vm (aaaaaa)", "vm (bbbbbb)"]


def test_dataset_label_names_set_items_and_hash(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    ds1 = DatasetRef("d1", "digits", "test", "/x.npz", 450, "3fa2c1d0" + "0" * 56)
    ds2 = DatasetRef("d2", "breast-cancer", "test", "/y.npz", 119, "77aa0000" + "0" * 56)
    recs = []
    for ds in (ds1, ds2):
        rec = make_record(accuracy=0.9)
        acc = dataclasses.replace(rec.accuracy[0], dataset_id=ds.dataset_id, n_samples=ds.n_samples)
        spec = dataclasses.replace(rec.spec, dataset=ds)
        recs.append(dataclasses.replace(rec, spec=spec, accuracy=(acc,)))
    store.ingest_many(recs)
    labels = set(store.runs_frame()["dataset"])
    assert labels == {
        "digits (test, 450 items, 3fa2c1d0)",
        "breast-cancer (test, 119 items, 77aa0000)",
    }


def test_dims_become_columns(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    recs = [make_record(), make_record(), make_record()]
    recs[0] = dataclasses.replace(recs[0], spec=dataclasses.replace(recs[0].spec, dims={"seq": 32}))
    recs[1] = dataclasses.replace(
        recs[1], spec=dataclasses.replace(recs[1].spec, dims={"seq": 128})
    )
    store.ingest_many(recs)
    frame = store.runs_frame()
    assert str(frame["dim_seq"].dtype) == "Int64"
    by_id = dict(zip(frame["run_id"], frame["dim_seq"], strict=True))
    assert by_id[recs[0].run_id] == 32 and by_id[recs[1].run_id] == 128
    assert by_id[recs[2].run_id] is __import__("pandas").NA
