"""First run: `paretoscope serve` on an empty store answers at once and the chart grows.

The background demo is the quick one (serve's hidden ``--demo-quick``). The
screenshots are kept under the test's tmp dir, and copied to
$PARETOSCOPE_SHOTS when that is set.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.cli.serving import alive, free_port, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SYMBOLS = ".vega-embed svg g.mark-symbol.role-mark path"


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1) as r:
            return int(r.status) == 200
    except OSError:
        return False


def _symbols(page: Any) -> int:
    return int(page.evaluate(f"document.querySelectorAll('{SYMBOLS}').length"))


def test_serve_on_an_empty_store_answers_at_once_and_the_frontier_grows(
    tmp_path: Path, page: Any
) -> None:
    store = tmp_path / "store.duckdb"
    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    argv = [sys.executable, "-m", "paretoscope", "serve", "--store", str(store)]
    argv += ["--port", str(port), "--demo-quick"]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=out, stderr=subprocess.STDOUT)
    shots = []
    try:
        # The bar: HTTP answers within 15 s of the start (not after the demo).
        assert wait_until(lambda: _healthy(port), 15.0), log.read_text()
        assert time.monotonic() - started < 15.0
        page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
        page.get_by_text("Accuracy–efficiency frontier").wait_for(timeout=30_000)
        # The demo's progress (bar, ETA, what it does) while only imported runs are stored.
        page.get_by_text("This host's runs are being measured").wait_for(timeout=30_000)
        page.locator('[data-testid="stProgress"]').first.wait_for(timeout=30_000)
        page.get_by_text("Demo:").first.wait_for(timeout=30_000)
        page.locator(SYMBOLS).first.wait_for(timeout=30_000)
        first = _symbols(page)
        shots.append(tmp_path / "first-run-progress.png")
        page.screenshot(path=str(shots[-1]), full_page=True)
        # Without a reload, the chart gains this host's runs as they land.
        page.wait_for_function(
            f"document.querySelectorAll('{SYMBOLS}').length > {first}", timeout=300_000
        )
        # The rerun has settled: no element left over from the page before it.
        page.wait_for_function(
            "document.querySelectorAll('[data-stale=\"true\"]').length === 0", timeout=30_000
        )
        shots.append(tmp_path / "first-run-grown.png")
        page.screenshot(path=str(shots[-1]), full_page=True)
        assert _symbols(page) > first
        assert page.console_errors == []
    finally:
        pid_file = store.with_name(store.name + ".files") / "demo.pid"
        demo_pid = json.loads(pid_file.read_text())["pid"] if pid_file.exists() else None
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=60)
        dest = os.environ.get("PARETOSCOPE_SHOTS")
        if dest:
            Path(dest).mkdir(parents=True, exist_ok=True)
            for shot in shots:
                shutil.copy(shot, dest)
    assert code == 0, log.read_text()
    # Serve stops the background demo it started (it resumes with `paretoscope demo`).
    assert demo_pid is not None
    assert wait_until(lambda: not alive(demo_pid), 10.0), log.read_text()
    assert "Dashboard: http://" in log.read_text().splitlines()[0]
