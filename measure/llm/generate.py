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

The project's harness drives the calls (``measure.profile_lm``): warm-up,
adaptive stopping on the TTFT median's confidence interval, the budget's
time limits, and the energy meter's window. TTFT has one sample per call,
TPOT one per decode step of every timed call. This package imports nothing
of ``measure``'s top level, which imports it.
"""

from __future__ import annotations

import inspect
import itertools
from dataclasses import dataclass, field
from typing import Any

import torch

from paretoscope.core.records import GenerationStats

__all__ = [
    "PhaseClock",
    "PhaseTimes",
    "cache_bytes",
    "decode_tokens_per_s",
    "generate_once",
    "prefill_tokens_per_s",
    "prompt_ids",
]


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


class PhaseClock:
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
def generate_once(model: Any, prompt: torch.Tensor, gen_len: int, clock: PhaseClock) -> PhaseTimes:
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


def decode_tokens_per_s(stats: GenerationStats, batch: int) -> float | None:
    """``batch × 1000 / tpot_ms_p50``, exactly; None for a zero median."""
    p50 = stats.tpot.p50_ms
    return batch * 1000.0 / p50 if p50 > 0 else None


def prefill_tokens_per_s(stats: GenerationStats, batch: int) -> float | None:
    """``batch × prompt_len × 1000 / prefill_ms_p50``; None without a positive prefill time."""
    p50 = stats.prefill_ms_p50
    return batch * stats.prompt_len * 1000.0 / p50 if p50 else None
