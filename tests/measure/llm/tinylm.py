"""Shared, cached pieces for the language-model tests: the built-in text and a tokenizer on it."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from measure.llm.text import EvalText, builtin_split
from measure.llm.tiny import train_tokenizer

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing in these tests may reach the Hub

VOCAB = 512


@lru_cache(maxsize=1)
def split() -> tuple[EvalText, EvalText]:
    return builtin_split()


@lru_cache(maxsize=1)
def tokenizer() -> Any:
    """A byte-level BPE tokenizer of ``VOCAB`` tokens trained on the built-in training part."""
    return train_tokenizer(split()[0].text, VOCAB)
