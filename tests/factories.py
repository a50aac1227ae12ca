"""Well-formed synthetic run records for tests of the store, the CLI and the pages.

These are test fixtures, never shown to users as measurements.
"""

from __future__ import annotations

import dataclasses
import hashlib
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
    Provenance,
    RunRecord,
    RunSpec,
    new_run_id,
)

HOST = HostInfo("host0001", "testbox", "Linux", "Test CPU", 2, 2, 24000.0, "3.11.7")
CPU = DeviceInfo("host0001:cpu", "host0001", "cpu", "Test CPU (2 cores)")


def make_record(
    *,
    model: str = "mlp-w64-d2",
    family: str = "mlp",
    runtime: str = "ort",
    precision: str = "fp32",
    batch_size: int = 1,
    threads: int = 1,
    latency_ms: float | None = 1.0,
    accuracy: float | None = 0.95,
    accuracy_origin: str = "measured",
    peak_mem_mb: float = 100.0,
    model_size_mb: float = 0.5,
    params: int | None = 10_000,
    status: str = "ok",
    error: str | None = None,
    parent_model_id: str | None = None,
    run_id: str | None = None,
    **overrides: Any,
) -> RunRecord:
    """A run record; pass ``latency_ms=None``/``accuracy=None`` for missing metrics."""
    # runtime, status and accuracy_origin come in as plain str (callers loop over lists
    # of them), hence the arg-type ignores where they meet the records' Literal fields.
    model_id = hashlib.sha256(f"{model}|{precision}|{runtime}".encode()).hexdigest()[:16]
    rid = run_id or new_run_id()
    ds = DatasetRef("digits-test", "digits", "test", "/nonexistent.npz", 450, "0" * 64)
    spec = RunSpec(
        run_id=rid,
        model=ModelRef(
            model_id,
            model,
            family,
            parent_model_id=parent_model_id,
            transformation="int8 dynamic quantization (onnxruntime)" if parent_model_id else None,
            params=params,
        ),
        artifact=ArtifactRef(
            hashlib.sha256(model_id.encode()).hexdigest(),
            "onnx",
            "/nonexistent.onnx",
            1000,
            precision,
        ),
        runtime=runtime,  # type: ignore[arg-type]
        precision=precision,
        batch_size=batch_size,
        threads=threads,
        dataset=ds,
    )
    lat = None
    if latency_ms is not None:
        lat = LatencyStats(
            mean_ms=latency_ms * 1.02, p50_ms=latency_ms, p90_ms=latency_ms * 1.1,
            p99_ms=latency_ms * 1.3, std_ms=latency_ms * 0.05, min_ms=latency_ms * 0.9,
            max_ms=latency_ms * 1.5, ci_low_ms=latency_ms * 0.99, ci_high_ms=latency_ms * 1.01,
            n_iter=500, warmup_iter=10, total_time_s=0.6, stop_reason="ci_target",
            timer="perf_counter_ns", samples_ms=(latency_ms,) * 5, quantiles_ms=(latency_ms,) * 101,
        )  # fmt: skip
    accs: tuple[AccuracyResult, ...] = ()
    if accuracy is not None:
        accs = (AccuracyResult("top1", accuracy, ds.dataset_id, 450, accuracy_origin),)  # type: ignore[arg-type]
    rec = RunRecord(
        run_id=rid,
        spec=spec,
        status=status,  # type: ignore[arg-type]
        started_at="2026-11-22T10:00:00.000000+00:00",
        finished_at="2026-11-22T10:00:02.000000+00:00",
        host=HOST,
        device=CPU,
        provenance=Provenance(
            "1.32.0",
            {"onnxruntime": "1.32.0", "numpy": "2.4.6"},
            "CPUExecutionProvider",
            {"x": [batch_size, 64]},
            {"OMP_NUM_THREADS": str(threads)},
        ),
        latency=lat if status == "ok" else None,
        memory=MemoryStats(peak_mem_mb, 80.0, "vmhwm", peak_host_mem_mb=peak_mem_mb)
        if status == "ok"
        else None,
        energy=EnergyStats.unavailable("no RAPL powercap interface on this test host"),
        accuracy=accs if status == "ok" else (),
        throughput_per_s=(batch_size / (latency_ms / 1000.0)) if latency_ms else None,
        model_size_mb=model_size_mb,
        params=params,
        error=error,
    )
    # Today's record shape (accuracy intervals filled), as a measured run has.
    return upgrade_record(dataclasses.replace(rec, **overrides) if overrides else rec)
