"""Perplexity and next-token accuracy of a causal LM on a text, in fixed windows.

Minimal version written by the core helper of issue 15 (the quality
helper's module replaces it at merge; the names and signatures are the same).
The ids are cut into consecutive non-overlapping windows of ``context``
tokens from the start (a last shorter window counts when it has at least 2
tokens); in each window every token after the first is predicted from the
ones before it in that window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from paretoscope.core.errors import InputError
from paretoscope.core.intervals import wilson_interval
from paretoscope.core.records import AccuracyResult

__all__ = ["QualityScore", "quality_results", "score_text", "tokenize_text", "window_bounds"]


@dataclass(frozen=True)
class QualityScore:
    """Quality of a model on a text under the window convention above."""

    perplexity: float
    next_token_accuracy: float
    n_predicted: int
    n_windows: int
    context: int
    mean_nll: float


def tokenize_text(tokenizer: Any, text: str) -> list[int]:
    """The token ids of ``text`` by ``tokenizer``, no special tokens, nothing truncated."""
    ids = list(tokenizer(text, add_special_tokens=False, verbose=False)["input_ids"])
    if not ids:
        raise InputError("the tokenizer gave no tokens for the evaluation text")
    return [int(i) for i in ids]


def window_bounds(n_tokens: int, context: int) -> list[tuple[int, int]]:
    """``(start, end)`` of each window; a last window shorter than 2 tokens is dropped."""
    if context < 2:
        raise InputError(f"context must be >= 2 tokens (got {context})")
    out = [(s, min(s + context, n_tokens)) for s in range(0, n_tokens, context)]
    return [(s, e) for s, e in out if e - s >= 2]


def score_text(
    model: Any,
    token_ids: Sequence[int] | np.ndarray,
    context: int,
    device: str = "cpu",
    batch_windows: int = 8,
) -> QualityScore:
    """Score ``token_ids`` with ``model`` (a transformers causal LM) under the convention.

    Raises ``InputError`` when the text gives no window of at least 2 tokens.
    """
    import torch

    ids = np.asarray(token_ids, dtype=np.int64)
    bounds = window_bounds(len(ids), context)
    if not bounds:
        raise InputError("the evaluation text has fewer than 2 tokens: nothing to predict")
    nll = 0.0
    correct = 0
    n = 0
    with torch.inference_mode():
        for s, e in bounds:  # one window a pass: windows differ in length only at the end
            x = torch.as_tensor(ids[s:e], device=device).unsqueeze(0)
            logits = model(input_ids=x, use_cache=False).logits[0, :-1].float()
            target = x[0, 1:]
            logp = torch.log_softmax(logits, dim=-1)
            nll -= float(logp.gather(1, target.unsqueeze(1)).sum())
            correct += int((logits.argmax(dim=-1) == target).sum())
            n += int(target.numel())
    mean = nll / n
    return QualityScore(math.exp(mean), correct / n, n, len(bounds), context, mean)


def quality_results(score: QualityScore, dataset_id: str) -> tuple[AccuracyResult, AccuracyResult]:
    """The stored ``perplexity`` and ``next_token_accuracy`` entries of ``score``."""
    n = score.n_predicted
    low, high = wilson_interval(round(score.next_token_accuracy * n), n)
    note = f"context {score.context} tokens, {score.n_windows} non-overlapping windows"
    return (
        AccuracyResult("perplexity", score.perplexity, dataset_id, n, note=note),
        AccuracyResult(
            "next_token_accuracy",
            score.next_token_accuracy,
            dataset_id,
            n,
            note=note,
            ci_low=low,
            ci_high=high,
        ),
    )
