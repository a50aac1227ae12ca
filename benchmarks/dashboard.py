"""The dashboard started for a benchmark or a screenshot: one way, used by every script.

``start`` runs ``streamlit run paretoscope/webapp/app.py -- --store STORE``
headless on a free local port, with this checkout on ``PYTHONPATH`` and the
store in ``PARETOSCOPE_STORE``, its output in ``log``, and waits until
``/_stcore/health`` answers. ``serving`` does the same as a context manager
that stops it (terminate, then kill) on exit. Scripts, not the library: the
library's own child processes go through ``paretoscope.core.launcher``.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path

__all__ = ["APP", "REPO", "free_port", "serving", "start", "stop"]

REPO = Path(__file__).resolve().parents[1]
APP = REPO / "paretoscope" / "webapp" / "app.py"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(
    store: Path,
    log: Path,
    *,
    app: Path = APP,
    env: Mapping[str, str] | None = None,
    timeout_s: float = 120.0,
    new_session: bool = False,
) -> tuple[subprocess.Popen[bytes], str]:
    """The dashboard over ``store`` (``app``: another checkout's app.py); its process and URL.

    ``env`` replaces the environment (default: this one, with the store and
    this checkout's PYTHONPATH). ``new_session``: its own process group, for
    ``stop`` to signal. Raises RuntimeError, with the log, when it exits or
    does not answer within ``timeout_s``.
    """
    port = free_port()
    if env is None:
        env = {**os.environ, "PARETOSCOPE_STORE": str(store), "PYTHONPATH": str(REPO)}
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.headless", "true", "--server.port", str(port),
        "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
        "--server.fileWatcherType", "none", "--", "--store", str(store),
    ]  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=app.parent,
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the dashboard exited early:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
    stop(proc)
    raise RuntimeError(f"the dashboard did not answer within {timeout_s:g} s:\n{log.read_text()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop the dashboard (its process group when it has one): TERM, then KILL after 15 s."""
    group = os.getpgid(proc.pid) == proc.pid if proc.poll() is None else False
    try:
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.terminate()
        proc.wait(timeout=15)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with suppress(ProcessLookupError):
            if group:
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        proc.wait()


@contextmanager
def serving(
    store: Path, log: Path, **kwargs: object
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``start``'s dashboard as ``(url, process)``, stopped on exit."""
    proc, url = start(store, log, **kwargs)  # type: ignore[arg-type]
    try:
        yield url, proc
    finally:
        stop(proc)
