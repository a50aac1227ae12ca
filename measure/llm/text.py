"""A causal language model's evaluation text: the user's ``.txt``/``.jsonl``, or a built-in one.

A user's text is UTF-8 ``.txt`` (the whole file) or ``.jsonl`` with a string
``text`` field on every non-blank line (joined by blank lines, in file
order); lines are parsed with ``json.loads``, never evaluated. Files larger
than ``MAX_TEXT_MB`` are refused before they are read, like the server's
upload limit.

When the user has none, the built-in text is the documentation of Python's
own topics (``pydoc_data.topics``, which ships with every CPython: plain
English about Python, nothing downloaded). Its topics, in key order, are
split deterministically into a training part (for the demo's tiny models)
and a held-out evaluation part (every ``HELDOUT_EVERY``-th topic). Its text
differs between Python versions, so its dataset id (a hash of the text)
names exactly the text that was scored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from paretoscope.core.errors import InputError

__all__ = [
    "BUILTIN_TEXT_NAME",
    "HELDOUT_EVERY",
    "MAX_TEXT_MB",
    "EvalText",
    "builtin_split",
    "builtin_text",
    "read_text_file",
    "text_dataset_id",
]

#: The largest evaluation text accepted, in MB of 2^20 bytes: the dashboard's upload
#: limit (``server.maxUploadSize`` in ``paretoscope/webapp/.streamlit/config.toml``).
MAX_TEXT_MB = 500.0

BUILTIN_TEXT_NAME = "python-docs-topics"
#: Every ``HELDOUT_EVERY``-th topic of the built-in text (in key order) is held out.
HELDOUT_EVERY = 8


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

    Raises ``InputError`` for another suffix, a missing or unreadable file, a
    file over ``MAX_TEXT_MB``, bytes that are not UTF-8 (with their offset), a
    ``.jsonl`` line that is not a JSON object with a string ``text`` (with its
    line number), or a text with nothing in it.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".txt", ".jsonl"):
        raise InputError(
            f"evaluation text {p.name}: expected a .txt file (UTF-8) or a .jsonl file with a "
            f"`text` field on each line, not {suffix or 'a file without a suffix'}"
        )
    try:
        size = p.stat().st_size
        if size > MAX_TEXT_MB * 2**20:
            raise InputError(
                f"refused {p.name}: {size / 2**20:,.0f} MB is more than the {MAX_TEXT_MB:g} MB "
                "an evaluation text may hold; use a sample of it"
            )
        raw = p.read_bytes()
    except OSError as err:
        raise InputError(f"cannot read evaluation text {p.name}: {err}") from err
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise InputError(
            f"evaluation text {p.name} is not UTF-8: byte {err.start} (line {line}) cannot be "
            "decoded; save the file as UTF-8"
        ) from err
    decoded = decoded.removeprefix("\ufeff")  # a byte-order mark is not part of the text
    text = _jsonl_text(decoded, p.name) if suffix == ".jsonl" else decoded
    if not text.strip():
        raise InputError(f"evaluation text {p.name} holds no text")
    return EvalText(name=p.name, text=text, source=suffix.lstrip("."))


def _jsonl_text(content: str, name: str) -> str:
    """The ``text`` fields of a JSON Lines file, joined by blank lines; blank lines skipped."""
    parts: list[str] = []
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(
                f"evaluation text {name}, line {number}: not valid JSON ({err.msg} at column "
                f"{err.colno}); each line must be an object with a `text` field"
            ) from err
        if not isinstance(item, dict) or "text" not in item:
            raise InputError(
                f"evaluation text {name}, line {number}: expected an object with a `text` "
                f"field, got {_kind(item)}"
            )
        if not isinstance(item["text"], str):
            raise InputError(
                f"evaluation text {name}, line {number}: `text` must be a string, got "
                f"{_kind(item['text'])}"
            )
        parts.append(item["text"])
    return "\n\n".join(parts)


def _kind(value: object) -> str:
    if isinstance(value, dict):
        return f"an object with fields {', '.join(map(str, list(value)[:5])) or '(none)'}"
    return {list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _topics() -> list[str]:
    """The built-in topics' texts in key order, each stripped."""
    from pydoc_data.topics import topics

    return [topics[key].strip() for key in sorted(topics)]


def builtin_split() -> tuple[EvalText, EvalText]:
    """The built-in text's training part and held-out evaluation part, deterministically.

    Topic ``i`` (in key order) is held out when ``i % HELDOUT_EVERY ==
    HELDOUT_EVERY - 1``; the parts share no topic.
    """
    train: list[str] = []
    heldout: list[str] = []
    for i, topic in enumerate(_topics()):
        (heldout if i % HELDOUT_EVERY == HELDOUT_EVERY - 1 else train).append(topic)
    return (
        EvalText(f"{BUILTIN_TEXT_NAME}-train", "\n\n".join(train), "builtin"),
        EvalText(f"{BUILTIN_TEXT_NAME}-heldout", "\n\n".join(heldout), "builtin"),
    )


def builtin_text() -> EvalText:
    """The built-in evaluation text: the held-out part of Python's topic documentation."""
    return builtin_split()[1]
