"""Tiny GPT-2-style language models for the demo, trained here in seconds on the built-in text.

A byte-level BPE tokenizer is trained locally with the ``tokenizers``
library on the built-in text's training part (``measure.llm.text``) and
shared by the whole family, so their perplexities count the same tokens.
Each model is a ``transformers.GPT2LMHeadModel`` built from a config (no
weights are downloaded), trained for a few hundred seeded AdamW steps on
random windows of that text with pinned threads, and saved with
``save_pretrained`` as safetensors beside its tokenizer: a folder that
``AutoModelForCausalLM.from_pretrained(folder, local_files_only=True)`` and
``AutoTokenizer.from_pretrained(folder, local_files_only=True)`` load, with
no pickle in it. Training stops at ``steps`` or when ``budget_s`` is spent,
whichever comes first, and says which (only the first is reproducible
between machines).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from paretoscope.core.errors import InputError

__all__ = [
    "EOS_TOKEN",
    "TINY_LMS",
    "TinyLMSpec",
    "TinyTrainConfig",
    "TrainReport",
    "build_model",
    "build_tiny_family",
    "build_tiny_lm",
    "train_model",
    "train_tokenizer",
]

EOS_TOKEN = "<|endoftext|>"


@dataclass(frozen=True)
class TinyLMSpec:
    """One member of the family: width (``n_embd``), depth (``n_layer``) and heads.

    ``tied``: the output layer shares the token embedding's weights (GPT-2's
    default). Untied, a short training escapes the unigram plateau sooner
    (measured on the demo's family: ``measure.llm.family``).
    """

    name: str
    n_embd: int
    n_layer: int
    n_head: int
    tied: bool = True


#: The demo's family, smallest first.
TINY_LMS: tuple[TinyLMSpec, ...] = (
    TinyLMSpec("tiny-lm-32x1", n_embd=32, n_layer=1, n_head=2),
    TinyLMSpec("tiny-lm-64x2", n_embd=64, n_layer=2, n_head=2),
    TinyLMSpec("tiny-lm-96x3", n_embd=96, n_layer=3, n_head=4),
    TinyLMSpec("tiny-lm-128x4", n_embd=128, n_layer=4, n_head=4),
)


@dataclass(frozen=True)
class TinyTrainConfig:
    """How a tiny model is trained: AdamW steps on random windows, seeded, pinned threads.

    ``context`` is the model's maximum length (``n_positions``); training
    windows are ``seq_len`` tokens; ``budget_s`` caps the training loop's
    wall time (s); the learning rate rises linearly to ``lr`` over the first
    ``warmup_steps`` steps (none by default), then stays.
    """

    steps: int = 300
    batch_size: int = 16
    seq_len: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.01
    seed: int = 0
    threads: int = 2
    budget_s: float = 20.0
    vocab_size: int = 1024
    context: int = 128
    warmup_steps: int = 0


@dataclass(frozen=True)
class TrainReport:
    """What training did: steps taken, wall time (s), the last steps' mean loss, why it stopped."""

    steps: int
    seconds: float
    final_loss: float
    stopped: Literal["steps", "budget"]


def train_tokenizer(text: str, vocab_size: int = 1024) -> Any:
    """A byte-level BPE tokenizer of ``vocab_size`` tokens trained on ``text``, as a fast tokenizer.

    Byte-level, so any text encodes without unknown tokens. Returns a
    ``transformers.PreTrainedTokenizerFast`` whose BOS, EOS and padding
    token is ``EOS_TOKEN``. Raises ``InputError`` for a vocabulary smaller
    than the 256 bytes plus that token.
    """
    if vocab_size < 257:
        raise InputError(f"a byte-level vocabulary needs at least 257 tokens, got {vocab_size}")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS_TOKEN],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(text.split("\n\n"), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token=EOS_TOKEN, eos_token=EOS_TOKEN, pad_token=EOS_TOKEN
    )


def build_model(spec: TinyLMSpec, vocab_size: int, context: int = 128, seed: int = 0) -> Any:
    """An untrained ``GPT2LMHeadModel`` of ``spec``'s shape, its weights drawn from ``seed``."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(
        vocab_size=vocab_size,
        n_positions=context,
        n_embd=spec.n_embd,
        n_layer=spec.n_layer,
        n_head=spec.n_head,
        bos_token_id=0,
        eos_token_id=0,
        pad_token_id=0,
        # No dropout: a few hundred steps are far from over-fitting, and dropout slows them.
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
        tie_word_embeddings=spec.tied,
    )
    torch.manual_seed(seed)
    model = GPT2LMHeadModel(config)
    model.eval()
    return model


def train_model(model: Any, token_ids: list[int], config: TinyTrainConfig) -> TrainReport:
    """Train ``model`` in place on random ``seq_len`` windows of ``token_ids`` (AdamW, seeded).

    A constant learning rate after an optional linear warm-up: in a few hundred
    steps a model is still far from converged, and a cosine decay ended with a
    higher perplexity.

    Threads are pinned to ``config.threads`` for the loop and restored after.
    Stops after ``config.steps`` steps or once ``config.budget_s`` seconds
    have passed. Raises ``InputError`` when the text is shorter than one
    training window.
    """
    import torch

    if len(token_ids) <= config.seq_len + 1:
        raise InputError(
            f"the training text has {len(token_ids)} tokens; more than {config.seq_len + 1} "
            "are needed"
        )
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(config.threads)
    try:
        data = torch.tensor(token_ids, dtype=torch.long)
        gen = torch.Generator().manual_seed(config.seed)
        opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        warm = max(config.warmup_steps, 0)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: min(1.0, (step + 1) / warm) if warm else 1.0
        )
        model.train()
        losses: list[float] = []
        start = time.perf_counter()
        stopped: Literal["steps", "budget"] = "steps"
        for _ in range(config.steps):
            if time.perf_counter() - start > config.budget_s:
                stopped = "budget"
                break
            starts = torch.randint(
                0, len(data) - config.seq_len, (config.batch_size,), generator=gen
            )
            batch = torch.stack([data[s : s + config.seq_len] for s in starts.tolist()])
            loss = model(input_ids=batch, labels=batch).loss
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        seconds = time.perf_counter() - start
    finally:
        model.eval()
        torch.set_num_threads(previous_threads)
    tail = losses[-20:]
    return TrainReport(
        steps=len(losses),
        seconds=seconds,
        final_loss=sum(tail) / len(tail) if tail else float("nan"),
        stopped=stopped,
    )


def build_tiny_lm(
    spec: TinyLMSpec,
    folder: str | Path,
    tokenizer: Any,
    train_ids: list[int],
    config: TinyTrainConfig | None = None,
) -> TrainReport:
    """Build, train and save one tiny model with ``tokenizer`` into ``folder``; its report.

    The folder holds ``config.json``, ``model.safetensors``, the tokenizer's
    files and ``training.json`` (the spec, the config, the report and the
    number of parameters).
    """
    cfg = config or TinyTrainConfig()
    model = build_model(spec, vocab_size=len(tokenizer), context=cfg.context, seed=cfg.seed)
    report = train_model(model, train_ids, cfg)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)  # safetensors: transformers 5 writes no pickle
    tokenizer.save_pretrained(out)
    params = sum(p.numel() for p in model.parameters())
    facts = {
        "spec": asdict(spec),
        "config": asdict(cfg),
        "report": asdict(report),
        "params": params,
    }
    (out / "training.json").write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    return report


def build_tiny_family(
    root: str | Path,
    specs: tuple[TinyLMSpec, ...] = TINY_LMS,
    config: TinyTrainConfig | None = None,
) -> list[tuple[TinyLMSpec, Path, TrainReport]]:
    """Train the tokenizer once on the built-in training text, then each model into ``root/name``.

    One shared tokenizer, so the family's perplexities count the same tokens.
    Returns each spec with its folder and training report, in ``specs`` order.
    """
    from measure.llm.quality import tokenize_text
    from measure.llm.text import builtin_split

    cfg = config or TinyTrainConfig()
    train, _ = builtin_split()
    tokenizer = train_tokenizer(train.text, cfg.vocab_size)
    train_ids = tokenize_text(tokenizer, train.text)
    built = []
    for spec in specs:
        folder = Path(root) / spec.name
        built.append((spec, folder, build_tiny_lm(spec, folder, tokenizer, train_ids, cfg)))
    return built
