"""The repository's own hygiene: lint, types, and the README's promises."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from paretoscope.cli.reference import SECTIONS

REPO = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text()
    return re.findall(r"```(?:sh|bash)\n(.+?)\n```", text)[:2]


def test_readme_opens_with_two_commands_and_ci_runs_the_second() -> None:
    serve, test = _readme_commands()
    assert "paretoscope serve" in serve
    assert "pytest" in test
    ci = (REPO / ".ci" / "run").read_text()
    assert test in ci


@pytest.mark.skipif(
    shutil.which("ruff") is None and not (Path(sys.executable).parent / "ruff").exists(),
    reason="ruff not installed",
)
def test_ruff_is_clean() -> None:
    for args in (["check", "."], ["format", "--check", "."]):
        proc = subprocess.run(
            [sys.executable, "-m", "ruff", *args], cwd=REPO, capture_output=True, text=True
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_is_clean() -> None:
    pytest.importorskip("mypy")
    proc = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_readme_is_short_and_every_link_in_it_and_the_docs_resolves() -> None:
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) < 200, "reference material belongs in docs/"
    # Every file with generated reference is reachable from the README's Reference list.
    for rel in SECTIONS:
        assert f"]({rel})" in readme, rel
    for doc in [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", doc.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            assert (doc.parent / target).exists(), f"{doc.name}: broken link {target}"
