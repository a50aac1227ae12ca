"""What a store path holds, decided before anything is written to it.

A path may be opened as a store when it is missing, empty (0 bytes), a DuckDB
database without tables, or a DuckDB database with Paretoscope's marker, the
``schema_migrations`` table. Anything else is refused with what it is and how
to proceed: another application's DuckDB database (its tables are named), a
SQLite database, text or other bytes. The header is read as bytes (DuckDB
writes the magic ``DUCK`` at offset 8; SQLite starts with ``SQLite format 3``),
so a file that is not DuckDB is never handed to DuckDB, which would otherwise
try to load (and download) an extension for it.

A database that DuckDB cannot read (truncated, corrupt) is reported as damaged
with one message: what failed, that nothing was changed, and how to restore.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from paretoscope.core.errors import NotAStoreError, StoreDamagedError

__all__ = [
    "MARKER_TABLE",
    "FileKind",
    "damaged_message",
    "file_kind",
    "foreign_tables_error",
    "is_damage",
    "not_a_store_error",
    "store_tables",
]

MARKER_TABLE = "schema_migrations"
DUCKDB_MAGIC = b"DUCK"
DUCKDB_MAGIC_OFFSET = 8
SQLITE_MAGIC = b"SQLite format 3\x00"
_HEADER_BYTES = 64

Kind = Literal["missing", "empty", "duckdb", "sqlite", "text", "binary", "folder"]


@dataclass(frozen=True)
class FileKind:
    """What the bytes at a path are; ``duckdb`` says nothing yet about its tables."""

    kind: Kind
    size_bytes: int = 0

    @property
    def may_initialise(self) -> bool:
        """True for a missing or 0-byte file: a new store may be made there."""
        return self.kind in ("missing", "empty")


def file_kind(path: Path) -> FileKind:
    """Classify ``path`` from its first bytes; reads at most 64 bytes, writes nothing."""
    if not path.exists():
        return FileKind("missing")
    if path.is_dir():
        return FileKind("folder")
    size = path.stat().st_size
    if size == 0:
        return FileKind("empty")
    with path.open("rb") as fh:
        head = fh.read(_HEADER_BYTES)
    if head[DUCKDB_MAGIC_OFFSET : DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC)] == DUCKDB_MAGIC:
        return FileKind("duckdb", size)
    if head.startswith(SQLITE_MAGIC):
        return FileKind("sqlite", size)
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character may be cut at the 64th byte; judge the rest.
        text = head[:-4].decode("utf-8", errors="replace")
    if text and "\ufffd" not in text and all(c.isprintable() or c in "\t\r\n" for c in text):
        return FileKind("text", size)
    return FileKind("binary", size)


_WHAT = {
    "sqlite": "a SQLite database, not DuckDB",
    "text": "a text file, not a DuckDB database",
    "binary": "not a DuckDB database (its first bytes are not DuckDB's header)",
    "folder": "a folder, not a file",
}


def not_a_store_error(path: Path, kind: FileKind) -> NotAStoreError:
    """The refusal for a file that is not DuckDB at all (``kind`` other than duckdb)."""
    return NotAStoreError(
        f"cannot open the store {path}: it is {_WHAT.get(kind.kind, kind.kind)}. Nothing was "
        "written to it. Choose another --store path (or $PARETOSCOPE_STORE); a new store is "
        "created at a path where no file exists."
    )


def store_tables(conn: Any) -> list[str]:
    """The tables and views of an open DuckDB connection's database, by name."""
    rows = conn.execute(
        "SELECT DISTINCT table_name FROM information_schema.tables "
        "WHERE table_catalog = current_database() ORDER BY table_name"
    ).fetchall()
    return [str(r[0]) for r in rows]


def foreign_tables_error(path: Path, tables: Sequence[str]) -> NotAStoreError | None:
    """None when ``tables`` are those of a Paretoscope store (or none); else the refusal."""
    if not tables or MARKER_TABLE in tables:
        return None
    shown = ", ".join(tables[:8]) + (f", … ({len(tables)} in all)" if len(tables) > 8 else "")
    return NotAStoreError(
        f"cannot open the store {path}: it is a DuckDB database of another application "
        f"(tables: {shown}) and has no '{MARKER_TABLE}' table, the mark of a Paretoscope "
        "store. Nothing was written to it. Choose another --store path (or $PARETOSCOPE_STORE)."
    )


# Words of DuckDB's errors when it cannot read its own file: a short read of a
# truncated file, a checksum or a block that does not parse.
_DAMAGE_WORDS = (
    "could not read enough bytes",
    "corrupt",
    "checksum",
    "not a valid duckdb database",
    "failed to read",
    "invalid block",
    "serializ",
)


def is_damage(err: BaseException) -> bool:
    """True when a DuckDB error says that its file cannot be read as written."""
    import duckdb

    if isinstance(err, (duckdb.InternalException, duckdb.FatalException)):
        return True
    if isinstance(err, (duckdb.IOException, duckdb.SerializationException)):
        msg = str(err).lower()
        return "lock" not in msg and any(w in msg for w in _DAMAGE_WORDS)
    return False


def damaged_message(path: Path, detail: str) -> str:
    """One message for a store DuckDB cannot read: what failed, nothing changed, how to restore."""
    first = detail.strip().splitlines()[0][:300] if detail.strip() else "unknown error"
    return (
        f"the store {path} is damaged: DuckDB could not read it ({first}). Nothing was "
        "changed. To restore: move the file aside, then import your latest bundle export "
        f"into a new store (`paretoscope import BUNDLE.parquet --store {path}`); bundles are "
        "made by `paretoscope export --out BUNDLE.parquet`."
    )


def damaged_error(path: Path, err: BaseException) -> StoreDamagedError:
    """``damaged_message`` as the error to raise (``from err``)."""
    return StoreDamagedError(damaged_message(path, str(err)))
