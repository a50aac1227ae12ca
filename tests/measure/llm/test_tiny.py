"""Tiny demo language models: trained here, saved without pickle, better than untrained."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from measure.llm.quality import score_text, tokenize_text
from measure.llm.tiny import (
    TINY_LMS,
    TinyTrainConfig,
    build_model,
    build_tiny_family,
    build_tiny_lm,
    train_model,
    train_tokenizer,
)
from paretoscope.core.errors import InputError
from tests.measure.llm import tinylm

PICKLE_SUFFIXES = {".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt"}


@pytest.fixture(scope="module")
def train_ids() -> list[int]:
    return tokenize_text(tinylm.tokenizer(), tinylm.split()[0].text)


@pytest.fixture(scope="module")
def heldout_ids() -> list[int]:
    return tokenize_text(tinylm.tokenizer(), tinylm.split()[1].text)[:4096]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, train_ids: list[int]) -> Path:
    folder = tmp_path_factory.mktemp("tiny") / TINY_LMS[0].name
    config = TinyTrainConfig(steps=150, budget_s=600.0, context=64, threads=1)
    report = build_tiny_lm(TINY_LMS[0], folder, tinylm.tokenizer(), train_ids, config)
    assert (report.steps, report.stopped) == (150, "steps")
    return folder


def test_a_trained_tiny_model_beats_the_untrained_one_on_held_out_text(
    trained: Path, heldout_ids: list[int]
) -> None:
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(trained, local_files_only=True)
    untrained = build_model(TINY_LMS[0], vocab_size=len(tinylm.tokenizer()), context=64, seed=0)
    after = score_text(model, heldout_ids, context=64)
    before = score_text(untrained, heldout_ids, context=64)
    # Untrained is near-uniform (perplexity close to the 512-token vocabulary).
    assert before.perplexity > 300
    assert after.perplexity < before.perplexity / 2
    assert after.next_token_accuracy > before.next_token_accuracy


def test_the_folder_loads_offline_and_holds_no_pickle(trained: Path) -> None:
    from transformers import AutoTokenizer

    names = {p.name for p in trained.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "training.json"} <= names
    assert not {p.name for p in trained.rglob("*") if p.suffix in PICKLE_SUFFIXES}
    config = json.loads((trained / "config.json").read_text())
    assert config["model_type"] == "gpt2" and "auto_map" not in config
    tok = AutoTokenizer.from_pretrained(trained, local_files_only=True)
    sample = "The `with` statement wraps a block."
    assert tokenize_text(tok, sample) == tokenize_text(tinylm.tokenizer(), sample)
    facts = json.loads((trained / "training.json").read_text())
    assert facts["spec"]["name"] == TINY_LMS[0].name and facts["report"]["steps"] == 150


def _state(model: Any) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_training_is_seeded_and_deterministic(train_ids: list[int]) -> None:
    config = TinyTrainConfig(
        steps=5, batch_size=4, seq_len=32, budget_s=600.0, context=64, threads=1
    )
    states = []
    for _ in range(2):
        model = build_model(TINY_LMS[0], vocab_size=tinylm.VOCAB, context=64, seed=1)
        train_model(model, train_ids, config)
        states.append(_state(model))
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])
    other = build_model(TINY_LMS[0], vocab_size=tinylm.VOCAB, context=64, seed=2)
    assert not torch.equal(
        _state(other)["transformer.wte.weight"], states[0]["transformer.wte.weight"]
    )


def test_the_tokenizer_is_trained_deterministically() -> None:
    text = tinylm.split()[0].text[:50_000]
    a, b = train_tokenizer(text, 300), train_tokenizer(text, 300)
    assert a.get_vocab() == b.get_vocab()
    assert len(a) == 300
    # Byte-level: text it never saw still round-trips, with no unknown token.
    unseen = "Größe ≠ 大小 🙂"
    assert a.decode(tokenize_text(a, unseen)) == unseen


def test_the_time_budget_stops_training_and_says_so(train_ids: list[int]) -> None:
    model = build_model(TINY_LMS[0], vocab_size=tinylm.VOCAB, context=64)
    report = train_model(model, train_ids, TinyTrainConfig(steps=50, budget_s=0.0))
    assert report.stopped == "budget" and report.steps < 50


def test_refusals() -> None:
    with pytest.raises(InputError, match="at least 257 tokens"):
        train_tokenizer("some text", 100)
    model = build_model(TINY_LMS[0], vocab_size=tinylm.VOCAB, context=64)
    with pytest.raises(InputError, match="the training text has 10 tokens"):
        train_model(model, list(range(10)), TinyTrainConfig(seq_len=32))


def test_a_family_shares_one_tokenizer(tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    config = TinyTrainConfig(steps=2, batch_size=2, seq_len=16, context=32, threads=1)
    built = build_tiny_family(tmp_path, TINY_LMS[:2], config)
    assert [spec.name for spec, _, _ in built] == [s.name for s in TINY_LMS[:2]]
    vocabs = [
        AutoTokenizer.from_pretrained(f, local_files_only=True).get_vocab() for _, f, _ in built
    ]
    assert vocabs[0] == vocabs[1] and len(vocabs[0]) == config.vocab_size
    assert all(report.steps == 2 for _, _, report in built)


def test_an_untied_model_has_its_own_output_weights() -> None:
    from dataclasses import replace

    untied = build_model(replace(TINY_LMS[0], tied=False), vocab_size=tinylm.VOCAB, context=64)
    tied = build_model(TINY_LMS[0], vocab_size=tinylm.VOCAB, context=64)
    assert untied.lm_head.weight.data_ptr() != untied.transformer.wte.weight.data_ptr()
    assert tied.lm_head.weight.data_ptr() == tied.transformer.wte.weight.data_ptr()
    n = sum(p.numel() for p in untied.parameters()) - sum(p.numel() for p in tied.parameters())
    assert n == tinylm.VOCAB * TINY_LMS[0].n_embd


def test_warm_up_changes_the_first_steps_and_stays_seeded(train_ids: list[int]) -> None:
    base = TinyTrainConfig(steps=3, batch_size=2, seq_len=16, context=64, threads=1)
    states = []
    for warm in (0, 10, 10):
        model = build_model(TINY_LMS[0], vocab_size=tinylm.VOCAB, context=64, seed=0)
        train_model(model, train_ids, replace_config(base, warm))
        states.append(_state(model)["transformer.wte.weight"])
    assert not torch.equal(states[0], states[1]) and torch.equal(states[1], states[2])


def replace_config(config: TinyTrainConfig, warmup_steps: int) -> TinyTrainConfig:
    from dataclasses import replace

    return replace(config, warmup_steps=warmup_steps)
