"""store.filekind and Store's open: foreign files refused unchanged, damaged ones in one message."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import duckdb
import pytest

from paretoscope.core.errors import NotAStoreError, StoreDamagedError
from store import Store
from store.bulk import bulk_ingest
from store.filekind import MARKER_TABLE, file_kind, foreign_tables_error
from tests.factories import make_record


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def foreign_duckdb(path: Path) -> Path:
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE a (x INTEGER); INSERT INTO a VALUES (1); CREATE TABLE b (y VARCHAR)")
    conn.close()
    return path


def sqlite_file(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    return path


def truncated_store(path: Path, n_runs: int = 300) -> Path:
    """A real store with runs, cut to half its size (its data blocks are lost)."""
    store = Store(path)
    bulk_ingest(store, [make_record(model=f"m{i}") for i in range(n_runs)])
    size = path.stat().st_size
    with path.open("r+b") as fh:
        fh.truncate(size // 2)
    return path


def test_file_kinds(tmp_path: Path) -> None:
    (tmp_path / "empty").write_bytes(b"")
    (tmp_path / "text").write_text("name,value\nx,1\n")
    (tmp_path / "bytes").write_bytes(bytes(range(256)))
    kinds = {
        "missing": file_kind(tmp_path / "nothing-here"),
        "empty": file_kind(tmp_path / "empty"),
        "duckdb": file_kind(foreign_duckdb(tmp_path / "f.duckdb")),
        "sqlite": file_kind(sqlite_file(tmp_path / "s.db")),
        "text": file_kind(tmp_path / "text"),
        "binary": file_kind(tmp_path / "bytes"),
        "folder": file_kind(tmp_path),
    }
    assert {name: k.kind for name, k in kinds.items()} == {n: n for n in kinds}
    assert [n for n, k in kinds.items() if k.may_initialise] == ["missing", "empty"]


def test_marker_detection() -> None:
    assert foreign_tables_error(Path("x"), []) is None  # an empty database may be initialised
    assert foreign_tables_error(Path("x"), [MARKER_TABLE, "runs"]) is None
    err = foreign_tables_error(Path("x"), ["runs", "users"])
    assert err is not None and "tables: runs, users" in str(err)
    many = foreign_tables_error(Path("x"), [f"t{i:02d}" for i in range(20)])
    assert many is not None and "(20 in all)" in str(many)


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (foreign_duckdb, "DuckDB database of another application (tables: a, b)"),
        (sqlite_file, "a SQLite database"),
        (lambda p: (p.write_text("hello\n"), p)[1], "a text file"),
        (lambda p: (p.write_bytes(b"\x00\xff" * 50), p)[1], "not a DuckDB database"),
    ],
)
def test_a_foreign_file_is_refused_unchanged(tmp_path: Path, make, needle: str) -> None:  # type: ignore[no-untyped-def]
    path = make(tmp_path / "other.db")
    before = sha(path)
    with pytest.raises(NotAStoreError, match="Choose another --store") as info:
        Store(path)
    assert needle in str(info.value)
    assert sha(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]  # no .wal, no .files


def test_another_apps_runs_table_gets_no_schema_migrations(tmp_path: Path) -> None:
    path = tmp_path / "runs.duckdb"
    conn = duckdb.connect(str(path))
    conn.execute("CREATE TABLE runs (id INTEGER)")
    conn.close()
    before = sha(path)
    with pytest.raises(NotAStoreError, match=r"tables: runs\)"):
        Store(path)
    assert sha(path) == before


def test_an_empty_duckdb_file_or_database_is_initialised(tmp_path: Path) -> None:
    zero = tmp_path / "zero.duckdb"
    zero.write_bytes(b"")
    assert Store(zero).run_count() == 0
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()  # a database without tables
    assert Store(empty).schema_version() == Store.latest_schema_version()


def test_a_truncated_store_is_one_message(tmp_path: Path) -> None:
    path = truncated_store(tmp_path / "s.duckdb")
    before = sha(path)
    with pytest.raises(StoreDamagedError) as info:
        Store(path).runs_frame()
    message = str(info.value)
    assert "is damaged" in message and "Nothing was changed" in message
    assert "paretoscope import" in message and "paretoscope export" in message
    assert sha(path) == before


def test_no_extension_is_loaded_for_a_store(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    with store.connect() as conn:
        settings = dict(
            conn.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('autoload_known_extensions', 'autoinstall_known_extensions')"
            ).fetchall()
        )
    assert settings == {
        "autoload_known_extensions": "false",
        "autoinstall_known_extensions": "false",
    }
