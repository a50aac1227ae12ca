"""A RunRecord as rows of the store's tables and back: one mapping for ingest, bulk and reads.

A row is a dict keyed by column name (as in ``store.migrations``). A record
gives at most one row of each reference table (hosts, devices, models,
artifacts, datasets: shared by runs, keyed by ``REFERENCE_KEYS``, the first
row stored is kept) and its own rows of ``runs``, ``latency`` and
``accuracy``. ``Store.ingest`` inserts them one statement a row and
``store.bulk`` one frame a table, so both write the same rows, and
``record_from_rows`` rebuilds the record ``get_record`` returns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from paretoscope.core.legacy import upgrade_record
from paretoscope.core.records import (
    AccuracyResult,
    ArtifactRef,
    DatasetRef,
    DeviceInfo,
    EnergyStats,
    HostInfo,
    LatencyStats,
    MemoryStats,
    ModelRef,
    OpProfile,
    OpTime,
    Provenance,
    RunRecord,
    RunSpec,
    ServingStats,
    from_dict,
    to_dict,
)
from paretoscope.core.timefmt import format_utc, parse_utc
from store.rows_lm import generation_columns, generation_from_row
from store.rows_scenarios import scenario_columns, scenarios_from_row

__all__ = ["REFERENCE_KEYS", "TABLES", "Row", "record_from_rows", "record_rows"]

Row = dict[str, Any]

# Reference table -> its key. Insertion order: references before the runs.
REFERENCE_KEYS: dict[str, str] = {
    "hosts": "host_id",
    "devices": "device_id",
    "models": "model_id",
    "artifacts": "sha256",
    "datasets": "dataset_id",
}
TABLES: tuple[str, ...] = (*REFERENCE_KEYS, "runs", "latency", "accuracy", "op_profiles")


def record_rows(rec: RunRecord, now: datetime) -> list[tuple[str, Row]]:
    """``(table, row)`` pairs of ``rec``, in ``TABLES`` order; ``now`` (naive UTC) stamps them.

    Records of earlier versions are upgraded first (``core.legacy``), so every
    ingest path stores today's meaning of each column.
    """
    rec = upgrade_record(rec)
    spec = rec.spec
    rows: list[tuple[str, Row]] = []
    if rec.host is not None:
        rows.append(("hosts", _host_row(rec.host, now)))
    if rec.device is not None:
        rows.append(("devices", _device_row(rec.device)))
    rows.append(("models", _model_row(spec.model, rec.params, now)))
    rows.append(("artifacts", _artifact_row(spec.artifact)))
    if spec.dataset is not None:
        rows.append(("datasets", _dataset_row(spec.dataset)))
    rows.append(("runs", _run_row(rec, now)))
    if rec.latency is not None:
        rows.append(("latency", _latency_row(rec.run_id, rec.latency)))
    rows.extend(("accuracy", _accuracy_row(rec.run_id, acc)) for acc in rec.accuracy)
    if rec.op_profile is not None:
        rows.extend(("op_profiles", row) for row in _op_rows(rec.run_id, rec.op_profile))
    return rows


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(to_dict(value))


def _host_row(h: HostInfo, now: datetime) -> Row:
    return {
        "host_id": h.host_id,
        "hostname": h.hostname,
        "os": h.os,
        "cpu_model": h.cpu_model,
        "cpu_cores_logical": h.cpu_cores_logical,
        "cpu_cores_physical": h.cpu_cores_physical,
        "mem_total_mb": h.mem_total_mb,
        "python_version": h.python_version,
        "first_seen_at": now,
        "gpus": json.dumps(list(h.gpus)),
    }


def _device_row(d: DeviceInfo) -> Row:
    return {
        "device_id": d.device_id,
        "host_id": d.host_id,
        "kind": d.kind,
        "name": d.name,
        "device_index": d.index,
        "memory_mb": d.memory_mb,
        "compute_capability": d.compute_capability,
        "driver_version": d.driver_version,
        "extra": json.dumps(d.extra),
    }


def _model_row(m: ModelRef, run_params: int | None, now: datetime) -> Row:
    return {
        "model_id": m.model_id,
        "name": m.name,
        "family": m.family,
        "task": m.task,
        "parent_model_id": m.parent_model_id,
        "transformation": m.transformation,
        "params": m.params if m.params is not None else run_params,
        "source": m.source,
        "description": m.description,
        "created_at": now,
    }


def _artifact_row(a: ArtifactRef) -> Row:
    return {
        "sha256": a.sha256,
        "format": a.format,
        "path": a.path,
        "size_bytes": a.size_bytes,
        "precision": a.precision,
        "builder": a.builder,
        "builder_kwargs": json.dumps(a.builder_kwargs),
    }


def _dataset_row(ds: DatasetRef) -> Row:
    return {
        "dataset_id": ds.dataset_id,
        "name": ds.name,
        "split": ds.split,
        "n_samples": ds.n_samples,
        "sha256": ds.sha256,
        "source": ds.source,
        "path": ds.path,
    }


def _run_row(rec: RunRecord, now: datetime) -> Row:
    spec, prov, mem, en = rec.spec, rec.provenance, rec.memory, rec.energy
    return {
        "run_id": rec.run_id,
        "model_id": spec.model.model_id,
        "artifact_sha256": spec.artifact.sha256,
        "host_id": rec.host.host_id if rec.host else None,
        "device_id": rec.device.device_id if rec.device else None,
        "device": spec.device,
        "runtime": spec.runtime,
        "runtime_version": prov.runtime_version if prov else None,
        "execution_provider": prov.execution_provider if prov else None,
        "precision": spec.precision,
        "batch_size": spec.batch_size,
        "threads": spec.threads,
        "dims": json.dumps(spec.dims),
        "input_shapes": json.dumps(prov.input_shapes) if prov else None,
        "dataset_id": spec.dataset.dataset_id if spec.dataset else None,
        "status": rec.status,
        "error": rec.error,
        "origin": rec.origin,
        "job_id": spec.job_id,
        "started_at": parse_utc(rec.started_at),
        "finished_at": parse_utc(rec.finished_at),
        "ingested_at": now,
        "throughput_per_s": rec.throughput_per_s,
        "model_size_mb": rec.model_size_mb,
        "params": rec.params,
        "peak_mem_mb": mem.peak_mem_mb if mem else None,
        "baseline_mem_mb": mem.baseline_mem_mb if mem else None,
        "mem_source": mem.source if mem else None,
        "device_peak_reserved_mb": mem.device_peak_reserved_mb if mem else None,
        "energy_j": en.energy_j if en else None,
        "energy_j_per_item": en.energy_j_per_item if en else None,
        "avg_power_w": en.avg_power_w if en else None,
        "energy_source": en.source if en else None,
        "energy_unavailable_reason": en.unavailable_reason if en else None,
        "energy_window_s": en.window_s if en else None,
        "peak_host_mem_mb": mem.peak_host_mem_mb if mem else None,
        "peak_mem_unavailable_reason": mem.unavailable_reason if mem else None,
        "repeats": spec.repeats,
        "provenance": _json(prov),
        "spec": _json(spec),
        **_serving_columns(rec.serving),
        **generation_columns(rec),
        **scenario_columns(rec),
    }


def _serving_columns(serving: ServingStats | None) -> Row:
    """The serving-cost columns of ``runs`` (migration 8); all None for a record without them."""
    e2e = serving.e2e if serving else None
    return {
        "load_ms": serving.load_ms if serving else None,
        "first_run_ms": serving.first_run_ms if serving else None,
        "latency_e2e_ms_p50": e2e.p50_ms if e2e else None,
        "latency_e2e_ms_p90": e2e.p90_ms if e2e else None,
        "latency_e2e_ms_p99": e2e.p99_ms if e2e else None,
        "latency_e2e_ms_p50_ci_low": e2e.ci_low_ms if e2e else None,
        "latency_e2e_ms_p50_ci_high": e2e.ci_high_ms if e2e else None,
        "serving_unavailable_reason": serving.unavailable_reason if serving else None,
        "latency_e2e": _json(e2e),
    }


def _serving(run: Row) -> ServingStats | None:
    """The ``ServingStats`` of a ``runs`` row; None for a run stored without them."""
    keys = ("load_ms", "first_run_ms", "latency_e2e", "serving_unavailable_reason")
    if all(run.get(k) is None for k in keys):
        return None
    e2e = run.get("latency_e2e")
    return ServingStats(
        load_ms=run.get("load_ms"),
        first_run_ms=run.get("first_run_ms"),
        e2e=from_dict(LatencyStats, json.loads(e2e)) if e2e else None,
        unavailable_reason=run.get("serving_unavailable_reason"),
    )


def _latency_row(run_id: str, lat: LatencyStats) -> Row:
    return {
        "run_id": run_id,
        "mean_ms": lat.mean_ms,
        "p50_ms": lat.p50_ms,
        "p90_ms": lat.p90_ms,
        "p99_ms": lat.p99_ms,
        "std_ms": lat.std_ms,
        "min_ms": lat.min_ms,
        "max_ms": lat.max_ms,
        "ci_low_ms": lat.ci_low_ms,
        "ci_high_ms": lat.ci_high_ms,
        "n_iter": lat.n_iter,
        "warmup_iter": lat.warmup_iter,
        "total_time_s": lat.total_time_s,
        "stop_reason": lat.stop_reason,
        "timer": lat.timer,
        "samples_ms": list(lat.samples_ms),
        "quantiles_ms": list(lat.quantiles_ms),
        "ci_scope": lat.ci_scope,
        "repeat_stats": json.dumps(to_dict(lat.repeats)),
    }


def _accuracy_row(run_id: str, acc: AccuracyResult) -> Row:
    return {
        "run_id": run_id,
        "metric": acc.metric,
        "value": acc.value,
        "dataset_id": acc.dataset_id,
        "n_samples": acc.n_samples,
        "origin": acc.origin,
        "note": acc.note,
        "ci_low": acc.ci_low,
        "ci_high": acc.ci_high,
        "item_correct": acc.item_correct,
        "items": acc.items,
    }


def _op_rows(run_id: str, prof: OpProfile) -> list[Row]:
    last = len(prof.ops)
    return [
        {
            "run_id": run_id,
            "rank": rank,
            "op": op.op,
            "calls": op.calls,
            "total_ms": op.total_ms,
            "share": op.share,
            "n_ops": prof.others if rank == last and prof.others else 1,
            "profiler": prof.profiler,
            "iterations": prof.iterations,
        }
        for rank, op in enumerate(prof.ops, start=1)
    ]


# -- rows -> record ---------------------------------------------------------


def record_from_rows(
    run: Row,
    *,
    host: Row | None = None,
    device: Row | None = None,
    latency: Row | None = None,
    accuracy: Sequence[Row] = (),
    op_profile: Sequence[Row] = (),
) -> RunRecord:
    """The ``RunRecord`` whose rows these are: the inverse of ``record_rows``.

    Rows are as read back (``SELECT *``). Columns only the store keeps
    (``ingested_at``, ``first_seen_at``) are dropped; ``accuracy`` keeps its order;
    ``op_profile`` rows are sorted by rank here.
    """
    mem = None
    if any(
        run[k] is not None
        for k in ("peak_mem_mb", "peak_host_mem_mb", "peak_mem_unavailable_reason")
    ):
        mem = MemoryStats(
            run["peak_mem_mb"],
            run["baseline_mem_mb"],
            run["mem_source"],
            run["device_peak_reserved_mb"],
            run["peak_host_mem_mb"],
            run["peak_mem_unavailable_reason"],
        )
    energy = None
    if run["energy_j"] is not None or run["energy_unavailable_reason"] is not None:
        energy = EnergyStats(
            run["energy_j"],
            run["energy_j_per_item"],
            run["avg_power_w"],
            run["energy_source"],
            run["energy_unavailable_reason"],
            run["energy_window_s"],
        )
    prov = run["provenance"]
    return RunRecord(
        run_id=run["run_id"],
        spec=from_dict(RunSpec, json.loads(run["spec"])),
        status=run["status"],
        started_at=_iso(run["started_at"]),
        finished_at=_iso(run["finished_at"]),
        host=_host(host) if host else None,
        device=_device(device) if device else None,
        provenance=from_dict(Provenance, json.loads(prov)) if prov else None,
        latency=_latency(latency) if latency else None,
        memory=mem,
        energy=energy,
        accuracy=tuple(_accuracy(a) for a in accuracy),
        throughput_per_s=run["throughput_per_s"],
        model_size_mb=run["model_size_mb"],
        params=run["params"],
        error=run["error"],
        origin=run["origin"],
        serving=_serving(run),
        op_profile=_op_profile(op_profile),
        generation=generation_from_row(run),
        scenarios=scenarios_from_row(run),
    )


def _iso(value: datetime | None) -> str:
    return format_utc(value) if value is not None else ""


def _host(row: Row) -> HostInfo:
    h = dict(row)
    h.pop("first_seen_at", None)
    h["gpus"] = tuple(json.loads(h["gpus"])) if h.get("gpus") else ()
    return from_dict(HostInfo, h)


def _device(row: Row) -> DeviceInfo:
    d = dict(row)
    d["index"] = d.pop("device_index")
    d["extra"] = json.loads(d["extra"]) if d["extra"] else {}
    return from_dict(DeviceInfo, d)


def _latency(row: Row) -> LatencyStats:
    lat = dict(row)
    lat.pop("run_id")
    lat["samples_ms"] = tuple(lat["samples_ms"] or ())
    lat["quantiles_ms"] = tuple(lat["quantiles_ms"] or ())
    lat["ci_scope"] = lat["ci_scope"] or "within-process"
    # Plain dicts: from_dict builds each RepeatLatency with the LatencyStats.
    lat["repeats"] = json.loads(lat.pop("repeat_stats") or "[]")
    return from_dict(LatencyStats, lat)


def _accuracy(row: Row) -> AccuracyResult:
    return AccuracyResult(
        metric=row["metric"],
        value=row["value"],
        dataset_id=row["dataset_id"],
        n_samples=row["n_samples"],
        origin=row["origin"],
        note=row["note"] or "",
        ci_low=row["ci_low"],
        ci_high=row["ci_high"],
        item_correct=row["item_correct"],
        items=row["items"],
    )


def _op_profile(rows: Sequence[Row]) -> OpProfile | None:
    if not rows:
        return None
    ranked = sorted(rows, key=lambda r: int(r["rank"]))
    ops = tuple(
        OpTime(
            str(r["op"]),
            int(r["calls"] or 0),
            float(r["total_ms"] or 0.0),
            float(r["share"] or 0.0),
        )
        for r in ranked
    )
    return OpProfile(
        profiler=str(ranked[0]["profiler"] or ""),
        iterations=int(ranked[0]["iterations"] or 0),
        ops=ops,
        others=int(ranked[-1]["n_ops"]) if int(ranked[-1]["n_ops"] or 1) > 1 else 0,
    )
