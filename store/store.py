"""The DuckDB store of runs, with its provenance, and the single-writer path into it.

Concurrency design. DuckDB allows one process to hold a file read-write and
then refuses every other process, even read-only. So no process keeps the file
open: every operation opens a connection, does its work in milliseconds and
closes it, retrying with backoff while another process holds the lock. Writes
go through the spool (``store.spool``) first, so a run that cannot be written
now (the dashboard is mid-query, the lock is held past our patience) is kept
on disk and moved in by the next writer. The command line, the dashboard and
worker parents can therefore all run at once without lock errors or lost runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from paretoscope.core.errors import SchemaError, StoreError, StoreLockedError
from paretoscope.core.records import (
    AccuracyResult,
    DeviceInfo,
    EnergyStats,
    HostInfo,
    LatencyStats,
    MemoryStats,
    Provenance,
    RunRecord,
    RunSpec,
    from_dict,
    to_dict,
)
from paretoscope.core.timefmt import format_utc, parse_utc, utc_now
from store.migrations import MIGRATIONS, apply_migrations, schema_version
from store.spool import Spool

__all__ = ["DrainResult", "Store", "file_sha256"]

log = logging.getLogger(__name__)

_LOCK_RE = re.compile(r"lock", re.IGNORECASE)
# DuckDB shares one database instance between the connections of a process;
# serialising opens within the process avoids racing its instance cache.
_PROCESS_LOCK = threading.RLock()


@dataclass(frozen=True)
class DrainResult:
    """What a drain of the spool did."""

    inserted: int
    skipped: int  # already stored (idempotent re-ingest)
    pending: int  # still in the spool (lock not obtained)
    unreadable: int


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


class Store:
    """A Paretoscope store: a DuckDB file plus a folder of files beside it.

    Opening creates and migrates the file as needed. Raises ``StoreError``
    (or ``SchemaError``) when the file is not a usable store.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout_s: float = 60.0) -> None:
        self.path = Path(path).expanduser().resolve()
        self.lock_timeout_s = lock_timeout_s
        self.files_dir = Path(str(self.path) + ".files")
        self.spool = Spool(self.files_dir / "spool")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate()

    # -- connections ------------------------------------------------------

    @contextlib.contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived read-write connection; waits while another process holds the lock.

        Raises ``StoreLockedError`` after ``lock_timeout_s`` and ``StoreError``
        for a file that is not a DuckDB database.
        """
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.005
        while True:
            try:
                with _PROCESS_LOCK:
                    conn = duckdb.connect(str(self.path))
                break
            except duckdb.IOException as err:
                msg = str(err)
                if not _LOCK_RE.search(msg):
                    raise StoreError(self._open_failure(msg)) from err
                if time.monotonic() >= deadline:
                    raise StoreLockedError(
                        f"the store {self.path} stayed locked by another process for "
                        f"{self.lock_timeout_s:.0f} s ({_holder(msg)}). Wait for it to finish "
                        "or stop it; runs you were saving are kept in the spool and will be "
                        "stored the next time the store is opened."
                    ) from err
                time.sleep(delay)
                delay = min(delay * 2, 0.25)
            except duckdb.Error as err:
                raise StoreError(self._open_failure(str(err))) from err
        try:
            yield conn
        finally:
            conn.close()

    def _open_failure(self, msg: str) -> str:
        return (
            f"cannot open the store {self.path}: {msg.splitlines()[0]}. "
            "If this is not a Paretoscope store, point --store or $PARETOSCOPE_STORE elsewhere."
        )

    def _migrate(self) -> None:
        with self.connect() as conn:
            try:
                apply_migrations(conn)
            except SchemaError:
                raise
            except duckdb.Error as err:
                raise StoreError(f"cannot migrate the store {self.path}: {err}") from err

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
        for rec in records:
            self.spool.put(rec)
        return self.drain_spool()

    def drain_spool(self) -> DrainResult:
        """Move every spooled record into DuckDB in one transaction."""
        items = list(self.spool.read())
        if not items:
            return DrainResult(0, 0, 0, 0)
        unreadable = 0
        good: list[tuple[Path, RunRecord]] = []
        for path, rec, reason in items:
            if rec is None:
                log.warning("spooled record %s is unreadable (%s); moved aside", path, reason)
                self.spool.quarantine(path)
                unreadable += 1
            else:
                good.append((path, rec))
        inserted = skipped = 0
        try:
            with self.connect() as conn:
                conn.execute("BEGIN TRANSACTION")
                try:
                    for _, rec in good:
                        if _insert_record(conn, rec):
                            inserted += 1
                        else:
                            skipped += 1
                    conn.execute("COMMIT")
                except Exception:
                    conn.execute("ROLLBACK")
                    raise
        except StoreLockedError:
            log.warning("store locked; %d record(s) stay in the spool", len(good))
            return DrainResult(0, 0, len(good), unreadable)
        except duckdb.Error as err:
            raise StoreError(f"could not write runs to {self.path}: {err}") from err
        for path, _ in good:
            self.spool.remove(path)
        return DrainResult(inserted, skipped, 0, unreadable)

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
            tmp = folder / f".tmp-{digest}{suffix}"
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
            return conn.execute(sql, params).df()

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


def _holder(msg: str) -> str:
    m = re.search(r"held in (.+?) \(PID (\d+)\)", msg)
    return f"PID {m.group(2)}, {Path(m.group(1)).name}" if m else "holder unknown"


def _j(value: Any) -> str | None:
    return None if value is None else json.dumps(to_dict(value))


def _insert_record(conn: duckdb.DuckDBPyConnection, rec: RunRecord) -> bool:
    """Insert one record and its references; False when the run id is already stored."""
    if conn.execute("SELECT 1 FROM runs WHERE run_id = ?", [rec.run_id]).fetchone():
        return False
    spec = rec.spec
    now = utc_now()
    if rec.host is not None:
        h = rec.host
        conn.execute(
            "INSERT OR IGNORE INTO hosts (host_id, hostname, os, cpu_model, cpu_cores_logical,"
            " cpu_cores_physical, mem_total_mb, python_version, first_seen_at)"
            " VALUES (?,?,?,?,?,?,?,?,?)",
            [
                h.host_id,
                h.hostname,
                h.os,
                h.cpu_model,
                h.cpu_cores_logical,
                h.cpu_cores_physical,
                h.mem_total_mb,
                h.python_version,
                now,
            ],
        )
    if rec.device is not None:
        d = rec.device
        conn.execute(
            "INSERT OR IGNORE INTO devices (device_id, host_id, kind, name, device_index,"
            " memory_mb, compute_capability, driver_version, extra) VALUES (?,?,?,?,?,?,?,?,?)",
            [
                d.device_id,
                d.host_id,
                d.kind,
                d.name,
                d.index,
                d.memory_mb,
                d.compute_capability,
                d.driver_version,
                json.dumps(d.extra),
            ],
        )
    m = spec.model
    conn.execute(
        "INSERT OR IGNORE INTO models (model_id, name, family, task, parent_model_id,"
        " transformation, params, source, description, created_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?)",
        [
            m.model_id,
            m.name,
            m.family,
            m.task,
            m.parent_model_id,
            m.transformation,
            m.params if m.params is not None else rec.params,
            m.source,
            m.description,
            now,
        ],
    )
    a = spec.artifact
    conn.execute(
        "INSERT OR IGNORE INTO artifacts (sha256, format, path, size_bytes, precision, builder,"
        " builder_kwargs) VALUES (?,?,?,?,?,?,?)",
        [
            a.sha256,
            a.format,
            a.path,
            a.size_bytes,
            a.precision,
            a.builder,
            json.dumps(a.builder_kwargs),
        ],
    )
    if spec.dataset is not None:
        ds = spec.dataset
        conn.execute(
            "INSERT OR IGNORE INTO datasets (dataset_id, name, split, n_samples, sha256, source,"
            " path) VALUES (?,?,?,?,?,?,?)",
            [ds.dataset_id, ds.name, ds.split, ds.n_samples, ds.sha256, ds.source, ds.path],
        )
    prov = rec.provenance
    mem = rec.memory
    en = rec.energy
    conn.execute(
        """INSERT INTO runs (run_id, model_id, artifact_sha256, host_id, device_id, device, runtime,
        runtime_version, execution_provider, precision, batch_size, threads, dims, input_shapes,
        dataset_id, status, error, origin, job_id, started_at, finished_at, ingested_at,
        throughput_per_s,
        model_size_mb, params, peak_mem_mb, baseline_mem_mb, mem_source, device_peak_reserved_mb,
        energy_j, energy_j_per_item, avg_power_w, energy_source, energy_unavailable_reason,
        energy_window_s, provenance, spec)
        VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
        [
            rec.run_id,
            m.model_id,
            a.sha256,
            rec.host.host_id if rec.host else None,
            rec.device.device_id if rec.device else None,
            spec.device,
            spec.runtime,
            prov.runtime_version if prov else None,
            prov.execution_provider if prov else None,
            spec.precision,
            spec.batch_size,
            spec.threads,
            json.dumps(spec.dims),
            json.dumps(prov.input_shapes) if prov else None,
            spec.dataset.dataset_id if spec.dataset else None,
            rec.status,
            rec.error,
            rec.origin,
            spec.job_id,
            parse_utc(rec.started_at),
            parse_utc(rec.finished_at),
            now,
            rec.throughput_per_s,
            rec.model_size_mb,
            rec.params,
            mem.peak_mem_mb if mem else None,
            mem.baseline_mem_mb if mem else None,
            mem.source if mem else None,
            mem.device_peak_reserved_mb if mem else None,
            en.energy_j if en else None,
            en.energy_j_per_item if en else None,
            en.avg_power_w if en else None,
            en.source if en else None,
            en.unavailable_reason if en else None,
            en.window_s if en else None,
            _j(prov),
            _j(spec),
        ],
    )
    lat = rec.latency
    if lat is not None:
        conn.execute(
            """INSERT INTO latency (run_id, mean_ms, p50_ms, p90_ms, p99_ms, std_ms, min_ms, max_ms,
            ci_low_ms, ci_high_ms, n_iter, warmup_iter, total_time_s, stop_reason, timer,
            samples_ms, quantiles_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            [
                rec.run_id,
                lat.mean_ms,
                lat.p50_ms,
                lat.p90_ms,
                lat.p99_ms,
                lat.std_ms,
                lat.min_ms,
                lat.max_ms,
                lat.ci_low_ms,
                lat.ci_high_ms,
                lat.n_iter,
                lat.warmup_iter,
                lat.total_time_s,
                lat.stop_reason,
                lat.timer,
                list(lat.samples_ms),
                list(lat.quantiles_ms),
            ],
        )
    for acc in rec.accuracy:
        conn.execute(
            "INSERT INTO accuracy (run_id, metric, value, dataset_id, n_samples, origin, note)"
            " VALUES (?,?,?,?,?,?,?)",
            [
                rec.run_id,
                acc.metric,
                acc.value,
                acc.dataset_id,
                acc.n_samples,
                acc.origin,
                acc.note,
            ],
        )
    return True


def _iso(value: Any) -> str:
    return format_utc(value) if value is not None else ""


def _load_record(conn: duckdb.DuckDBPyConnection, run_id: str) -> RunRecord | None:
    cur = conn.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
    row = cur.fetchone()
    if row is None:
        return None
    cols = [c[0] for c in cur.description]
    r = dict(zip(cols, row, strict=True))
    spec = from_dict(RunSpec, json.loads(r["spec"]))
    host = device = None
    if r["host_id"]:
        cur = conn.execute("SELECT * FROM hosts WHERE host_id = ?", [r["host_id"]])
        hrow = cur.fetchone()
        if hrow:
            h = dict(zip([c[0] for c in cur.description], hrow, strict=True))
            h.pop("first_seen_at", None)
            host = from_dict(HostInfo, h)
    if r["device_id"]:
        cur = conn.execute("SELECT * FROM devices WHERE device_id = ?", [r["device_id"]])
        drow = cur.fetchone()
        if drow:
            d = dict(zip([c[0] for c in cur.description], drow, strict=True))
            d["index"] = d.pop("device_index")
            d["extra"] = json.loads(d["extra"]) if d["extra"] else {}
            device = from_dict(DeviceInfo, d)
    latency = None
    cur = conn.execute("SELECT * FROM latency WHERE run_id = ?", [run_id])
    lrow = cur.fetchone()
    if lrow:
        ld = dict(zip([c[0] for c in cur.description], lrow, strict=True))
        ld.pop("run_id")
        ld["samples_ms"] = tuple(ld["samples_ms"] or ())
        ld["quantiles_ms"] = tuple(ld["quantiles_ms"] or ())
        latency = from_dict(LatencyStats, ld)
    accs = tuple(
        AccuracyResult(
            metric=a[0], value=a[1], dataset_id=a[2], n_samples=a[3], origin=a[4], note=a[5] or ""
        )
        for a in conn.execute(
            "SELECT metric, value, dataset_id, n_samples, origin, note FROM accuracy"
            " WHERE run_id = ? ORDER BY metric",
            [run_id],
        ).fetchall()
    )
    memory = None
    if r["peak_mem_mb"] is not None:
        memory = MemoryStats(
            r["peak_mem_mb"],
            r["baseline_mem_mb"],
            r["mem_source"] or "",
            r["device_peak_reserved_mb"],
        )
    energy = None
    if r["energy_j"] is not None or r["energy_unavailable_reason"] is not None:
        energy = EnergyStats(
            r["energy_j"],
            r["energy_j_per_item"],
            r["avg_power_w"],
            r["energy_source"],
            r["energy_unavailable_reason"],
            r["energy_window_s"],
        )
    prov = from_dict(Provenance, json.loads(r["provenance"])) if r["provenance"] else None
    return RunRecord(
        run_id=run_id,
        spec=spec,
        status=r["status"],
        started_at=_iso(r["started_at"]),
        finished_at=_iso(r["finished_at"]),
        host=host,
        device=device,
        provenance=prov,
        latency=latency,
        memory=memory,
        energy=energy,
        accuracy=accs,
        throughput_per_s=r["throughput_per_s"],
        model_size_mb=r["model_size_mb"],
        params=r["params"],
        error=r["error"],
        origin=r["origin"],
    )
