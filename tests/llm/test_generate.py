"""The generate loop: exactly gen_len new tokens, phases timed apart, the cache's bytes counted."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from measure.llm.generate import PhaseClock, cache_bytes, generate_once, prompt_ids
from measure.llm.load import load_from_folder
from measure.profile_lm import apply_precision, measure_generation
from paretoscope.core.errors import InputError, UnavailableError
from paretoscope.core.records import TimingBudget

BUDGET = TimingBudget(warmup_iters=1, min_iters=3, min_time_s=0.0, max_time_s=0.5)


def test_one_call_times_prefill_first_token_and_each_decode_step(tiny_lm: Path) -> None:
    model, _ = load_from_folder(tiny_lm)
    prompt, source = prompt_ids(None, 3, 10, model.config.vocab_size)
    assert source == "random" and prompt.shape == (3, 10)
    clock = PhaseClock("cpu")
    times = generate_once(model, prompt, 6, clock)
    assert len(times.tpot_ns) == 5 and all(t > 0 for t in times.tpot_ns)
    assert 0 < times.prefill_ns <= times.ttft_ns
    # The cache holds prompt + gen_len - 1 positions (the last token is never fed back).
    assert clock.last_cache.get_seq_length() == 10 + 5
    assert cache_bytes(clock.last_cache) == 2 * 2 * 3 * 32 * 15 * 4


def test_prompts_come_from_the_text_cycling_when_short() -> None:
    prompt, source = prompt_ids([5, 6, 7], 2, 4, 100)
    assert source == "data"
    assert prompt.tolist() == [[5, 6, 7, 5], [6, 7, 5, 6]]


def test_the_harness_fills_generation_stats(tiny_lm: Path) -> None:
    model, _ = load_from_folder(tiny_lm)
    prompt, _ = prompt_ids(None, 2, 8, model.config.vocab_size)
    stats, energy = measure_generation(model, prompt, 4, BUDGET)
    assert energy is None and stats.energy_unavailable_reason == "no energy meter"
    assert stats.tpot.n_iter == stats.ttft.n_iter * 3
    assert stats.ttft.warmup_iter == 1 and stats.ttft.timer == "perf_counter_ns"
    assert stats.kv_cache_mb == pytest.approx(2 * 2 * 2 * 32 * 11 * 4 / 1e6)
    with pytest.raises(InputError, match="gen_len must be >= 2"):
        measure_generation(model, prompt, 1, BUDGET)


def test_int8_quantizes_gpt2_projections_and_fp16_needs_a_gpu(tiny_lm: Path) -> None:
    model, _ = load_from_folder(tiny_lm)
    with pytest.raises(UnavailableError, match="need a GPU"):
        apply_precision(model, "fp16", "cpu")
    quantized, note = apply_precision(model, "int8", "cpu")
    assert note is not None and "Conv1D" in note
    dynamic = torch.ao.nn.quantized.dynamic.Linear
    # Two layers of 4 projections, and the LM head.
    assert sum(isinstance(m, dynamic) for m in quantized.modules()) == 9
    assert not any(type(m).__name__ == "Conv1D" for m in quantized.modules())
    out = quantized(input_ids=torch.tensor([[1, 2, 3]]))
    assert torch.isfinite(out.logits).all()
