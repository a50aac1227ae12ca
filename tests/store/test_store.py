"""The DuckDB store on real files: migrations, idempotent ingest, round trips, bad files."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pytest

from paretoscope.core.errors import SchemaError, StoreError
from store import Store, resolve_store_path
from store.migrations import MIGRATIONS
from tests.factories import make_record


def test_new_store_is_migrated_once(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    assert store.schema_version() == MIGRATIONS[-1].version
    Store(tmp_path / "s.duckdb")  # reopening applies nothing twice
    rows = store.query("SELECT version, name FROM schema_migrations ORDER BY version")
    assert rows["version"].tolist() == [m.version for m in MIGRATIONS]


def test_migration_versions_are_sequential() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    Store(path)
    conn = duckdb.connect(str(path))
    conn.execute("INSERT INTO schema_migrations VALUES (999, 'from the future', NULL)")
    conn.close()
    with pytest.raises(SchemaError, match="newer than this Paretoscope"):
        Store(path)


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "junk.duckdb"
    path.write_bytes(b"this is not a duckdb file" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(path)


def test_ingest_is_idempotent_and_round_trips(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    rec = make_record()
    first = store.ingest(rec)
    second = store.ingest(rec)
    assert (first.inserted, second.inserted, second.skipped) == (1, 0, 1)
    assert store.run_count() == 1
    assert store.get_record(rec.run_id) == rec
    assert len(store.spool) == 0


def test_failed_runs_are_kept_with_reason(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.ingest(make_record(status="failed", error="worker killed by signal SIGKILL (9)"))
    assert store.runs_frame().empty
    all_runs = store.runs_frame(status=None)
    assert all_runs["error"].tolist() == ["worker killed by signal SIGKILL (9)"]


def test_runs_frame_has_metric_columns(tmp_path: Path) -> None:
    from paretoscope.core.metrics import METRICS

    store = Store(tmp_path / "s.duckdb")
    store.ingest(make_record(latency_ms=2.0, accuracy=0.9, batch_size=4))
    frame = store.runs_frame()
    for key in METRICS:
        assert key in frame.columns
    row = frame.iloc[0]
    assert row["latency_ms_p50"] == 2.0
    assert row["accuracy"] == 0.9
    assert row["throughput_per_s"] == pytest.approx(2000.0)
    assert row["energy_unavailable_reason"].startswith("no RAPL")


def test_missing_metrics_are_null_not_zero(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.ingest(make_record(accuracy=None))
    row = store.runs_frame().iloc[0]
    assert row["accuracy"] != row["accuracy"]  # NaN
    assert row["energy_j_per_item"] != row["energy_j_per_item"]


def test_unreadable_spool_file_is_quarantined(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.spool.folder.mkdir(parents=True, exist_ok=True)
    (store.spool.folder / "garbage.json").write_text("{not json")
    result = store.ingest(make_record())
    assert (result.inserted, result.unreadable) == (1, 1)
    assert (store.spool.folder / "unreadable" / "garbage.json").exists()


def test_crash_between_commit_and_spool_removal_does_not_duplicate(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    rec = make_record()
    store.ingest(rec)
    store.spool.put(rec)  # as if the process died before deleting the spooled file
    result = store.drain_spool()
    assert (result.inserted, result.skipped) == (0, 1)
    assert store.run_count() == 1


def test_put_file_is_content_addressed(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    a = tmp_path / "a.onnx"
    a.write_bytes(b"model bytes")
    b = tmp_path / "b.onnx"
    b.write_bytes(b"model bytes")
    sha_a, path_a = store.put_file(a, "artifacts", ".onnx")
    sha_b, path_b = store.put_file(b, "artifacts", ".onnx")
    assert sha_a == sha_b and path_a == path_b
    assert path_a.parent == store.files_dir / "artifacts"


def test_store_path_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PARETOSCOPE_STORE", str(tmp_path / "env.duckdb"))
    assert resolve_store_path(tmp_path / "x.duckdb") == (tmp_path / "x.duckdb").resolve()
    assert resolve_store_path(None) == (tmp_path / "env.duckdb").resolve()
    monkeypatch.delenv("PARETOSCOPE_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert resolve_store_path(None) == tmp_path / "data" / "paretoscope" / "paretoscope.duckdb"


def test_record_survives_json_spool_exactly(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    rec = make_record(accuracy=None, latency_ms=3.5, parent_model_id="parent")
    rec = dataclasses.replace(rec, params=None)
    store.ingest(rec)
    assert store.get_record(rec.run_id) == rec
