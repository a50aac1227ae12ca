"""The command line over files that are not usable stores: refused unchanged, one message each."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.store.test_filekind import foreign_duckdb, sqlite_file, truncated_store

REPO = Path(__file__).resolve().parents[2]

COMMANDS = [
    ["runs"],
    ["demo", "--quick"],
    ["serve", "--no-demo", "--no-example", "--port", "8599"],
]


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paretoscope", *argv],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,  # serve or the demo starting would be the failure
    )


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def text_file(path: Path) -> Path:
    path.write_text("model,accuracy\nresnet,0.76\n")
    return path


FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "duckdb": (foreign_duckdb, "a DuckDB database of another application (tables: a, b)"),
    "sqlite": (sqlite_file, "a SQLite database"),
    "text": (text_file, "a text file"),
}


@pytest.mark.parametrize("kind", sorted(FILES))
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
def test_a_foreign_file_is_refused_before_any_work(
    tmp_path: Path, kind: str, command: list[str]
) -> None:
    make, needle = FILES[kind]
    path = make(tmp_path / "other.db")
    before = sha(path)
    done = cli(*command, "--store", str(path))
    assert done.returncode != 0
    assert needle in done.stderr and "Choose another --store" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Dashboard:" not in done.stderr  # serve never started Streamlit
    assert sha(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]


@pytest.mark.parametrize("command", [["runs"], ["runs", "--all"], ["export", "--out"]])
def test_a_truncated_store_is_one_message(tmp_path: Path, command: list[str]) -> None:
    path = truncated_store(tmp_path / "s.duckdb")
    before = sha(path)
    if command[-1] == "--out":
        command = [*command, str(tmp_path / "out.parquet")]
    done = cli(*command, "--store", str(path))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "is damaged" in lines[0] and "Nothing was changed" in lines[0]
    assert sha(path) == before
