"""Result bundles: runs moved between stores and hosts as one Parquet file.

A bundle has one row per run. The column ``record`` holds the run's full
``RunRecord`` as JSON (``paretoscope.records.to_dict``): its configuration,
provenance, host and device, model (with lineage), artifact and data-set
metadata (not the files), latency statistics and samples, memory, energy and
accuracy. That column alone is what an import reads, so the round trip is
lossless. The other columns (``run_id``, ``model``, ``runtime``, ``device``,
``precision``, ``batch_size``, ``status``, ``host``, the metric keys, …) are
for people and other tools; an import ignores them.

The Parquet key-value metadata carries ``paretoscope.bundle_format`` (the
layout of this file, ``BUNDLE_FORMAT``) and ``paretoscope.schema_version``
(the store schema of the exporting Paretoscope), with the exporting version
and time. A bundle of a newer format is refused with a message that says to
upgrade; an older one is upgraded on reading (``_UPGRADES``).

Importing is all or nothing and idempotent on the run id: every row is checked
before anything is stored, the new runs are spooled as one batch and stored in
one transaction (a killed import leaves all of them, stored by the next open of
the store, or none), runs already in the store are skipped, and the
imported runs are stored with ``origin='imported'`` (everything else as
measured, on the original host). Bundles are untrusted input: they are never
unpickled, and their paths are kept as text, never opened.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from paretoscope import __version__
from paretoscope.core.errors import InputError
from paretoscope.core.metrics import metric_keys
from paretoscope.core.records import PRECISIONS, RUNTIMES, RunRecord, from_dict, to_dict
from paretoscope.core.timefmt import utc_now_iso
from store.runid import run_id_problem
from store.store import Store

__all__ = [
    "BUNDLE_FORMAT",
    "MAX_BUNDLE_BYTES",
    "Bundle",
    "BundleFilters",
    "ImportResult",
    "bundle_bytes",
    "export_bundle",
    "import_bundle",
    "read_bundle",
    "select_records",
]

BUNDLE_FORMAT = 1
MIN_BUNDLE_FORMAT = 1
KEY_FORMAT = b"paretoscope.bundle_format"
KEY_SCHEMA = b"paretoscope.schema_version"
KEY_VERSION = b"paretoscope.version"
KEY_EXPORTED = b"paretoscope.exported_at"
# A bundle of a few thousand runs with their latency samples is a few MB;
# refuse files far beyond that rather than read them into memory.
MAX_BUNDLE_BYTES = 512 * 1024 * 1024

# Upgrades of older bundle formats, by the format they read: each takes the
# decoded records (dicts) of format N and returns those of format N + 1.
# Format 1 is the first; ``from_dict`` already fills fields that a record of
# an older Paretoscope lacks with their defaults.
_UPGRADES: dict[int, Callable[[list[dict[str, Any]]], list[dict[str, Any]]]] = {}


@dataclass(frozen=True)
class BundleFilters:
    """Which runs an export takes: each field lists allowed values; empty allows all."""

    runtime: tuple[str, ...] = ()
    device: tuple[str, ...] = ()
    precision: tuple[str, ...] = ()
    model: tuple[str, ...] = ()
    status: tuple[str, ...] = ()
    run_ids: tuple[str, ...] | None = None  # None: any run id

    def allows(self, rec: RunRecord) -> bool:
        checks = (
            (self.runtime, rec.spec.runtime),
            (self.device, rec.spec.device),
            (self.precision, rec.spec.precision),
            (self.model, rec.spec.model.name),
            (self.status, rec.status),
        )
        if any(allowed and value not in allowed for allowed, value in checks):
            return False
        return self.run_ids is None or rec.run_id in self.run_ids


@dataclass(frozen=True)
class Bundle:
    """A bundle read from a file: its runs and what its metadata says."""

    records: tuple[RunRecord, ...]
    bundle_format: int
    schema_version: int | None
    exported_by: str
    exported_at: str
    upgraded_from: int | None = None  # the file's format when it was upgraded on reading


@dataclass(frozen=True)
class ImportResult:
    """What an import did: runs stored, runs already present, runs left in the spool."""

    total: int
    inserted: int
    skipped: int
    pending: int
    bundle: Bundle

    def summary(self) -> str:
        parts = [f"{self.inserted} run{'s' if self.inserted != 1 else ''} imported"]
        if self.skipped:
            parts.append(f"{self.skipped} already in the store (skipped)")
        if self.pending:
            parts.append(
                f"{self.pending} waiting in the spool (the store was busy; they are stored "
                "by the next writer)"
            )
        text = ", ".join(parts) + f" from a bundle of {self.total}"
        if self.bundle.upgraded_from is not None:
            text += f" (format {self.bundle.upgraded_from}, upgraded)"
        return text + "."


def select_records(store: Store, filters: BundleFilters | None = None) -> list[RunRecord]:
    """The store's runs that ``filters`` allow, ordered by run id."""
    f = filters or BundleFilters()
    ids = None if f.run_ids is None else sorted(set(f.run_ids))
    return [r for r in store.records(ids) if f.allows(r)]


def _top1(rec: RunRecord) -> float | None:
    return next((a.value for a in rec.accuracy if a.metric == "top1"), None)


def _flat_row(rec: RunRecord, summary: dict[str, Any]) -> dict[str, Any]:
    spec = rec.spec
    row: dict[str, Any] = {
        "run_id": rec.run_id,
        "model": spec.model.name,
        "family": spec.model.family,
        "runtime": spec.runtime,
        "device": spec.device,
        "precision": spec.precision,
        "batch_size": spec.batch_size,
        "threads": spec.threads,
        "status": rec.status,
        "origin": rec.origin,
        "host": rec.host.hostname if rec.host else None,
        "device_name": rec.device.name if rec.device else None,
        "started_at": rec.started_at,
    }
    for key in metric_keys():
        value = summary.get(key)
        row[key] = None if value is None else float(value)
    if row.get("accuracy") is None:
        row["accuracy"] = _top1(rec)
    return row


def _summaries(store: Store, run_ids: list[str]) -> dict[str, dict[str, Any]]:
    frame = store.runs_frame(status=None)
    frame = frame[frame["run_id"].isin(run_ids)]
    keys = [k for k in metric_keys() if k in frame.columns]
    out: dict[str, dict[str, Any]] = {}
    for row in frame[["run_id", *keys]].to_dict(orient="records"):
        out[str(row["run_id"])] = {
            str(k): (None if _missing(v) else v) for k, v in row.items() if k != "run_id"
        }
    return out


def _missing(value: Any) -> bool:
    """None, NaN, pd.NA and NaT: a metric the run does not have."""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _table(store: Store, records: list[RunRecord]) -> pa.Table:
    summaries = _summaries(store, [r.run_id for r in records])
    rows = [_flat_row(r, summaries.get(r.run_id, {})) for r in records]
    columns: dict[str, list[Any]] = {name: [] for name in _flat_row_names()}
    for row in rows:
        for name in columns:
            columns[name].append(row.get(name))
    columns["record"] = [json.dumps(to_dict(r), allow_nan=True) for r in records]
    schema = pa.schema(
        [
            pa.field(name, _FLAT_TYPES.get(name, pa.float64()))
            for name in [*_flat_row_names(), "record"]
        ],
        metadata={
            KEY_FORMAT: str(BUNDLE_FORMAT).encode(),
            KEY_SCHEMA: str(store.schema_version()).encode(),
            KEY_VERSION: __version__.encode(),
            KEY_EXPORTED: utc_now_iso().encode(),
        },
    )
    return pa.table(columns, schema=schema)


_FLAT_TYPES: dict[str, pa.DataType] = {
    "run_id": pa.string(),
    "model": pa.string(),
    "family": pa.string(),
    "runtime": pa.string(),
    "device": pa.string(),
    "precision": pa.string(),
    "batch_size": pa.int64(),
    "threads": pa.int64(),
    "status": pa.string(),
    "origin": pa.string(),
    "host": pa.string(),
    "device_name": pa.string(),
    "started_at": pa.string(),
    "record": pa.string(),
}


def _flat_row_names() -> list[str]:
    fixed = [k for k in _FLAT_TYPES if k != "record"]
    return fixed + [k for k in metric_keys() if k not in fixed]


def bundle_bytes(store: Store, filters: BundleFilters | None = None) -> tuple[bytes, int]:
    """A bundle of the runs ``filters`` allow, as Parquet bytes, and its number of runs."""
    records = select_records(store, filters)
    sink = io.BytesIO()
    pq.write_table(_table(store, records), sink, compression="zstd")
    return sink.getvalue(), len(records)


def export_bundle(
    store: Store, out: str | os.PathLike[str], filters: BundleFilters | None = None
) -> int:
    """Write a bundle of the runs ``filters`` allow to ``out``; return how many runs it holds.

    The file appears whole or not at all (written beside it, then renamed).
    Raises ``InputError`` when ``out`` cannot be written.
    """
    target = Path(out).expanduser()
    data, n = bundle_bytes(store, filters)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=folder)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except OSError as err:
        raise InputError(f"cannot write the bundle to {target}: {err.strerror or err}") from err
    return n


def _meta_int(meta: dict[bytes, bytes], key: bytes) -> int | None:
    raw = meta.get(key)
    if raw is None:
        return None
    try:
        return int(raw.decode("ascii", errors="strict"))
    except (UnicodeDecodeError, ValueError):
        return None


def read_bundle(source: str | os.PathLike[str] | bytes, *, name: str | None = None) -> Bundle:
    """Read and check a bundle (a path or the file's bytes); nothing is stored.

    Raises ``InputError``, with what to do, for a file that is missing, not
    Parquet, not a Paretoscope bundle, of a newer format, or holding a row
    that is not a valid run record.
    """
    label = name or (str(source) if not isinstance(source, bytes) else "the uploaded file")
    if isinstance(source, bytes):
        if len(source) > MAX_BUNDLE_BYTES:
            raise InputError(f"{label} is larger than {MAX_BUNDLE_BYTES // 10**6} MB; refused.")
        reader_source: Any = pa.BufferReader(source)
    else:
        path = Path(source).expanduser()
        if not path.is_file():
            raise InputError(f"no bundle at {path}: the file does not exist or is not a file.")
        if path.stat().st_size > MAX_BUNDLE_BYTES:
            raise InputError(f"{label} is larger than {MAX_BUNDLE_BYTES // 10**6} MB; refused.")
        reader_source = str(path)
    try:
        pf = pq.ParquetFile(reader_source)
        meta = dict(pf.schema_arrow.metadata or {})
    except (pa.ArrowException, OSError, ValueError) as err:
        raise InputError(
            f"{label} is not a readable Parquet file ({str(err).splitlines()[0][:200]}). "
            "A result bundle is made by `paretoscope export --out FILE.parquet` or the "
            "dashboard's export button."
        ) from err
    fmt = _meta_int(meta, KEY_FORMAT)
    if fmt is None:
        raise InputError(
            f"{label} is a Parquet file but not a Paretoscope result bundle (it has no "
            "'paretoscope.bundle_format' metadata). Make one with `paretoscope export`."
        )
    if fmt > BUNDLE_FORMAT:
        raise InputError(
            f"{label} is a bundle of format {fmt}, newer than this Paretoscope reads "
            f"(format {BUNDLE_FORMAT}). Upgrade Paretoscope here, or export again with the "
            "version that reads it."
        )
    if fmt < MIN_BUNDLE_FORMAT:
        raise InputError(
            f"{label} is a bundle of format {fmt}, older than any this Paretoscope reads "
            f"(format {MIN_BUNDLE_FORMAT} to {BUNDLE_FORMAT}); export it again."
        )
    if "record" not in pf.schema_arrow.names:
        raise InputError(f"{label} has no 'record' column: the bundle is damaged; export again.")
    try:
        column = pf.read(columns=["record"]).column("record").to_pylist()
    except (pa.ArrowException, OSError, ValueError) as err:
        raise InputError(f"{label} is damaged and cannot be read: {err}; export again.") from err
    dicts = [_decode(i, text, label) for i, text in enumerate(column)]
    for version in range(fmt, BUNDLE_FORMAT):
        dicts = _UPGRADES[version](dicts)
    records = tuple(_record(i, d, label) for i, d in enumerate(dicts))
    seen: set[str] = set()
    for rec in records:
        if rec.run_id in seen:
            raise InputError(f"{label} holds run {rec.run_id} twice; the bundle is damaged.")
        seen.add(rec.run_id)
    version_raw = meta.get(KEY_VERSION, b"unknown").decode("utf-8", errors="replace")
    exported_raw = meta.get(KEY_EXPORTED, b"").decode("utf-8", errors="replace")
    return Bundle(
        records=records,
        bundle_format=BUNDLE_FORMAT,
        schema_version=_meta_int(meta, KEY_SCHEMA),
        exported_by=version_raw[:40],
        exported_at=exported_raw[:40],
        upgraded_from=fmt if fmt != BUNDLE_FORMAT else None,
    )


def _decode(i: int, text: object, label: str) -> dict[str, Any]:
    if not isinstance(text, str):
        raise InputError(f"{label}: row {i + 1} has no run record; the bundle is damaged.")
    try:
        data = json.loads(text)
    except ValueError as err:
        raise InputError(f"{label}: row {i + 1} is not valid JSON ({err}).") from err
    if not isinstance(data, dict):
        raise InputError(f"{label}: row {i + 1} is not a run record (not a JSON object).")
    return data


def _record(i: int, data: dict[str, Any], label: str) -> RunRecord:
    where = f"{label}: row {i + 1}"
    try:
        rec = from_dict(RunRecord, data)
        # Touch the nested records: from_dict builds them, and a wrong shape
        # (a list where an object belongs) surfaces here as an error.
        _ = (rec.spec.model.name, rec.spec.artifact.sha256, rec.spec.runtime)
    except (TypeError, AttributeError, KeyError, ValueError) as err:
        raise InputError(f"{where} is not a valid run record: {err}.") from err
    rid = rec.run_id
    problem = run_id_problem(rid)
    if problem is not None:
        raise InputError(f"{where} has an invalid run id {str(rid)[:60]!r}: it {problem}.")
    if rec.spec.run_id != rid:
        raise InputError(f"{where}: its run id and its spec's run id differ.")
    if rec.status not in ("ok", "failed"):
        raise InputError(f"{where}: status must be ok or failed, not {str(rec.status)[:40]!r}.")
    if rec.spec.runtime not in RUNTIMES:
        raise InputError(f"{where}: unknown runtime {str(rec.spec.runtime)[:40]!r}.")
    if rec.spec.precision not in PRECISIONS:
        raise InputError(f"{where}: unknown precision {str(rec.spec.precision)[:40]!r}.")
    if not isinstance(rec.spec.batch_size, int) or rec.spec.batch_size < 1:
        raise InputError(f"{where}: batch size must be a positive integer.")
    return rec


def import_bundle(
    store: Store, source: str | os.PathLike[str] | bytes, *, name: str | None = None
) -> ImportResult:
    """Read, check and store a bundle; imported runs get ``origin='imported'``.

    All or nothing: a bad bundle raises ``InputError`` before anything is
    stored, and the new runs are spooled as one batch and stored in one
    transaction, so a crash at any moment leaves all of them stored (by the
    next open of the store) or none. Idempotent: runs whose id the store
    already has are skipped. The counts are of this bundle's runs only.
    """
    bundle = read_bundle(source, name=name)
    records = [dataclasses.replace(r, origin="imported") for r in bundle.records]
    present = _stored_ids(store, [r.run_id for r in records])
    todo = [r for r in records if r.run_id not in present]
    pending = 0
    if todo:
        label = name or (str(source) if not isinstance(source, bytes) else "an uploaded bundle")
        pending = store.ingest_batch(todo, label=f"import of {label}").pending
    now_present = _stored_ids(store, [r.run_id for r in todo]) if todo else set()
    return ImportResult(
        total=len(records),
        inserted=len(now_present),
        skipped=len(present),
        pending=pending,
        bundle=bundle,
    )


def _stored_ids(store: Store, run_ids: Iterable[str]) -> set[str]:
    ids = list(run_ids)
    if not ids:
        return set()
    frame = store.query("SELECT run_id FROM runs WHERE list_contains(?, run_id)", [ids])
    return set(frame["run_id"].tolist())
