"""SIGTERM or SIGINT to ``paretoscope serve`` stops the whole process tree and frees the port."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from tests.cli.serving import (
    alive,
    descendants,
    page_status,
    port_free,
    start_serve,
    stop,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_to_serve_stops_streamlit_and_frees_the_port(
    tmp_path: Path, sig: signal.Signals
) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    served = start_serve(
        [sys.executable, "-m", "paretoscope"],
        tmp_path / "store.duckdb",
        elsewhere,
        env,
        tmp_path / "serve.log",
    )
    tree = descendants(served.proc.pid)
    try:
        assert tree, "serve runs the dashboard in a child process"
        assert page_status(served) == 200
    finally:
        code = stop(served, sig)
    assert code == 0, served.log.read_text()
    assert wait_until(lambda: port_free(served.port), 10.0), "the port is still taken"
    assert wait_until(lambda: not any(alive(p) for p in tree), 10.0), [p for p in tree if alive(p)]
