"""Causal-LM runs on a CUDA GPU: CUDA-event phase timing, fp16/bf16, NVML energy per token.

Marked ``gpu``; skipped where no GPU is present. Run on the GPU machine with
``pytest tests/gpu/test_lm_cuda.py -m gpu``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from measure.profile import profile_run
from paretoscope.core.records import (
    ArtifactRef,
    ModelRef,
    RunSpec,
    TimingBudget,
    new_run_id,
)
from tests.gpu.conftest import cuda_available
from tests.llm.conftest import build_tiny_gpt2

pytestmark = pytest.mark.gpu


@pytest.fixture(autouse=True)
def _needs_cuda() -> None:
    if not cuda_available():
        pytest.skip("no CUDA GPU here")


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_gpt2(tmp_path_factory.mktemp("lm-gpu") / "tiny")


def _spec(folder: Path, precision: str, prompt_len: int) -> RunSpec:
    return RunSpec(
        run_id=new_run_id(),
        model=ModelRef("lm", "tiny", "test", task="causal-lm"),
        artifact=ArtifactRef("0" * 64, "hf-causal-lm", str(folder), 0),
        runtime="torch",
        device="cuda:0",
        precision=precision,
        batch_size=2,
        budget=TimingBudget(warmup_iters=3, min_iters=10, min_time_s=0.2, max_time_s=2.0),
        dims={"prompt_len": prompt_len, "gen_len": 16},
    )


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_cuda_generation_is_timed_with_events(tiny_folder: Path, precision: str) -> None:
    rec = profile_run(_spec(tiny_folder, precision, 64))
    gen = rec.generation
    assert rec.status == "ok" and gen is not None
    assert gen.ttft.timer == "cuda_event" and gen.tpot.timer == "cuda_event"
    assert gen.tpot.n_iter == gen.ttft.n_iter * 15
    assert gen.ttft.p50_ms > 0 and gen.tpot.p50_ms > 0
    assert gen.prefill_ms_p50 is not None and gen.prefill_ms_p50 < gen.ttft.p50_ms
    width = 4 if precision == "fp32" else 2
    assert gen.kv_cache_mb == pytest.approx(2 * 2 * 2 * 32 * (64 + 15) * width / 1e6)
    assert rec.memory is not None and rec.memory.source == "torch-allocator"
    # NVML's energy counter over a window stretched to its resolution.
    assert rec.energy is not None
    if rec.energy.source == "nvml":
        assert gen.energy_j_per_token is not None and gen.energy_j_per_token > 0
    else:
        assert gen.energy_unavailable_reason


def test_int8_on_cuda_is_refused_with_the_reason(tiny_folder: Path) -> None:
    from paretoscope.core.errors import UnavailableError

    with pytest.raises(UnavailableError, match="CPU only"):
        profile_run(_spec(tiny_folder, "int8", 16))
