"""Perplexity and next-token accuracy: the documented convention, against transformers' own loss."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch

from measure.llm.quality import (
    QualityScore,
    quality_results,
    score_text,
    tokenize_text,
    window_bounds,
)
from measure.llm.tiny import TinyLMSpec, build_model
from paretoscope.core.errors import InputError, MeasurementError
from tests.measure.llm import tinylm

CONTEXT = 32


@pytest.fixture(scope="module")
def model() -> Any:
    torch.manual_seed(0)
    spec = TinyLMSpec("test-gpt2", n_embd=32, n_layer=2, n_head=2)
    return build_model(spec, vocab_size=len(tinylm.tokenizer()), context=64, seed=3)


@pytest.fixture(scope="module")
def ids() -> list[int]:
    return tokenize_text(tinylm.tokenizer(), tinylm.split()[1].text)


def _reference_perplexity(model: Any, ids: list[int], windows: list[list[int]]) -> float:
    """Independent: transformers' mean loss per window, weighted by its predicted tokens."""
    total, count = 0.0, 0
    with torch.no_grad():
        for window in windows:
            w = torch.tensor([window])
            loss = model(input_ids=w, labels=w).loss
            total += float(loss) * (len(window) - 1)
            count += len(window) - 1
    return math.exp(total / count)


@pytest.mark.parametrize("last", [7, 2])
def test_perplexity_equals_transformers_loss_with_a_short_last_window(
    model: Any, ids: list[int], last: int
) -> None:
    n = 9 * CONTEXT + last
    text_ids = ids[:n]
    windows = [text_ids[i : i + CONTEXT] for i in range(0, 9 * CONTEXT, CONTEXT)]
    windows.append(text_ids[9 * CONTEXT :])
    assert len(windows[-1]) == last
    expected = _reference_perplexity(model, text_ids, windows)
    got = score_text(model, text_ids, CONTEXT, batch_windows=4)
    assert got.perplexity == pytest.approx(expected, rel=1e-3)
    assert got.n_windows == 10
    assert got.n_predicted == n - 10
    assert got.context == CONTEXT
    assert got.mean_nll == pytest.approx(math.log(got.perplexity))


def test_a_one_token_last_window_does_not_count(model: Any, ids: list[int]) -> None:
    text_ids = ids[: 9 * CONTEXT + 1]
    windows = [text_ids[i : i + CONTEXT] for i in range(0, 9 * CONTEXT, CONTEXT)]
    expected = _reference_perplexity(model, text_ids, windows)
    got = score_text(model, text_ids, CONTEXT)
    assert got.perplexity == pytest.approx(expected, rel=1e-3)
    assert (got.n_windows, got.n_predicted) == (9, 9 * (CONTEXT - 1))
    # The dropped token changes nothing: the same score as without it.
    assert got == score_text(model, text_ids[:-1], CONTEXT)


def test_batching_does_not_change_the_score(model: Any, ids: list[int]) -> None:
    text_ids = np.asarray(ids[: 20 * CONTEXT + 5], dtype=np.int32)
    one = score_text(model, text_ids, CONTEXT, batch_windows=1)
    eight = score_text(model, text_ids, CONTEXT, batch_windows=8)
    assert eight.perplexity == pytest.approx(one.perplexity, rel=1e-5)
    assert eight.next_token_accuracy == one.next_token_accuracy
    assert eight.n_predicted == one.n_predicted


class NextIdModel(torch.nn.Module):
    """Predicts ``id + 1 (mod vocab)`` for every position, with logit 10 against 0 elsewhere."""

    def __init__(self, vocab: int) -> None:
        super().__init__()
        self.vocab = vocab

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return 10.0 * torch.nn.functional.one_hot((ids + 1) % self.vocab, self.vocab).float()


def test_next_token_accuracy_and_perplexity_by_hand() -> None:
    # Windows of 4: [0 1 2 5] predicts 1 (right), 2 (right), 5 (wrong: 3 predicted);
    # [6 0 1] predicts 0 (wrong: 7 predicted), 1 (right). 3 of 5 right.
    got = score_text(NextIdModel(8), [0, 1, 2, 5, 6, 0, 1], context=4)
    assert (got.n_windows, got.n_predicted) == (2, 5)
    assert got.next_token_accuracy == pytest.approx(3 / 5)
    log_z = math.log(math.exp(10) + 7)
    mean_nll = (3 * (log_z - 10) + 2 * log_z) / 5
    assert got.mean_nll == pytest.approx(mean_nll, rel=1e-6)
    assert got.perplexity == pytest.approx(math.exp(mean_nll), rel=1e-6)


def test_window_bounds_follow_the_convention() -> None:
    assert window_bounds(10, 4) == [(0, 4), (4, 8), (8, 10)]
    assert window_bounds(9, 4) == [(0, 4), (4, 8)]
    assert window_bounds(8, 4) == [(0, 4), (4, 8)]
    assert window_bounds(1, 4) == []


def test_tokenize_text_adds_no_special_tokens() -> None:
    tok = tinylm.tokenizer()
    ids = tokenize_text(tok, "def f(x): return x")
    assert tok.eos_token_id not in ids
    assert tok.decode(ids) == "def f(x): return x"
    with pytest.raises(InputError, match="no tokens"):
        tokenize_text(tok, "")


@pytest.mark.parametrize(
    ("ids", "context", "batch", "message"),
    [
        ([1, 2, 3], 1, 8, "context must be at least 2"),
        ([1, 2, 3], 0, 8, "context must be at least 2"),
        ([1, 2, 3], 4.0, 8, "whole number of tokens"),
        ([1, 2, 3], True, 8, "whole number of tokens"),
        ([1, 2, 3], 4, 0, "batch_windows must be at least 1"),
        ([5], 4, 8, "has 1 token"),
        ([], 4, 8, "has 0 token"),
        ([[1, 2], [3, 4]], 4, 8, "one flat sequence"),
        ([1.0, 2.0], 4, 8, "must be integers"),
        ([1, -1, 2], 4, 8, "token id -1 is outside"),
        ([1, 600, 2], 4, 8, "token id 600 is outside the model's vocabulary"),
        ([1, 2, 3], 65, 8, "context of 65 tokens is longer than this model takes \\(64 positions"),
    ],
)
def test_malformed_inputs_are_refused(
    model: Any, ids: list[Any], context: Any, batch: int, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        score_text(model, ids, context, batch_windows=batch)


def test_non_finite_logits_fail_the_measurement() -> None:
    class NaNModel(torch.nn.Module):
        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            return torch.full((*ids.shape, 4), float("nan"))

    with pytest.raises(MeasurementError, match="not finite"):
        score_text(NaNModel(), [0, 1, 2, 3], context=4)


def test_quality_results_are_the_two_stored_entries() -> None:
    score = QualityScore(
        perplexity=12.5, next_token_accuracy=0.25, n_predicted=400, n_windows=4, context=101,
        mean_nll=math.log(12.5),
    )  # fmt: skip
    ppl, acc = quality_results(score, "text-0123456789abcdef")
    assert (ppl.metric, ppl.value, ppl.n_samples) == ("perplexity", 12.5, 400)
    assert ppl.ci_low is None and ppl.dataset_id == "text-0123456789abcdef"
    assert (acc.metric, acc.value, acc.n_samples) == ("next_token_accuracy", 0.25, 400)
    assert acc.ci_low is not None and acc.ci_high is not None
    assert acc.ci_low < 0.25 < acc.ci_high
    assert acc.ci_low > 0.20 and acc.ci_high < 0.30
    assert "context 101 tokens, 4 non-overlapping windows" in acc.note
