"""Well-formed synthetic run records for tests of the store, the CLI and the pages.

These are test fixtures, never shown to users as measurements.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

from paretoscope.core.intervals import wilson_interval
from paretoscope.core.legacy import upgrade_record
from paretoscope.core.records import (
    AccuracyResult,
    ArtifactRef,
    DatasetRef,
    DeviceInfo,
    EnergyStats,
    GenerationStats,
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


def generation_stats(
    *,
    prompt_len: int = 32,
    gen_len: int = 16,
    ttft_ms: float = 8.0,
    tpot_ms: float = 2.0,
    kv_cache_mb: float | None = 0.25,
    energy_j_per_token: float | None = None,
    energy_unavailable_reason: str | None = "no NVML on this test host",
) -> GenerationStats:
    """A causal LM's generation by phase (issue 15): TTFT samples per call, TPOT per step."""

    def stats(p50: float, n: int) -> LatencyStats:
        samples = tuple(p50 * (0.9 + 0.2 * i / max(1, n - 1)) for i in range(n))
        return LatencyStats(
            mean_ms=p50, p50_ms=p50, p90_ms=p50 * 1.08, p99_ms=p50 * 1.1, std_ms=p50 * 0.05,
            min_ms=p50 * 0.9, max_ms=p50 * 1.1, ci_low_ms=p50 * 0.99, ci_high_ms=p50 * 1.01,
            n_iter=n, warmup_iter=2, total_time_s=0.5, stop_reason="ci_target",
            timer="perf_counter_ns", samples_ms=samples,
        )  # fmt: skip

    return GenerationStats(
        prompt_len=prompt_len,
        gen_len=gen_len,
        ttft=stats(ttft_ms, 20),
        tpot=stats(tpot_ms, 20 * (gen_len - 1)),
        prefill_ms_p50=ttft_ms - tpot_ms,
        kv_cache_mb=kv_cache_mb,
        energy_j_per_token=energy_j_per_token,
        energy_unavailable_reason=None
        if energy_j_per_token is not None
        else energy_unavailable_reason,
        prompt_source="data",
    )


def make_lm_record(
    *,
    model: str = "gpt2-w64-d2",
    precision: str = "fp32",
    runtime: str = "torch",
    batch_size: int = 1,
    prompt_len: int = 32,
    gen_len: int = 16,
    ttft_ms: float = 8.0,
    tpot_ms: float = 2.0,
    perplexity: float | None = 40.0,
    next_token_accuracy: float | None = 0.3,
    text_id: str = "pydoc-topics",
    parent_model_id: str | None = None,
    **kwargs: Any,
) -> RunRecord:
    """A causal LM run: ``generation``, perplexity/next-token accuracy, dims prompt_len/gen_len.

    Quality entries follow the contract: ``perplexity`` (value, n = predicted
    tokens) and ``next_token_accuracy`` (a fraction), on the text ``text_id``.
    """
    rec = make_record(
        model=model,
        family="gpt2",
        runtime=runtime,
        precision=precision,
        batch_size=batch_size,
        latency_ms=None,
        accuracy=None,
        parent_model_id=parent_model_id,
        **kwargs,
    )
    ds = DatasetRef(
        text_id,
        text_id,
        "text",
        "/nonexistent.txt",
        4000,
        text_id.encode().hex()[:64].ljust(64, "0"),
    )
    accs: list[AccuracyResult] = []
    if perplexity is not None:
        accs.append(AccuracyResult("perplexity", perplexity, ds.dataset_id, 4000))
    if next_token_accuracy is not None:
        lo, hi = wilson_interval(round(next_token_accuracy * 4000), 4000)
        accs.append(
            AccuracyResult(
                "next_token_accuracy",
                next_token_accuracy,
                ds.dataset_id,
                4000,
                ci_low=lo,
                ci_high=hi,
            )
        )
    spec = dataclasses.replace(
        rec.spec, dataset=ds, dims={"prompt_len": prompt_len, "gen_len": gen_len}
    )
    gen = generation_stats(prompt_len=prompt_len, gen_len=gen_len, ttft_ms=ttft_ms, tpot_ms=tpot_ms)
    out = dataclasses.replace(
        rec,
        spec=spec,
        accuracy=tuple(accs) if rec.status == "ok" else (),
        generation=gen if rec.status == "ok" else None,
        throughput_per_s=None,
    )
    return upgrade_record(out)
