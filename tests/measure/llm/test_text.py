"""Reading evaluation texts: .txt and .jsonl, refusals with their reasons, the built-in text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from measure.llm import text as textmod
from measure.llm.text import builtin_split, builtin_text, read_text_file, text_dataset_id
from paretoscope.core.errors import InputError


def test_txt_is_read_as_utf8_without_a_byte_order_mark(tmp_path: Path) -> None:
    path = tmp_path / "eval.txt"
    path.write_bytes("\ufeffNaïve café — ünïcode.\nSecond line.".encode())
    got = read_text_file(path)
    assert got.text == "Naïve café — ünïcode.\nSecond line."
    assert (got.name, got.source) == ("eval.txt", "txt")
    assert got.dataset_id == text_dataset_id(got.text)
    assert got.dataset_id.startswith("text-") and len(got.dataset_id) == 5 + 16


def test_undecodable_bytes_are_refused_with_where(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"fine line\nsecond caf\xe9 line\n")
    with pytest.raises(InputError, match=r"not UTF-8: byte 20 \(line 2\)"):
        read_text_file(path)


def test_a_text_over_the_size_cap_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "big.txt"
    path.write_text("x" * 4096)
    monkeypatch.setattr(textmod, "MAX_TEXT_MB", 0.001)
    with pytest.raises(InputError, match=r"refused big\.txt: .* MB an evaluation text may hold"):
        read_text_file(path)


@pytest.mark.parametrize("name", ["eval.csv", "eval", "eval.json"])
def test_other_suffixes_are_refused(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text("text")
    with pytest.raises(InputError, match=r"expected a \.txt file"):
        read_text_file(path)


def test_missing_and_empty_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"cannot read evaluation text absent\.txt"):
        read_text_file(tmp_path / "absent.txt")
    (tmp_path / "blank.txt").write_text(" \n\t\n")
    with pytest.raises(InputError, match="holds no text"):
        read_text_file(tmp_path / "blank.txt")


def test_jsonl_joins_text_fields_in_order_and_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "eval.jsonl"
    lines = [json.dumps({"text": "first", "id": 1}), "", json.dumps({"text": "second"})]
    path.write_text("\n".join(lines) + "\n")
    got = read_text_file(path)
    assert got.text == "first\n\nsecond"
    assert got.source == "jsonl"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("__import__('os').system('touch pwned')", "line 2: not valid JSON"),
        ('{"text": "unterminated', "line 2: not valid JSON"),
        ('["text"]', "line 2: expected an object with a `text` field, got a list"),
        ('{"body": "x"}', "line 2: expected an object with a `text` field, got an object"),
        ('{"text": 3}', "line 2: `text` must be a string, got a number"),
        ('{"text": null}', "line 2: `text` must be a string, got null"),
    ],
)
def test_malformed_jsonl_lines_are_refused_with_their_number(
    tmp_path: Path, line: str, message: str
) -> None:
    path = tmp_path / "eval.jsonl"
    path.write_text(json.dumps({"text": "ok"}) + "\n" + line + "\n")
    with pytest.raises(InputError, match=message):
        read_text_file(path)
    assert not (tmp_path / "pwned").exists()


def test_the_builtin_split_is_deterministic_and_disjoint() -> None:
    train, heldout = builtin_split()
    again_train, again_heldout = builtin_split()
    assert (train.text, heldout.text) == (again_train.text, again_heldout.text)
    assert train.dataset_id != heldout.dataset_id
    assert builtin_text() == heldout
    train_topics = set(train.text.split("\n\n"))
    first_heldout_paragraph = heldout.text.split("\n\n")[0]
    assert first_heldout_paragraph not in train_topics
    # Several hundred thousand characters to train on, tens of thousands held out.
    assert len(train.text) > 100_000 and len(heldout.text) > 10_000
    assert len(heldout.text) < len(train.text) / 4
