"""`serve` checks the access settings before anything runs; it warns when a port is open."""

from __future__ import annotations

import pytest

from paretoscope.cli import commands, serve
from paretoscope.core.access import ACCESS_ENV, TOKEN_ENV, TOKEN_FILE_ENV


@pytest.fixture(autouse=True)
def _no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for env in (ACCESS_ENV, TOKEN_ENV, TOKEN_FILE_ENV):
        monkeypatch.delenv(env, raising=False)


def test_open_on_another_address_warns(capsys: pytest.CaptureFixture[str]) -> None:
    serve.access_notice("localhost")
    assert capsys.readouterr().err == ""
    serve.access_notice("0.0.0.0")
    assert "anyone who reaches the port is a profiler" in capsys.readouterr().err


def test_token_mode_is_said(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "a-long-enough-token")
    serve.access_notice("0.0.0.0")
    err = capsys.readouterr().err
    assert "Access: token" in err and "a-long-enough-token" not in err


def test_bad_settings_stop_serve_before_it_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    monkeypatch.setenv(TOKEN_ENV, "short")
    assert commands.main(["serve", "--store", f"{tmp_path}/s.duckdb", "--no-demo"]) == 2
    assert "at least 12" in capsys.readouterr().err
