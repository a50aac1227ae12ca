"""A real tiny GPT-2 in a Hugging Face folder: a locally trained BPE tokenizer, safetensors."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _text() -> str:
    from pydoc_data import topics

    return "\n".join(topics.topics[k] for k in sorted(topics.topics))


def build_tiny_gpt2(out: Path, *, vocab: int = 300, n_positions: int = 512) -> Path:
    """Save an untrained 2-layer GPT-2 and a BPE tokenizer trained here on Python's docs."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=["<unk>", "<eos>"])
    tok.train_from_iterator([_text()[:100_000]], trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<eos>")
    eos = fast.convert_tokens_to_ids("<eos>")
    assert isinstance(eos, int)
    cfg = GPT2Config(
        n_layer=2, n_embd=32, n_head=2, vocab_size=len(fast), n_positions=n_positions,
        bos_token_id=eos, eos_token_id=eos,
    )  # fmt: skip
    GPT2LMHeadModel(cfg).save_pretrained(out, safe_serialization=True)
    fast.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_lm_master(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_gpt2(tmp_path_factory.mktemp("lm") / "tiny-gpt2")


@pytest.fixture
def tiny_lm(tiny_lm_master: Path, tmp_path: Path) -> Iterator[Path]:
    """A fresh copy of the tiny model's folder, which a test may spoil."""
    folder = tmp_path / "tiny-gpt2"
    shutil.copytree(tiny_lm_master, folder)
    yield folder


@pytest.fixture(scope="session")
def eval_text(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("text") / "eval.txt"
    path.write_text(_text()[100_000:104_000], encoding="utf-8")
    return path
