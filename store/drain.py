"""Draining the spool: spooled records into DuckDB, each spool file all or nothing.

``Store.drain_spool`` (called by every ingest and every open of a store) moves
what ``store.spool`` holds into the store in one transaction. A file whose
records DuckDB refuses (or that do not make rows) would spoil that transaction
for everyone, so the drain then goes file by file and sets the refused file
aside in ``spool/unreadable/`` for a person; any other failure to write (a
full disk, the lock) leaves everything spooled for the next writer.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from paretoscope.core.errors import StoreError, StoreLockedError
from paretoscope.core.records import RunRecord
from paretoscope.core.timefmt import utc_now
from store.filekind import damaged_error, is_damage
from store.rows import REFERENCE_KEYS, record_rows
from store.spool import SpoolEntry
from store.transaction import transaction

if TYPE_CHECKING:
    from store.store import Store

__all__ = ["DrainResult", "drain_spool"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DrainResult:
    """What a drain of the spool did."""

    inserted: int
    skipped: int  # already stored (idempotent re-ingest)
    pending: int  # still in the spool (lock not obtained)
    unreadable: int


def drain_spool(store: Store, *, lock_timeout_s: float | None = None) -> DrainResult:
    """Move every spooled record into DuckDB, in one transaction when it can.

    A file that cannot be stored (unreadable, or refused by DuckDB) is moved
    aside to ``spool/unreadable/`` and counted as unreadable; the others are
    still stored, each file (a batch included) all or nothing. When the lock
    cannot be had within ``lock_timeout_s`` (the store's own by default)
    everything stays in the spool (``pending``).
    """
    entries = list(store.spool.read())
    if not entries:
        return DrainResult(0, 0, 0, 0)
    unreadable = 0
    good: list[SpoolEntry] = []
    for entry in entries:
        if entry.reason is not None:
            log.warning("spooled file %s is unreadable (%s); moved aside", entry.path, entry.reason)
            store.spool.quarantine(entry.path)
            unreadable += 1
        else:
            good.append(entry)
    n_records = sum(len(e.records) for e in good)
    try:
        inserted, skipped = _store_entries(store, good, lock_timeout_s)
    except StoreLockedError:
        log.warning("store locked; %d record(s) stay in the spool", n_records)
        return DrainResult(0, 0, n_records, unreadable)
    except _Refused as err:
        if len(good) == 1:
            log.warning("spooled file %s cannot be stored (%s); moved aside", good[0].path, err)
            store.spool.quarantine(good[0].path)
            return DrainResult(0, 0, 0, unreadable + 1)
        # One file spoils the transaction: store file by file, so the
        # others are not held back by it.
        inserted = skipped = 0
        for entry in good:
            result = _drain_one(store, entry, lock_timeout_s)
            inserted += result.inserted
            skipped += result.skipped
            unreadable += result.unreadable
            if result.pending:
                return DrainResult(inserted, skipped, result.pending, unreadable)
        return DrainResult(inserted, skipped, 0, unreadable)
    for entry in good:
        store.spool.remove(entry.path)
    return DrainResult(inserted, skipped, 0, unreadable)


def _drain_one(store: Store, entry: SpoolEntry, lock_timeout_s: float | None) -> DrainResult:
    try:
        inserted, skipped = _store_entries(store, [entry], lock_timeout_s)
    except StoreLockedError:
        return DrainResult(0, 0, len(entry.records), 0)
    except _Refused as err:
        log.warning("spooled file %s cannot be stored (%s); moved aside", entry.path, err)
        store.spool.quarantine(entry.path)
        return DrainResult(0, 0, 0, 1)
    store.spool.remove(entry.path)
    return DrainResult(inserted, skipped, 0, 0)


def _store_entries(
    store: Store, entries: list[SpoolEntry], lock_timeout_s: float | None
) -> tuple[int, int]:
    """Insert the entries' records in one transaction; (inserted, skipped).

    Raises ``_Refused`` when a record cannot be stored (DuckDB refuses its
    values, or its fields do not make rows), ``StoreError`` for any other
    failure to write, and ``StoreLockedError``.
    """
    inserted = skipped = 0
    with (
        store.connect(lock_timeout_s=lock_timeout_s) as conn,
        _mapped(store.path, "write runs to"),
        transaction(conn),
    ):
        for entry in entries:
            for rec in entry.records:
                try:
                    stored = _insert_record(conn, rec)
                except _ROW_ERRORS as err:
                    raise _Refused(f"run {rec.run_id!r} was refused: {err}") from err
                inserted += stored
                skipped += not stored
    return inserted, skipped


class _Refused(StoreError):
    """A spooled record that DuckDB refuses or that does not make rows: set aside, not retried."""


# DuckDB's errors that are about the values written, not about the file.
_REFUSALS: tuple[type[duckdb.Error], ...] = (
    duckdb.ConstraintException,
    duckdb.ConversionException,
    duckdb.InvalidInputException,
    duckdb.TypeMismatchException,
    duckdb.BinderException,
    duckdb.OutOfRangeException,
)
# ... and those of a record whose fields do not make rows (a hand-edited file).
_ROW_ERRORS: tuple[type[BaseException], ...] = (
    *_REFUSALS,
    TypeError,
    ValueError,
    AttributeError,
    KeyError,
)


@contextlib.contextmanager
def _mapped(path: Path, action: str) -> Iterator[None]:
    """DuckDB's errors in the block as ``StoreError`` ("could not <action> <path>: …")."""
    try:
        yield
    except _Refused:
        raise
    except duckdb.Error as err:
        if is_damage(err):
            raise damaged_error(path, err) from err
        raise StoreError(f"could not {action} {path}: {err}") from err


def _insert_record(conn: duckdb.DuckDBPyConnection, rec: RunRecord) -> bool:
    """Insert one record's rows; False when the run id is already stored.

    Reference rows (hosts, models, ...) already stored are kept as they are.
    """
    if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", [rec.run_id]).fetchone():
        return False
    for table, row in record_rows(rec, utc_now()):
        verb = "INSERT OR IGNORE" if table in REFERENCE_KEYS else "INSERT"
        conn.execute(
            f"{verb} INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
    return True
