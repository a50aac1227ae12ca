"""A wheel built from a clean copy of the tree, installed in a fresh venv, serves the dashboard.

The fresh venv reaches this environment's dependencies through a ``.pth``
file that names its site-packages (no network); ``.pth`` lines are not
themselves scanned for ``.pth`` files, so the editable install of the
source tree is not picked up, and the test checks that ``paretoscope`` is
imported from the venv.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
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

REPO = Path(__file__).resolve().parents[1]


def _clean_copy(dst: Path) -> Path:
    """The files git would commit (tracked, and untracked but not ignored), copied to ``dst``."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for raw in listed:
        if not raw:
            continue
        src = REPO / raw.decode()
        if src.is_file():
            (dst / raw.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / raw.decode())
    return dst


def _run(argv: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=env)
    assert done.returncode == 0, f"{argv} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.mark.slow
def test_a_wheel_in_a_fresh_venv_serves_the_dashboard(tmp_path: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("needs git to copy the tree")
    src = _clean_copy(tmp_path / "src")
    wheels = tmp_path / "wheels"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
          "-w", str(wheels), str(src)])  # fmt: skip
    (wheel,) = wheels.glob("paretoscope-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    venv_site = Path(
        _run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).strip()
    )
    (venv_site / "_paretoscope_test_deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
          str(wheel)])  # fmt: skip

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _run(
        [str(python), "-c", "import paretoscope; print(paretoscope.__file__)"],
        cwd=elsewhere,
        env=env,
    ).strip()
    assert Path(where).is_relative_to(venv), f"paretoscope came from {where}, not the wheel"
    package = Path(where).parent
    assert (package / "webapp" / "app.py").is_file(), "the dashboard is in the wheel"
    assert (package / "webapp" / "app_pages" / "frontier.py").is_file(), "and its pages"
    assert (package / "webapp" / ".streamlit" / "config.toml").is_file(), "and its settings"
    assert (package / "profiling" / "bundles" / "h100-demo.parquet").is_file(), "the example"

    served = start_serve(
        [str(venv / "bin" / "paretoscope")],
        tmp_path / "store.duckdb",
        elsewhere,
        env,
        tmp_path / "serve.log",
    )
    tree = descendants(served.proc.pid)
    try:
        assert page_status(served) == 200
    finally:
        code = stop(served, signal.SIGTERM)
    assert code == 0, served.log.read_text()
    assert wait_until(lambda: port_free(served.port), 10.0), "the port is still taken"
    assert wait_until(lambda: not any(alive(p) for p in tree), 10.0)
