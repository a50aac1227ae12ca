"""Evaluation text for causal LMs: a ``.txt`` or ``.jsonl`` file, or a built-in text.

Minimal version written by the core helper of issue 15 (the quality
helper's module replaces it at merge; the names and signatures are the same).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from paretoscope.core.errors import InputError

__all__ = ["EvalText", "builtin_text", "read_text_file", "text_dataset_id"]


def text_dataset_id(text: str) -> str:
    """Stable id of an evaluation text: ``text-`` and the first 16 hex digits of its SHA-256."""
    return f"text-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]}"


@dataclass(frozen=True)
class EvalText:
    """An evaluation text and where it came from (``txt``, ``jsonl`` or ``builtin``)."""

    name: str
    text: str
    source: str

    @property
    def dataset_id(self) -> str:
        return text_dataset_id(self.text)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def read_text_file(path: str | Path) -> EvalText:
    """Read a ``.txt`` (UTF-8) or ``.jsonl`` (a ``text`` field per line) evaluation text.

    Raises ``InputError`` for a missing, unreadable, empty or malformed file.
    """
    p = Path(path)
    if p.suffix.lower() not in (".txt", ".jsonl"):
        raise InputError(f"{p.name}: evaluation text must be a .txt or .jsonl file")
    try:
        content = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read {p}: {err}") from err
    if p.suffix.lower() == ".jsonl":
        parts = []
        for i, line in enumerate(content.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as err:
                raise InputError(f"{p.name} line {i} is not JSON: {err}") from err
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise InputError(f"{p.name} line {i} has no string field 'text'")
            parts.append(row["text"])
        content = "\n\n".join(parts)
    if not content.strip():
        raise InputError(f"{p.name} holds no text")
    return EvalText(p.name, content, p.suffix.lower().lstrip("."))


def builtin_text() -> EvalText:
    """A text that ships with Python: the topic documentation of ``pydoc_data``."""
    from pydoc_data import topics

    text = "\n\n".join(topics.topics[k] for k in sorted(topics.topics))
    return EvalText("python-docs-topics", text, "builtin")
