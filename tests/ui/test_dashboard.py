"""Page support that needs no running app: where the store comes from."""

from __future__ import annotations

from pathlib import Path

import pytest

from paretoscope.ui.dashboard import store_path_from_argv
from store import ENV_VAR


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["app.py", "--store", "/data/a.duckdb"], "/data/a.duckdb"),
        (["app.py", "--store=/data/b.duckdb"], "/data/b.duckdb"),
        # Arguments before a literal "--" are someone else's.
        (["app.py", "--store", "/x", "--", "--store", "/data/c.duckdb"], "/data/c.duckdb"),
        (["app.py", "--store"], "/from/env.duckdb"),
        (["pytest", "-q", "tests"], "/from/env.duckdb"),
    ],
)
def test_store_path_from_argv(
    argv: list[str], expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, "/from/env.duckdb")
    assert store_path_from_argv(argv) == Path(expected)


def test_without_argument_or_environment_the_default_location(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert store_path_from_argv(["app.py"]) == tmp_path / "paretoscope" / "paretoscope.duckdb"
