"""The demo's language-model family: tiny GPT-2s, wider and deeper, trained here.

Each member is a ``TinyLMSpec`` (width, depth) with its own training recipe
(``TinyTrainConfig``). One byte-level BPE tokenizer trained on the built-in
text's training part (``measure.llm.text``) serves the whole family, so every
perplexity counts the same tokens. Nothing is downloaded.

Why these recipes: the demo must show a real trade-off (a larger model reaches
a lower perplexity on the held-out text and decodes more slowly) in seconds of
training on two cores. Measured while tuning
(``tests/profiling/test_demo_lm.py`` trains the family and checks the order):
with equal steps, GPT-2's tied output embedding and a 1024-token vocabulary,
the deeper members often stayed on the unigram plateau and the smallest won on
perplexity too; with equal steps and untied embeddings, members of 32 to 96
wide ended within a few percent of each other, in an order that changed with
the seed. So, as in compute-optimal scaling, a larger member sees more tokens
(100, 150 and 200 steps of 16×64 tokens) and a smaller one a higher learning
rate, with untied output weights, a 20-step warm-up and a 384-token
vocabulary. Over seeds 0 to 3 (one thread) the ordering held every time:
perplexity 42.0 to 48.5, 37.6 to 40.4 and 35.8 to 38.8 on the held-out text
(128-token windows), each member at least 3% below the one before.

Model ids derive from the recipe (family version, spec, training config, the
training text's id), so the demo knows them before training and can tell
what this host has already measured without importing torch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from measure.llm.tiny import TinyLMSpec, TinyTrainConfig, TrainReport, build_tiny_lm
from paretoscope.core.errors import InputError

__all__ = [
    "LM_FAMILY",
    "LM_FAMILY_VERSION",
    "FamilyMember",
    "family",
    "member_id",
    "train_family",
]

# Bumped whenever a member or the recipe changes; part of every model id.
LM_FAMILY_VERSION = 1
_SHARED = TinyTrainConfig(
    batch_size=16,
    seq_len=64,
    warmup_steps=20,
    seed=0,
    # One thread, as the digits zoo: with two, a core shared with anything else made
    # training 10-30 times slower here (OpenMP threads waiting on each other).
    threads=1,
    budget_s=300.0,  # a guard only: the steps decide (a stop on the budget is reported)
    vocab_size=384,
    context=128,
)


@dataclass(frozen=True)
class FamilyMember:
    """One language model of the demo: its shape and how it is trained."""

    spec: TinyLMSpec
    config: TinyTrainConfig

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def tokens_seen(self) -> int:
        """Training tokens: steps × batch × window."""
        return self.config.steps * self.config.batch_size * self.config.seq_len

    def describe(self) -> str:
        s, c = self.spec, self.config
        return (
            f"GPT-2-style causal LM, {s.n_layer} layer(s) of width {s.n_embd}, {s.n_head} heads, "
            f"{'tied' if s.tied else 'untied'} output embedding, {c.vocab_size}-token byte-level "
            f"BPE trained here. Trained here on Python's topic documentation (training part): "
            f"AdamW lr {c.lr:g} ({c.warmup_steps} warm-up steps), {c.steps} steps of "
            f"{c.batch_size}×{c.seq_len} tokens, seed {c.seed}."
        )


def _member(name: str, n_embd: int, n_layer: int, n_head: int, **config: float) -> FamilyMember:
    spec = TinyLMSpec(name, n_embd=n_embd, n_layer=n_layer, n_head=n_head, tied=False)
    return FamilyMember(spec, replace(_SHARED, **config))  # type: ignore[arg-type]


#: Smallest first; each is wider and deeper than the one before.
LM_FAMILY: tuple[FamilyMember, ...] = (
    _member("tiny-lm-16x1", 16, 1, 2, steps=100, lr=1e-2),
    _member("tiny-lm-32x2", 32, 2, 2, steps=150, lr=5e-3),
    _member("tiny-lm-48x3", 48, 3, 2, steps=200, lr=3e-3),
)


def family(n: int | None = None) -> tuple[FamilyMember, ...]:
    """The first ``n`` members (smallest first), all of them for None; ``InputError`` off range."""
    if n is None:
        return LM_FAMILY
    if not 0 <= n <= len(LM_FAMILY):
        raise InputError(f"the demo's language-model family has 0 to {len(LM_FAMILY)} members")
    return LM_FAMILY[:n]


def member_id(member: FamilyMember, text_id: str) -> str:
    """Stable id of a trained member: ``demo-<name>-<hash of its recipe and training text>``."""
    recipe = {
        "family_version": LM_FAMILY_VERSION,
        "spec": asdict(member.spec),
        "train": {k: v for k, v in asdict(member.config).items() if k not in ("budget_s",)},
        "text": text_id,
    }
    digest = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:12]
    return f"demo-{member.name}-{digest}"


def train_family(
    root: str | Path,
    members: tuple[FamilyMember, ...],
    on_step: Callable[[str], None] = lambda _label: None,
) -> list[tuple[FamilyMember, Path, TrainReport]]:
    """Train the shared tokenizer, then each member into ``root/<name>``; their reports.

    ``on_step`` is called after the tokenizer and after each member. The
    members must share one vocabulary size (``InputError`` otherwise).
    """
    from measure.llm.quality import tokenize_text
    from measure.llm.text import builtin_split
    from measure.llm.tiny import train_tokenizer

    if not members:
        return []
    vocabs = {m.config.vocab_size for m in members}
    if len(vocabs) != 1:
        raise InputError(f"the family's members must share one vocabulary size, got {vocabs}")
    train, _ = builtin_split()
    tokenizer = train_tokenizer(train.text, vocabs.pop())
    train_ids = tokenize_text(tokenizer, train.text)
    on_step(f"tokenizer: {len(tokenizer)} tokens, {len(train_ids)} training tokens")
    built = []
    with _quiet_transformers():
        for m in members:
            folder = Path(root) / m.name
            report = build_tiny_lm(m.spec, folder, tokenizer, train_ids, m.config)
            on_step(
                f"trained {m.name} ({report.steps} steps, loss {report.final_loss:.2f}, "
                f"{report.seconds:.1f} s)"
            )
            built.append((m, folder, report))
    return built


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No progress bar per saved file and no notices about the loss from ``transformers``
    while the family trains (the demo's own progress line says what happens)."""
    from transformers.utils import logging as hf_logging

    verbosity, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)
        if bar:
            hf_logging.enable_progress_bar()
