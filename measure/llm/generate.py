"""Greedy generation with the KV cache, timed by phase: prefill, first token, each decode step.

One generate call: the prompt (``batch × prompt_len`` token ids) in one
forward pass with ``use_cache=True`` (prefill), the arg-max of its last
logits (the first new token: TTFT ends here), then ``gen_len - 1`` decode
steps, each one forward pass of the previous token with the cache and its
arg-max. Exactly ``gen_len`` new tokens; EOS is ignored. The loop is written
here, not ``model.generate``, so each phase has its own clock reading.

On a CPU every phase is timed with ``time.perf_counter_ns`` (the caller pins
threads). On CUDA each phase is bracketed by CUDA events recorded on the
current stream and read after one synchronise at the end of the call, so
timing adds no synchronisation inside the call (``timer="cuda_event"``).

The project's harness (``measure.timing.measure_latency``) drives the calls:
warm-up, adaptive stopping on the TTFT median's confidence interval, the
budget's time limits, and the energy meter's window. TTFT has one sample per
call, TPOT one per decode step of every timed call.
"""

from __future__ import annotations

import inspect
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from measure.energy import EnergyMeter
from measure.timing import latency_stats, measure_latency
from paretoscope.core.errors import InputError
from paretoscope.core.records import EnergyStats, GenerationStats, TimingBudget

__all__ = [
    "PhaseTimes",
    "cache_bytes",
    "decode_tokens_per_s",
    "generate_once",
    "measure_generation",
    "prefill_tokens_per_s",
    "prompt_ids",
]

_BYTES_PER_MB = 1e6


@dataclass
class PhaseTimes:
    """One generate call's phases, in ns: prefill, time to first token, each decode step."""

    prefill_ns: int = 0
    ttft_ns: int = 0
    tpot_ns: list[int] = field(default_factory=list)


def prompt_ids(
    token_ids: Any,
    batch: int,
    prompt_len: int,
    vocab_size: int,
    device: str = "cpu",
    seed: int = 0,
) -> tuple[torch.Tensor, str]:
    """A ``batch × prompt_len`` tensor of prompt ids, and where they came from.

    From ``token_ids`` (the evaluation text): consecutive windows from its
    start, repeated cyclically when the text is shorter (``"data"``).
    Without text: uniform random ids from a fixed seed (``"random"``).
    """
    n = batch * prompt_len
    if token_ids is not None and len(token_ids) > 0:
        ids = torch.as_tensor(list(token_ids[: min(len(token_ids), n)]), dtype=torch.long)
        reps = -(-n // len(ids))
        ids = ids.repeat(reps)[:n]
        source = "data"
    else:
        gen = torch.Generator().manual_seed(seed)
        ids = torch.randint(0, vocab_size, (n,), generator=gen, dtype=torch.long)
        source = "random"
    return ids.view(batch, prompt_len).to(device), source


def cache_bytes(cache: Any) -> int:
    """Bytes of the distinct tensors a KV cache holds (each storage counted once).

    Walks a transformers ``Cache`` (``.layers[i].keys``/``.values``, or the
    older ``key_cache``/``value_cache`` lists) or nested tuples of tensors.
    """
    seen: set[tuple[int, int]] = set()
    total = 0

    def visit(obj: Any, depth: int) -> None:
        nonlocal total
        if depth > 6 or obj is None:
            return
        if isinstance(obj, torch.Tensor):
            key = (obj.untyped_storage().data_ptr(), obj.device.index or 0)
            if key not in seen and obj.numel() > 0:
                seen.add(key)
                total += obj.numel() * obj.element_size()
            return
        if isinstance(obj, (list, tuple)):
            for item in obj:
                visit(item, depth + 1)
            return
        layers = getattr(obj, "layers", None)
        if isinstance(layers, (list, tuple)):
            for layer in layers:
                visit(getattr(layer, "keys", None), depth + 1)
                visit(getattr(layer, "values", None), depth + 1)
            return
        for name in ("key_cache", "value_cache"):
            visit(getattr(obj, name, None), depth + 1)

    visit(cache, 0)
    return total


class _Clock:
    """Phase timestamps: host ``perf_counter_ns`` on a CPU, CUDA events on a GPU."""

    def __init__(self, device: str) -> None:
        self.cuda = device.startswith("cuda")
        self._marks: list[Any] = []
        self.last_cache: Any = None

    def mark(self) -> None:
        if self.cuda:
            event = torch.cuda.Event(enable_timing=True)
            event.record()
            self._marks.append(event)
        else:
            import time

            self._marks.append(time.perf_counter_ns())

    def durations_ns(self) -> list[int]:
        """Nanoseconds between consecutive marks (synchronises on CUDA), then forgets them."""
        marks, self._marks = self._marks, []
        if self.cuda:
            marks[-1].synchronize()
            return [int(a.elapsed_time(b) * 1e6) for a, b in itertools.pairwise(marks)]
        return [b - a for a, b in itertools.pairwise(marks)]


def _cache_kwarg(model: Any) -> str:
    """The forward argument that takes the cache: ``cache`` (transformers >= 5.2x) or
    ``past_key_values`` (earlier releases, and models that still name it so)."""
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return "past_key_values"
    return "cache" if "cache" in params else "past_key_values"


def _returned_cache(out: Any) -> Any:
    cache = getattr(out, "cache", None)
    return cache if cache is not None else getattr(out, "past_key_values", None)


@torch.inference_mode()
def generate_once(model: Any, prompt: torch.Tensor, gen_len: int, clock: _Clock) -> PhaseTimes:
    """One greedy generate call of exactly ``gen_len`` new tokens; its phases' times.

    Sets ``clock.last_cache`` to the cache held after the last step.
    """
    kwarg = _cache_kwarg(model)
    clock.mark()
    out = model(input_ids=prompt, use_cache=True)
    clock.mark()  # prefill done
    token = out.logits[:, -1, :].argmax(dim=-1, keepdim=True)
    clock.mark()  # first new token chosen
    past = _returned_cache(out)
    for _ in range(gen_len - 1):
        out = model(input_ids=token, use_cache=True, **{kwarg: past})
        token = out.logits[:, -1, :].argmax(dim=-1, keepdim=True)
        past = _returned_cache(out)
        clock.mark()
    d = clock.durations_ns()
    clock.last_cache = past  # kept for kv_cache_mb
    return PhaseTimes(prefill_ns=d[0], ttft_ns=d[0] + d[1], tpot_ns=d[2:])


def measure_generation(
    model: Any,
    prompt: torch.Tensor,
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
    if gen_len < 2:
        raise InputError(f"gen_len must be >= 2 so a decode step is timed (got {gen_len})")
    batch, prompt_len = int(prompt.shape[0]), int(prompt.shape[1])
    clock = _Clock(device)
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
    kv = cache_bytes(clock.last_cache) / _BYTES_PER_MB
    per_token = energy.energy_j_per_item if energy is not None else None
    reason = None
    if per_token is None:
        reason = (
            energy.unavailable_reason if energy is not None else "no energy meter"
        ) or "unavailable"
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


def decode_tokens_per_s(stats: GenerationStats, batch: int) -> float | None:
    """``batch × 1000 / tpot_ms_p50``, exactly; None for a zero median."""
    p50 = stats.tpot.p50_ms
    return batch * 1000.0 / p50 if p50 > 0 else None


def prefill_tokens_per_s(stats: GenerationStats, batch: int) -> float | None:
    """``batch × prompt_len × 1000 / prefill_ms_p50``; None without a positive prefill time."""
    p50 = stats.prefill_ms_p50
    return batch * stats.prompt_len * 1000.0 / p50 if p50 else None
