"""``paretoscope profile --task causal-lm``: a real tiny GPT-2 measured end to end and stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from paretoscope.cli import main
from store import Store

pytestmark = pytest.mark.slow


def test_profile_stores_generation_and_quality_per_run(
    tiny_lm: Path, eval_text: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "store.duckdb"
    argv = [
        "profile", str(tiny_lm), "--data", str(eval_text), "--context", "64",
        "--prompt-len", "4,256", "--gen-len", "8", "--precision", "fp32,int8",
        "--quick", "--store", str(db),
    ]  # fmt: skip
    # The task is inferred from the folder's config (GPT2LMHeadModel).
    assert main(argv) == 0, capsys.readouterr().err
    store = Store(db)
    runs = store.runs_frame(status=None)
    assert len(runs) == 4 and set(runs["status"]) == {"ok"}
    for _, row in runs.iterrows():
        rec = store.get_record(row["run_id"])
        assert rec is not None and rec.generation is not None
        gen = rec.generation
        batch = rec.spec.batch_size
        assert rec.spec.model.task == "causal-lm"
        assert (gen.prompt_len, gen.gen_len) == (row["dim_prompt_len"], row["dim_gen_len"])
        assert row["dim_context"] == 64
        assert gen.prompt_source == "data"
        # One TTFT sample a generate call, gen_len - 1 TPOT samples each.
        assert gen.tpot.n_iter == gen.ttft.n_iter * (gen.gen_len - 1)
        for key in ("ttft_ms_p50", "ttft_ms_p90", "ttft_ms_p99", "tpot_ms_p50", "tpot_ms_p99"):
            assert row[key] > 0, key
        assert row["ttft_ms_p50"] <= row["ttft_ms_p90"] <= row["ttft_ms_p99"]
        assert row["decode_tokens_per_s"] == batch * 1000.0 / row["tpot_ms_p50"]
        assert gen.prefill_ms_p50 is not None and gen.prefill_ms_p50 < row["ttft_ms_p50"]
        assert row["prefill_tokens_per_s"] == batch * gen.prompt_len * 1000.0 / gen.prefill_ms_p50
        # 2 layers x (keys, values) x batch x 32 features x (prompt + gen - 1) positions, fp32.
        expected = 2 * 2 * batch * 32 * (gen.prompt_len + gen.gen_len - 1) * 4 / 1e6
        assert row["kv_cache_mb"] == pytest.approx(expected)
        # No energy counter on this host (no RAPL readable): unavailable, with the reason.
        if row["energy_j_per_token"] != row["energy_j_per_token"]:
            assert gen.energy_unavailable_reason
        assert row["perplexity"] > 1.0 and 0.0 <= row["next_token_accuracy"] <= 1.0
        metrics = {a.metric: a for a in rec.accuracy}
        assert metrics["perplexity"].n_samples == metrics["next_token_accuracy"].n_samples > 0
    # TTFT grows with the prompt: 256 tokens against 4 (a 64-fold prompt).
    fp32 = runs[runs["precision"] == "fp32"]
    ttft = dict(zip(fp32["dim_prompt_len"].tolist(), fp32["ttft_ms_p50"].tolist(), strict=True))
    assert ttft[256] > ttft[4]
    # The int8 variant is its own model, with lineage, and scored again.
    int8 = runs[runs["precision"] == "int8"]
    assert set(int8["parent_model_id"]) == set(fp32["model_id"])
    assert int8["transformation"].iloc[0].startswith("int8 dynamic quantization")
    assert int8["perplexity"].iloc[0] != fp32["perplexity"].iloc[0]
