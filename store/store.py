"""The DuckDB store of runs, with its provenance, and the single-writer path into it.

Concurrency design. DuckDB allows one process to hold a file read-write and
then refuses every other process, even read-only. So no process keeps the file
open: every operation opens a connection, does its work in milliseconds and
closes it, retrying with backoff while another process holds the lock. Writes
go through the spool (``store.spool``) first, so a run that cannot be written
now (the dashboard is mid-query, the lock is held past our patience) is kept
on disk and moved in by the next writer. The command line, the dashboard and
worker parents can therefore all run at once without lock errors or lost runs.

Opening a store checks what the file is before anything is written
(``store.filekind``: another application's database is refused, a damaged one
reported), migrates it, removes temporary files that killed writers left, and
drains the spool, so a run that a killed writer spooled is visible at the next
open. DuckDB's extension autoloading and autoinstalling are off on every
connection: opening a store never reaches the network.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from paretoscope.core.errors import (
    NotAStoreError,
    SchemaError,
    StoreDamagedError,
    StoreError,
    StoreLockedError,
)
from paretoscope.core.fields import DIM_PREFIX, is_dim_key
from paretoscope.core.hashing import file_sha256
from paretoscope.core.records import RunRecord
from store.drain import DrainResult, drain_spool
from store.filekind import (
    damaged_error,
    file_kind,
    foreign_tables_error,
    is_damage,
    not_a_store_error,
    store_tables,
)
from store.migrations import MIGRATIONS, apply_migrations, schema_version
from store.rows import Row, record_from_rows
from store.spool import Spool, remove_orphans
from store.transaction import transaction

__all__ = ["DrainResult", "Store", "file_sha256"]

log = logging.getLogger(__name__)

# Waited out, not reported: another process holds the file ("lock"), or a
# connection of this process has it open with other options (DuckDB refuses
# "a different configuration"), as the read-only look at a file does for a moment.
_LOCK_RE = re.compile(r"lock|different configuration", re.IGNORECASE)
# DuckDB shares one database instance between the connections of a process;
# serialising opens within the process avoids racing its instance cache.
_PROCESS_LOCK = threading.RLock()
# Store files this process has opened: the read-only look at their tables is
# not repeated (it would make the process's own read-write connections wait).
_CHECKED: set[Path] = set()
# On every connection: never load or download an extension. A store is a
# DuckDB file of ours; a file that would need an extension (SQLite, Parquet
# over HTTP) is not one, and opening it must not reach the network.
_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
}


class Store:
    """A Paretoscope store: a DuckDB file plus a folder of files beside it.

    Opening checks what the file is, creates and migrates it as needed, and
    stores what the spool holds. Raises ``NotAStoreError`` for a file that is
    not a Paretoscope store (nothing is written to it), ``StoreDamagedError``
    for one DuckDB cannot read, ``SchemaError`` for a newer schema and
    ``StoreError`` otherwise.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout_s: float = 60.0) -> None:
        self.path = Path(path).expanduser().resolve()
        self.lock_timeout_s = lock_timeout_s
        self.files_dir = Path(str(self.path) + ".files")
        self.spool = Spool(self.files_dir / "spool")
        self._check_file()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate()
        _CHECKED.add(self.path)
        self.remove_orphans()
        try:
            self.drain_spool()
        except StoreDamagedError:
            raise
        except StoreError as err:  # e.g. a full disk: the runs stay spooled for the next open
            log.warning("runs stay in the spool of %s: %s", self.path, err)

    # -- connections ------------------------------------------------------

    @contextlib.contextmanager
    def connect(
        self, *, read_only: bool = False, lock_timeout_s: float | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection (read-write by default); waits while another process holds it.

        Raises ``StoreLockedError`` after ``lock_timeout_s`` (the store's own by
        default), ``StoreDamagedError`` when DuckDB cannot read the file (at
        open or in the block) and ``StoreError`` for another failure to open.
        """
        timeout = self.lock_timeout_s if lock_timeout_s is None else lock_timeout_s
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            try:
                with _PROCESS_LOCK:
                    conn = duckdb.connect(str(self.path), read_only=read_only, config=_CONFIG)
                break
            except (duckdb.IOException, duckdb.ConnectionException) as err:
                msg = str(err)
                if not _LOCK_RE.search(msg):
                    if is_damage(err):
                        raise damaged_error(self.path, err) from err
                    raise StoreError(self._open_failure(msg)) from err
                if time.monotonic() >= deadline:
                    raise StoreLockedError(
                        f"the store {self.path} stayed locked by another process for "
                        f"{timeout:.0f} s ({_holder(msg)}). Wait for it to finish "
                        "or stop it; runs you were saving are kept in the spool and will be "
                        "stored the next time the store is opened."
                    ) from err
                time.sleep(delay)
                delay = min(delay * 2, 0.25)
            except duckdb.Error as err:
                if is_damage(err):
                    raise damaged_error(self.path, err) from err
                raise StoreError(self._open_failure(str(err))) from err
        try:
            yield conn
        except duckdb.Error as err:
            # A truncated or corrupt file often opens and fails at the first
            # read of a missing block: one message, whichever query met it.
            if is_damage(err):
                raise damaged_error(self.path, err) from err
            raise
        finally:
            conn.close()

    @contextlib.contextmanager
    def transaction(self, action: str = "write to") -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection in one transaction, so that nothing is half-stored.

        Commits when the block ends (also by ``return``), rolls back when it raises.
        Raises ``StoreLockedError`` as ``connect`` does, and ``StoreError``
        ("could not <action> <path>: …") for any DuckDB error, in the block
        or at commit. Other exceptions pass through unchanged, after the rollback.
        """
        try:
            with self.connect() as conn, transaction(conn):
                yield conn
        except StoreDamagedError:
            raise
        except duckdb.Error as err:
            raise StoreError(f"could not {action} {self.path}: {err}") from err

    def _open_failure(self, msg: str) -> str:
        return (
            f"cannot open the store {self.path}: {msg.splitlines()[0]}. "
            "If this is not a Paretoscope store, point --store or $PARETOSCOPE_STORE elsewhere."
        )

    def _check_file(self) -> None:
        """Refuse a file that is not a Paretoscope store, before anything is written.

        Reads the header bytes; a DuckDB file is then opened read-only to list
        its tables. A 0-byte file (DuckDB will not open one) is removed so that
        a new store can be made in its place.
        """
        kind = file_kind(self.path)
        if kind.kind == "empty":
            self.path.unlink(missing_ok=True)
            return
        if kind.may_initialise:
            return
        if kind.kind != "duckdb":
            raise not_a_store_error(self.path, kind)
        if self.path in _CHECKED:
            return  # this process opened it before; ``_migrate`` looks at the tables again
        try:
            with self.connect(read_only=True) as conn:
                tables = store_tables(conn)
        except duckdb.Error as err:
            raise StoreError(self._open_failure(str(err))) from err
        foreign = foreign_tables_error(self.path, tables)
        if foreign is not None:
            raise foreign

    def _migrate(self) -> None:
        with self.connect() as conn:
            try:
                foreign = foreign_tables_error(self.path, store_tables(conn))
                if foreign is not None:
                    raise foreign
                apply_migrations(conn)
            except (SchemaError, NotAStoreError):
                raise
            except duckdb.Error as err:
                if is_damage(err):
                    raise damaged_error(self.path, err) from err
                raise StoreError(f"cannot migrate the store {self.path}: {err}") from err

    def remove_orphans(self) -> list[Path]:
        """Delete temporary files that killed writers left in the spool and file folders."""
        folders = [self.spool.folder]
        if self.files_dir.is_dir():
            folders += [p for p in self.files_dir.iterdir() if p.is_dir()]
        removed = remove_orphans(folders)
        if removed:
            log.info("removed %d temporary file(s) of killed writers", len(removed))
        return removed

    def schema_version(self) -> int:
        with self.connect() as conn:
            return schema_version(conn)

    @staticmethod
    def latest_schema_version() -> int:
        return MIGRATIONS[-1].version

    def data_version(self) -> tuple[int, int, int, int]:
        """Changes whenever stored data may have changed; for caches. Takes no lock."""
        parts: list[int] = []
        for p in (self.path, Path(str(self.path) + ".wal")):
            try:
                st = p.stat()
                parts += [st.st_mtime_ns, st.st_size]
            except FileNotFoundError:
                parts += [0, 0]
        return (parts[0], parts[1], parts[2], parts[3])

    # -- writing ----------------------------------------------------------

    def ingest(self, record: RunRecord) -> DrainResult:
        """Store ``record`` (idempotent on its run id). The record is durable on return.

        When the lock cannot be had in time the record stays in the spool
        (``pending`` counts it) and is stored by the next writer; this never
        loses it and does not raise ``StoreLockedError``.
        """
        self.spool.put(record)
        return self.drain_spool()

    def ingest_many(self, records: Iterable[RunRecord]) -> DrainResult:
        """Store each of ``records``, durably one by one (a crash keeps those spooled)."""
        for rec in records:
            self.spool.put(rec)
        return self.drain_spool()

    def ingest_batch(self, records: Iterable[RunRecord], label: str = "batch") -> DrainResult:
        """Store ``records`` all together or none of them, also across a crash.

        The batch is spooled as one file (renamed into place whole) and stored
        in one transaction, by this call or, if this process dies first, by the
        next open of the store. ``label`` names the batch in logs.
        """
        batch = list(records)
        if not batch:
            return DrainResult(0, 0, 0, 0)
        self.spool.put_batch(batch, label)
        return self.drain_spool()

    def drain_spool(self, *, lock_timeout_s: float | None = None) -> DrainResult:
        """Move every spooled record into DuckDB (see ``store.drain.drain_spool``)."""
        return drain_spool(self, lock_timeout_s=lock_timeout_s)

    def put_file(self, src: Path, kind: str, suffix: str) -> tuple[str, Path]:
        """Copy ``src`` into the store's folder, content-addressed; return (sha256, path).

        ``kind`` names the sub-folder (``artifacts``, ``datasets``). A file
        already present is recognised by its hash and not copied again.
        """
        digest = file_sha256(src)
        folder = self.files_dir / kind
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{digest}{suffix}"
        if not target.exists():
            tmp = folder / f".tmp-{os.getpid()}-{digest}{suffix}"
            shutil.copyfile(src, tmp)
            os.replace(tmp, target)
        return digest, target

    # -- reading ----------------------------------------------------------

    def runs_frame(self, status: str | None = "ok") -> pd.DataFrame:
        """One row per run of ``run_summary`` (metric keys as columns); ``status=None``: all."""
        sql = "SELECT * FROM run_summary"
        params: list[Any] = []
        if status is not None:
            sql += " WHERE status = ?"
            params.append(status)
        sql += " ORDER BY started_at, run_id"
        with self.connect() as conn:
            return expand_dims(conn.execute(sql, params).df())

    def run_count(self, status: str | None = None) -> int:
        with self.connect() as conn:
            if status is None:
                row = conn.execute("SELECT count(*) FROM runs").fetchone()
            else:
                row = conn.execute(
                    "SELECT count(*) FROM runs WHERE status = ?", [status]
                ).fetchone()
        return int(row[0]) if row else 0

    def has_run(self, run_id: str) -> bool:
        with self.connect() as conn:
            row = conn.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone()
        return row is not None

    def get_record(self, run_id: str) -> RunRecord | None:
        """Rebuild the full ``RunRecord`` of a stored run, or None."""
        with self.connect() as conn:
            return _load_record(conn, run_id)

    def records(self, run_ids: Iterable[str] | None = None) -> list[RunRecord]:
        with self.connect() as conn:
            if run_ids is None:
                ids = [
                    r[0] for r in conn.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall()
                ]
            else:
                ids = list(run_ids)
            out = [_load_record(conn, rid) for rid in ids]
        return [r for r in out if r is not None]

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """A read query as a DataFrame (for library code in ``store``; pages call named methods)."""
        with self.connect() as conn:
            return conn.execute(sql, params or []).df()


def expand_dims(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with one ``dim_<name>`` column (nullable integers) per symbolic dimension.

    The values come from each run's ``dims`` JSON (e.g. ``{"seq": 128}``); a run
    without a dimension has no value there. Columns are added at the end, by name.
    """
    if "dims" not in frame.columns or frame.empty:
        return frame
    parsed = [json.loads(d) if isinstance(d, str) and d else {} for d in frame["dims"]]
    names = sorted({str(k) for d in parsed for k in d})
    for name in names:
        key = DIM_PREFIX + name
        if not is_dim_key(key):
            continue  # a name that cannot be a column key stays in ``dims`` only
        values = [d.get(name) for d in parsed]
        frame[key] = pd.array(
            [int(v) if isinstance(v, (int, float)) else None for v in values], dtype="Int64"
        )
    return frame


def _holder(msg: str) -> str:
    m = re.search(r"held in (.+?) \(PID (\d+)\)", msg)
    return f"PID {m.group(2)}, {Path(m.group(1)).name}" if m else "holder unknown"


def _fetch_rows(conn: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[Row]:
    cur = conn.execute(sql, params)
    rows = cur.fetchall()
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in rows]


def _load_record(conn: duckdb.DuckDBPyConnection, run_id: str) -> RunRecord | None:
    runs = _fetch_rows(conn, "SELECT * FROM runs WHERE run_id = ?", [run_id])
    if not runs:
        return None
    run = runs[0]
    hosts: list[Row] = []
    devices: list[Row] = []
    if run["host_id"]:
        hosts = _fetch_rows(conn, "SELECT * FROM hosts WHERE host_id = ?", [run["host_id"]])
    if run["device_id"]:
        devices = _fetch_rows(conn, "SELECT * FROM devices WHERE device_id = ?", [run["device_id"]])
    latency = _fetch_rows(conn, "SELECT * FROM latency WHERE run_id = ?", [run_id])
    accuracy = _fetch_rows(
        conn, "SELECT * FROM accuracy WHERE run_id = ? ORDER BY metric", [run_id]
    )
    return record_from_rows(
        run,
        host=hosts[0] if hosts else None,
        device=devices[0] if devices else None,
        latency=latency[0] if latency else None,
        accuracy=accuracy,
        op_profile=_fetch_rows(conn, "SELECT * FROM op_profiles WHERE run_id = ?", [run_id]),
    )
