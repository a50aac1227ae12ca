"""docs/url.md documents every URL key each view emits, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from paretoscope.views import DECIDE_KEYS, FRONTIER_KEYS, RUNS_KEYS

DOC = Path(__file__).resolve().parents[2] / "docs" / "url.md"


def _table_keys(section: str) -> set[str]:
    text = DOC.read_text(encoding="utf-8")
    body = text.split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z]+)` \|", body, flags=re.MULTILINE))


@pytest.mark.parametrize(
    ("section", "keys"),
    [("Frontier", FRONTIER_KEYS), ("Runs", RUNS_KEYS), ("Decide", DECIDE_KEYS)],
)
def test_every_url_key_is_documented(section: str, keys: dict[str, str]) -> None:
    assert _table_keys(section) == set(keys)
