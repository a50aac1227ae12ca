"""On a GPU, a causal LM's perplexity is the CPU's, and fp16/bf16 change it only a little."""

from __future__ import annotations

import pytest

from measure.llm.quality import score_text, tokenize_text
from measure.llm.tiny import TINY_LMS, build_model
from tests.gpu.conftest import cuda_available
from tests.measure.llm import tinylm

pytestmark = pytest.mark.gpu


def test_score_text_on_cuda_matches_the_cpu_and_half_precisions_stay_close() -> None:
    if not cuda_available():
        pytest.skip("no CUDA GPU here")
    import torch

    ids = tokenize_text(tinylm.tokenizer(), tinylm.split()[1].text)[:8192]
    model = build_model(TINY_LMS[1], vocab_size=tinylm.VOCAB, context=128, seed=0)
    cpu = score_text(model, ids, context=128)
    gpu = score_text(model.to("cuda"), ids, context=128, device="cuda:0")
    assert gpu.perplexity == pytest.approx(cpu.perplexity, rel=1e-3)
    assert gpu.n_predicted == cpu.n_predicted
    for dtype in (torch.float16, torch.bfloat16):
        half = score_text(model.to(dtype), ids, context=128, device="cuda:0")
        print(f"{dtype}: perplexity {half.perplexity:.4f} against fp32 {cpu.perplexity:.4f}")
        assert half.perplexity == pytest.approx(cpu.perplexity, rel=0.02)
        model.float()
