"""Store.transaction on a real DuckDB file: commit, rollback on any error, nothing half-stored."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from paretoscope.core.errors import InputError, StoreError
from store import Store, migrations
from store.drain import _insert_record
from store.rows import TABLES
from tests.factories import make_record


def _count(store: Store, table: str) -> int:
    return int(store.query(f"SELECT count(*) AS n FROM {table}")["n"][0])


def test_commits_when_the_block_ends(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    rec = make_record()
    with store.transaction() as conn:
        assert _insert_record(conn, rec)
    # A new Store (and connection) sees it: it was committed to the file.
    assert Store(tmp_path / "s.duckdb").get_record(rec.run_id) == rec


def test_commits_on_return_from_the_block(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    rec = make_record()

    def insert() -> bool:
        with store.transaction() as conn:
            return _insert_record(conn, rec)

    assert insert()
    assert store.has_run(rec.run_id)


def test_rolls_back_on_an_exception_and_passes_it_through(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    rec = make_record()
    with pytest.raises(InputError, match="changed my mind"), store.transaction() as conn:
        assert _insert_record(conn, rec)
        raise InputError("changed my mind")
    # Not the run, and none of the rows it brought (host, device, model, ...).
    for table in TABLES:
        assert _count(store, table) == 0, table


def test_a_duckdb_error_half_way_stores_nothing_and_is_a_store_error(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    first, second = make_record(), make_record()
    refused = pytest.raises(StoreError, match=r"could not do the test in .*s\.duckdb")
    with refused, store.transaction("do the test in") as conn:
        assert _insert_record(conn, first)
        # The same run id again, without the idempotence check: the primary key refuses it.
        conn.execute("INSERT INTO runs SELECT * FROM runs WHERE run_id = ?", [first.run_id])
    assert _count(store, "runs") == 0
    assert _count(store, "models") == 0
    # The store is usable afterwards, and a good transaction still commits.
    assert store.ingest_many([first, second]).inserted == 2
    assert store.run_count() == 2


def test_an_interrupt_rolls_back_too(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    with pytest.raises(KeyboardInterrupt), store.transaction() as conn:
        _insert_record(conn, make_record())
        raise KeyboardInterrupt
    assert store.run_count() == 0


def test_a_failing_migration_leaves_neither_its_tables_nor_its_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.duckdb"
    Store(path)
    latest = migrations.MIGRATIONS[-1].version
    bad = migrations.Migration(
        latest + 1, "half a migration", "CREATE TABLE half (x INTEGER); SELECT * FROM missing;"
    )
    monkeypatch.setattr(migrations, "MIGRATIONS", (*migrations.MIGRATIONS, bad))
    conn = duckdb.connect(str(path))
    try:
        with pytest.raises(duckdb.Error):
            migrations.apply_migrations(conn)
        assert migrations.schema_version(conn) == latest
        tables = {
            r[0]
            for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        assert "half" not in tables
    finally:
        conn.close()
