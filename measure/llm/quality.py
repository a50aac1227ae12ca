"""A causal language model's quality on a text: perplexity and next-token accuracy.

The convention (Methodology): the text is tokenized with the model's own
tokenizer without special tokens (``tokenize_text``) and cut into
consecutive, non-overlapping windows of ``context`` tokens from the start;
a last shorter window counts when it has at least 2 tokens. In each window
every token after the first is predicted from the tokens before it in that
window, so a text of ``n`` tokens gives ``n - (number of windows)``
predictions. ``perplexity`` is exp of the mean negative log-likelihood (in
nats) over all predicted tokens; ``next_token_accuracy`` the fraction whose
arg-max prediction is the actual token. Papers' perplexities use other
windows and strides (a sliding window with overlap gives each token more
context and a lower perplexity) and are comparable only under the same
convention and tokenizer.

Cost: one forward pass per window, ``O(n / context)`` passes of ``context``
tokens; full windows go ``batch_windows`` at a time, the short last one alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from paretoscope.core.errors import InputError, MeasurementError
from paretoscope.core.intervals import wilson_interval
from paretoscope.core.records import AccuracyResult

__all__ = [
    "MIN_WINDOW_TOKENS",
    "QualityScore",
    "quality_results",
    "score_text",
    "tokenize_text",
    "window_bounds",
]

#: A window predicts ``len - 1`` tokens, so it needs at least 2 to predict anything.
MIN_WINDOW_TOKENS = 2


@dataclass(frozen=True)
class QualityScore:
    """Perplexity and next-token accuracy of a model on a token sequence (one convention).

    ``mean_nll`` is in nats per predicted token; ``n_predicted`` counts the
    predicted tokens over ``n_windows`` windows of at most ``context`` tokens.
    """

    perplexity: float
    next_token_accuracy: float
    n_predicted: int
    n_windows: int
    context: int
    mean_nll: float


def tokenize_text(tokenizer: Any, text: str) -> list[int]:
    """The token ids of ``text`` by ``tokenizer`` (a Hugging Face tokenizer), no special tokens.

    No BOS/EOS is added and nothing is truncated; the "longer than the
    model's maximum length" warning is silenced, since windows cut the ids.
    Raises ``InputError`` when the tokenizer gives no ids.
    """
    try:
        encoded = tokenizer(text, add_special_tokens=False, verbose=False)
        ids = encoded["input_ids"]
    except TypeError:  # a tokenizer without the keyword: its plain encode
        ids = tokenizer.encode(text, add_special_tokens=False)
    out = [int(i) for i in ids]
    if not out:
        raise InputError("the evaluation text gives no tokens with this model's tokenizer")
    return out


def window_bounds(n_tokens: int, context: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of each window: consecutive, non-overlapping, ``context`` long.

    The last window is shorter when ``context`` does not divide ``n_tokens``,
    and is dropped when it has fewer than ``MIN_WINDOW_TOKENS`` tokens.
    """
    bounds = [(s, min(s + context, n_tokens)) for s in range(0, n_tokens, context)]
    return [(a, b) for a, b in bounds if b - a >= MIN_WINDOW_TOKENS]


def _check(ids: np.ndarray, context: int, batch_windows: int, vocab: int | None) -> None:
    if isinstance(context, bool) or not isinstance(context, (int, np.integer)):
        raise InputError(f"the context must be a whole number of tokens, got {context!r}")
    if context < MIN_WINDOW_TOKENS:
        raise InputError(f"the context must be at least {MIN_WINDOW_TOKENS} tokens, got {context}")
    if isinstance(batch_windows, bool) or not isinstance(batch_windows, (int, np.integer)):
        raise InputError(f"batch_windows must be a whole number, got {batch_windows!r}")
    if batch_windows < 1:
        raise InputError(f"batch_windows must be at least 1, got {batch_windows}")
    if ids.ndim != 1:
        raise InputError(f"token ids must be one flat sequence, got shape {ids.shape}")
    if len(ids) < MIN_WINDOW_TOKENS:
        raise InputError(
            f"the evaluation text has {len(ids)} token(s); at least {MIN_WINDOW_TOKENS} are needed "
            "to predict one"
        )
    low, high = int(ids.min()), int(ids.max())
    if low < 0 or (vocab is not None and high >= vocab):
        bad = low if low < 0 else high
        raise InputError(
            f"token id {bad} is outside the model's vocabulary (0..{(vocab or 0) - 1}); tokenize "
            "the text with the model's own tokenizer"
        )


def _as_ids(token_ids: Sequence[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(token_ids)
    if arr.size == 0:
        return arr.astype(np.int64).reshape(-1) if arr.ndim <= 1 else arr
    if arr.dtype.kind not in "iu":
        raise InputError(f"token ids must be integers, got {arr.dtype}")
    return arr.astype(np.int64, copy=False)


def _config_int(model: Any, name: str) -> int | None:
    """An integer of the model's config (``vocab_size``, ``max_position_embeddings``), if any."""
    value = getattr(getattr(model, "config", None), name, None)
    return int(value) if isinstance(value, (int, np.integer)) else None


def _logits(model: Any, batch: Any) -> Any:
    """The model's logits ``[batch, tokens, vocab]`` for ``batch`` of input ids (no cache)."""
    out = model(input_ids=batch, use_cache=False) if hasattr(model, "config") else model(batch)
    logits = getattr(out, "logits", out)
    if isinstance(logits, (tuple, list)):
        logits = logits[0]
    return logits


def score_text(
    model: Any,
    token_ids: Sequence[int] | np.ndarray,
    context: int,
    device: str = "cpu",
    batch_windows: int = 8,
) -> QualityScore:
    """Perplexity and next-token accuracy of ``model`` on ``token_ids`` (module docstring).

    ``model`` is a causal LM already on ``device`` (a Hugging Face model, or a
    callable from ids ``[b, t]`` to logits ``[b, t, vocab]``); it is run in
    inference mode. Log-probabilities are taken in float32 whatever the
    model's precision. Raises ``InputError`` for a context below 2 or beyond
    the model's positions, fewer than 2 tokens, or ids outside the model's
    vocabulary, and ``MeasurementError`` when the model fails or gives
    non-finite scores.
    """
    import torch
    import torch.nn.functional as F

    ids = _as_ids(token_ids)
    _check(ids, context, batch_windows, _config_int(model, "vocab_size"))
    context = int(context)
    longest = _config_int(model, "max_position_embeddings")
    if longest is not None and context > longest:
        raise InputError(
            f"the context of {context} tokens is longer than this model takes ({longest} "
            f"positions); use --context {longest} or less"
        )
    bounds = window_bounds(len(ids), context)
    full = [b for b in bounds if b[1] - b[0] == context]
    short = [b for b in bounds if b[1] - b[0] < context]
    groups = [full[i : i + batch_windows] for i in range(0, len(full), batch_windows)]
    groups += [[b] for b in short]  # the short last window goes alone: no padding, no mask

    nll_sum = 0.0
    correct = 0
    predicted = 0
    tokens = torch.from_numpy(np.ascontiguousarray(ids))
    with torch.inference_mode():
        for group in groups:
            batch = torch.stack([tokens[a:b] for a, b in group]).to(device)
            try:
                logits = _logits(model, batch)
            except (RuntimeError, IndexError, ValueError) as err:
                raise MeasurementError(f"the model failed on a window of the text: {err}") from err
            nll = torch.zeros((), dtype=torch.float64, device=batch.device)
            hits = torch.zeros((), dtype=torch.int64, device=batch.device)
            for row in range(batch.shape[0]):
                # Per window, so only one window's logits are ever copied to float32.
                pred = logits[row, :-1].float()
                target = batch[row, 1:]
                nll += F.cross_entropy(pred, target, reduction="sum").double()
                hits += (pred.argmax(dim=-1) == target).sum()
                predicted += int(target.numel())
            # One read (one device synchronisation) per batch of windows, not per window.
            nll_sum += float(nll)
            correct += int(hits)
    if not math.isfinite(nll_sum):
        raise MeasurementError(
            "the model's log-likelihood of the text is not finite (NaN or infinite logits); "
            "its precision may overflow"
        )
    mean_nll = nll_sum / predicted
    return QualityScore(
        perplexity=math.exp(mean_nll),
        next_token_accuracy=correct / predicted,
        n_predicted=predicted,
        n_windows=len(bounds),
        context=context,
        mean_nll=mean_nll,
    )


def quality_results(score: QualityScore, dataset_id: str) -> tuple[AccuracyResult, AccuracyResult]:
    """The two stored quality entries of a score on the text ``dataset_id``.

    ``perplexity`` (value: the perplexity, ``n_samples``: predicted tokens)
    and ``next_token_accuracy`` (a fraction with its Wilson 95% interval over
    the predicted tokens); both notes name the context and window count,
    which the number depends on.
    """
    n = score.n_predicted
    correct = round(score.next_token_accuracy * n)
    low, high = wilson_interval(correct, n)
    note = (
        f"context {score.context} tokens, {score.n_windows} non-overlapping window"
        f"{'s' if score.n_windows != 1 else ''}, mean NLL {score.mean_nll:.4f} nats"
    )
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
