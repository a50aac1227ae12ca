"""Measure one causal-LM ``RunSpec`` in this process: load, cast, generate under the timer, score.

``measure.profile.profile_run`` hands a spec whose model task is
``causal-lm`` here, so a crash or hang is a failed run exactly as for any
other model (the worker process around it is the same). This module is a
sibling of profile.py so that ``measure.llm``, which it imports, never
imports ``measure``'s top level. The run's prompt and generated lengths are
``spec.dims["prompt_len"]`` and ``spec.dims["gen_len"]``;
``spec.dims["context"]`` is the window of the quality score. Stages:
loading, timing, evaluating, done.
"""

from __future__ import annotations

import io
import os
import platform
import time
import warnings
from collections.abc import Callable
from importlib import metadata
from typing import Any

from measure.devices import cpu_governor, device_for, host_info
from measure.energy import EnergyMeter
from measure.memory import BYTES_PER_MB, current_rss_mb, memory_stats
from measure.profile import THREAD_ENV_VARS, _energy_meter, _pin_threads, _validate
from measure.timing import latency_stats, measure_latency
from paretoscope.core.errors import InputError, UnavailableError
from paretoscope.core.records import (
    AccuracyResult,
    EnergyStats,
    GenerationStats,
    MemoryStats,
    Provenance,
    RunRecord,
    RunSpec,
    ServingStats,
    TimingBudget,
)
from paretoscope.core.timefmt import utc_now_iso

__all__ = [
    "DEFAULT_CONTEXT",
    "LM_PRECISIONS",
    "TASK",
    "apply_precision",
    "measure_generation",
    "profile_causal_lm",
]

TASK = "causal-lm"
#: Precisions a causal-LM run accepts (fp16 on a GPU only, int8 on a CPU only).
LM_PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "bf16", "int8")
DEFAULT_CONTEXT = 128
_LIBRARIES = ("numpy", "torch", "transformers", "tokenizers", "safetensors")


def _conv1d_to_linear(model: Any) -> int:
    """Replace transformers' ``Conv1D`` (GPT-2's projections) by equal ``nn.Linear``; count."""
    import torch
    from transformers.pytorch_utils import Conv1D

    n = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Conv1D):
                w = child.weight  # (in, out)
                linear = torch.nn.Linear(w.shape[0], w.shape[1], bias=True, dtype=w.dtype)
                with torch.no_grad():
                    linear.weight.copy_(w.t())
                    linear.bias.copy_(child.bias)
                setattr(parent, name, linear)
                n += 1
    return n


def apply_precision(model: Any, precision: str, device: str) -> tuple[Any, str | None]:
    """``model`` in ``precision`` on ``device``, and a note; a precision it cannot run raises.

    ``bf16``/``fp16`` cast the weights; ``int8`` is torch's dynamic
    quantization of every ``nn.Linear`` (GPT-2's ``Conv1D`` projections are
    first rewritten as the equal ``nn.Linear``), CPU only. Raises
    ``UnavailableError`` for fp16 or int8 where the device cannot run them,
    ``InputError`` for an unknown precision.
    """
    import torch

    cuda = device.startswith("cuda")
    if precision == "fp32":
        return model.to(device), None
    if precision == "bf16":
        return model.to(device=device, dtype=torch.bfloat16), "weights cast to bfloat16"
    if precision == "fp16":
        if not cuda:
            raise UnavailableError("fp16 causal-LM runs need a GPU; on a CPU use bf16")
        return model.to(device=device, dtype=torch.float16), "weights cast to float16"
    if precision == "int8":
        if cuda:
            raise UnavailableError(
                "int8 dynamic quantization (torch.ao) runs on a CPU only; measure it with "
                "--device cpu"
            )
        converted = _conv1d_to_linear(model)
        if not any(isinstance(m, torch.nn.Linear) for m in model.modules()):
            raise InputError("int8 dynamic quantization found no linear layer in the model")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantized = torch.ao.quantization.quantize_dynamic(
                model, {torch.nn.Linear}, dtype=torch.qint8
            )
        note = "int8 dynamic quantization of every nn.Linear (torch.ao, qint8 weights)"
        if converted:
            note += f"; {converted} Conv1D projections rewritten as nn.Linear first"
        return quantized, note
    raise InputError(f"precision {precision!r} is not one of {', '.join(LM_PRECISIONS)}")


def measure_generation(
    model: Any,
    prompt: Any,
    gen_len: int,
    budget: TimingBudget,
    *,
    device: str = "cpu",
    meter: EnergyMeter | None = None,
    prompt_source: str = "random",
) -> tuple[GenerationStats, EnergyStats | None]:
    """Time generate calls under ``budget``; ``GenerationStats`` and the meter's energy.

    TTFT decides the adaptive stop (one sample per call); TPOT collects
    every decode step of the timed calls. ``energy_j_per_token`` is the
    meter's energy over the timed calls divided by the tokens they
    generated (batch × gen_len each), or None with the meter's reason.
    Raises ``InputError`` when ``gen_len < 2`` (no decode step to time).
    """
    from measure.llm.generate import PhaseClock, cache_bytes, generate_once

    if gen_len < 2:
        raise InputError(f"gen_len must be >= 2 so a decode step is timed (got {gen_len})")
    batch, prompt_len = int(prompt.shape[0]), int(prompt.shape[1])
    clock = PhaseClock(device)
    prefill: list[int] = []
    tpot: list[int] = []
    energy: EnergyStats | None = None

    class _TtftClock:
        name = "cuda_event" if clock.cuda else "perf_counter_ns"

        def __call__(self, step: Callable[[], object]) -> int:
            times = generate_once(model, prompt, gen_len, clock)
            prefill.append(times.prefill_ns)
            tpot.extend(times.tpot_ns)
            return times.ttft_ns

    def warm_step() -> None:
        generate_once(model, prompt, gen_len, clock)

    def start() -> None:
        if meter is not None:
            meter.start()

    def stop(n_calls: int) -> None:
        nonlocal energy
        if meter is not None:
            energy = meter.stop(items=n_calls * batch * gen_len)

    ttft = measure_latency(
        warm_step, None, budget, on_window_start=start, on_window_end=stop, clock=_TtftClock()
    )
    tpot_stats = latency_stats(
        tpot,
        warmup_iter=budget.warmup_iters * (gen_len - 1),
        total_time_s=sum(tpot) / 1e9,
        stop_reason=ttft.stop_reason,
        timer=ttft.timer,
    )
    prefill_p50 = latency_stats(prefill).p50_ms
    kv = cache_bytes(clock.last_cache) / BYTES_PER_MB
    per_token, reason = _per_token(energy)
    return (
        GenerationStats(
            prompt_len=prompt_len,
            gen_len=gen_len,
            ttft=ttft,
            tpot=tpot_stats,
            prefill_ms_p50=prefill_p50,
            kv_cache_mb=kv,
            energy_j_per_token=per_token,
            energy_unavailable_reason=reason,
            prompt_source=prompt_source,
        ),
        energy,
    )


def _per_token(energy: EnergyStats | None) -> tuple[float | None, str | None]:
    """Energy per generated token (J), or None and why."""
    if energy is not None and energy.energy_j_per_item is not None:
        return energy.energy_j_per_item, None
    return None, (energy.unavailable_reason if energy is not None else None) or "no energy meter"


def _load(spec: RunSpec) -> tuple[Any, Any]:
    from measure.llm.load import load_causal_lm

    return load_causal_lm(spec.artifact.path, builder=spec.artifact.builder)


def _text_ids(spec: RunSpec, tokenizer: Any) -> list[int] | None:
    if spec.dataset is None:
        return None
    from measure.llm.quality import tokenize_text
    from measure.llm.text import read_text_file

    return tokenize_text(tokenizer, read_text_file(spec.dataset.path).text)


def _memory(device: str, baseline_mb: float | None) -> MemoryStats:
    if not device.startswith("cuda"):
        return memory_stats(baseline_mb)
    import torch

    stats = memory_stats(baseline_mb)
    return MemoryStats(
        torch.cuda.max_memory_allocated(device) / BYTES_PER_MB,
        baseline_mb,
        "torch-allocator",
        torch.cuda.max_memory_reserved(device) / BYTES_PER_MB,
        stats.peak_host_mem_mb,
    )


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in _LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def _quality(
    spec: RunSpec, model: Any, ids: list[int] | None, accuracy: bool
) -> tuple[AccuracyResult, ...]:
    if ids is None or spec.dataset is None or not accuracy:
        return ()
    from measure.llm.quality import quality_results, score_text

    context = int(spec.dims.get("context", DEFAULT_CONTEXT))
    score = score_text(model, ids, context, device=spec.device)
    return tuple(quality_results(score, spec.dataset.dataset_id))


def profile_causal_lm(
    spec: RunSpec, *, on_stage: Callable[[str], None] | None = None, accuracy: bool = True
) -> RunRecord:
    """Measure a causal-LM ``spec`` in this process; an ``ok`` ``RunRecord`` with ``generation``.

    ``accuracy=False`` skips the quality score. Raises ``InputError`` for an
    unusable spec or model, ``UnavailableError`` for a precision the device
    cannot run; a model failure propagates (the worker makes it a failed run).
    """

    def stage(name: str) -> None:
        if on_stage is not None:
            on_stage(name)

    started_at = utc_now_iso()
    _validate(spec)
    prompt_len = int(spec.dims.get("prompt_len", 0))
    gen_len = int(spec.dims.get("gen_len", 0))
    if prompt_len < 1 or gen_len < 2:
        raise InputError(f"a causal-LM run needs prompt_len >= 1 and gen_len >= 2 ({spec.dims})")
    _pin_threads(spec)
    host = host_info()
    device = device_for(spec.device, host)

    stage("loading")
    import torch

    from measure.llm.generate import prompt_ids

    torch.set_num_threads(spec.threads)
    baseline_mb = current_rss_mb()
    t0 = time.perf_counter_ns()
    model, tokenizer = _load(spec)
    params = sum(p.numel() for p in model.parameters())
    model, precision_note = apply_precision(model, spec.precision, spec.device)
    if spec.device.startswith("cuda"):
        torch.cuda.synchronize(spec.device)
        torch.cuda.reset_peak_memory_stats(spec.device)
    load_ms = (time.perf_counter_ns() - t0) / 1e6
    ids = _text_ids(spec, tokenizer)
    vocab = int(getattr(model.config, "vocab_size", 0) or len(tokenizer))
    prompt, source = prompt_ids(ids, spec.batch_size, prompt_len, vocab, spec.device)

    stage("timing")
    notes: list[str] = [precision_note] if precision_note else []
    if source == "random":
        notes.append("efficiency only: prompts are random token ids (no evaluation text)")
    meter, budget = _energy_meter(spec, device, notes)
    generation, energy = measure_generation(
        model, prompt, gen_len, budget, device=spec.device, meter=meter, prompt_source=source
    )
    memory = _memory(spec.device, baseline_mb)

    stage("evaluating")
    scores = _quality(spec, model, ids, accuracy)
    record = RunRecord(
        run_id=spec.run_id,
        spec=spec,
        status="ok",
        started_at=started_at,
        finished_at=utc_now_iso(),
        host=host,
        device=device,
        provenance=_provenance(spec, torch.__version__, meter, notes),
        memory=memory,
        energy=energy,
        accuracy=scores,
        model_size_mb=_state_size_mb(model),
        params=params,
        serving=ServingStats(load_ms=load_ms),
        generation=generation,
    )
    stage("done")
    return record


def _provenance(spec: RunSpec, version: str, meter: EnergyMeter, notes: list[str]) -> Provenance:
    return Provenance(
        runtime_version=version,
        library_versions=_versions(),
        execution_provider=None,
        input_shapes={"input_ids": [spec.batch_size, int(spec.dims["prompt_len"])]},
        env={**_env(spec), **meter.provenance()},
        notes=tuple(notes),
    )


def _state_size_mb(model: Any) -> float:
    """Bytes of the model's state (weights and buffers, int8 packed weights included), in MB."""
    import torch

    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.tell() / BYTES_PER_MB


def _env(spec: RunSpec) -> dict[str, str]:
    env = {var: os.environ[var] for var in THREAD_ENV_VARS if var in os.environ}
    env["threads"] = str(spec.threads)
    governor = cpu_governor()
    if governor is not None:
        env["cpu_governor"] = governor
    return env
