"""Start ``paretoscope serve`` as a real process, check it serves, stop it with a signal."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether nothing listens on ``port`` of 127.0.0.1 (a bind succeeds)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc's parent links)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _status(url: str) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return int(resp.status)
    except OSError:
        return None


@dataclass
class Served:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_serve(
    command: Sequence[str], store: Path, cwd: Path, env: Mapping[str, str], log: Path
) -> Served:
    """Run ``COMMAND serve --store STORE --no-demo --no-example --port FREE`` until healthy."""
    port = free_port()
    argv = [*command, "serve", "--store", str(store), "--no-demo", "--no-example"]
    argv += ["--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, cwd=cwd, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    served = Served(proc, port, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early ({proc.returncode}):\n{log.read_text()}")
        if _status(f"{served.url}/_stcore/health") == 200:
            return served
        time.sleep(0.2)
    stop(served, kill=True)
    raise AssertionError(f"serve did not become healthy:\n{log.read_text()}")


def page_status(served: Served) -> int | None:
    """The HTTP status of the app's page ``/``."""
    return _status(served.url + "/")


def stop(served: Served, sig: int = 15, *, kill: bool = False) -> int:
    """Send ``sig`` to serve (SIGKILL its tree with ``kill``); its exit status."""
    if kill:
        for pid in descendants(served.proc.pid) | {served.proc.pid}:
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
    else:
        os.kill(served.proc.pid, sig)
    return served.proc.wait(timeout=60)


def wait_until(cond: Callable[[], bool], timeout_s: float) -> bool:
    """Whether ``cond()`` became true within ``timeout_s`` seconds (a deadline, not a claim)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.1)
    return False
