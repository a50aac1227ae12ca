"""The one way Paretoscope starts a child process: environment, spawn, limits, kill, result.

Parent side:

- ``run_child(module, args, ...)`` runs ``python -m module`` to its end under a
  time limit (seconds, from the start of the process) and an optional memory
  limit (MB of resident memory, read by a caller-given function about every
  50 ms) and an optional ``should_stop`` hook (a cancel flag, asked about
  every 0.25 s), kills the child's whole process group whatever happens, and
  returns a ``ChildOutcome``: exit status, the JSON result file (written atomically
  by the child with ``write_result``), the tail of its stderr, why it was
  killed. It never raises for a failure of the child; callers turn the
  outcome into their own message.
- ``spawn_detached(argv, log_path, ...)`` starts a long-lived child (the demo,
  the job runner) in its own session with its output in a log; the caller
  reaps it.
- ``module_argv(module, args)`` is the command line both use.

Every child runs with ``PYTHONSAFEPATH=1`` (Python 3.11+): ``python -m``
then does not put the working directory first on ``sys.path``, so a user's
``measure.py`` or ``store.py`` there can never shadow Paretoscope's packages.
The one child that imports a user's module (the inspector, for a trusted
``module:function`` model) appends the working directory to the *end* of
``sys.path`` itself. A source checkout that is not installed is put on
``PYTHONPATH``.

Child side: ``write_result(path, payload)`` and ``exit_child(main)``.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paretoscope.core.errors import ParetoscopeError

__all__ = [
    "ChildOutcome",
    "StopRequested",
    "child_env",
    "die_with_parent",
    "exit_child",
    "kill_group",
    "last_line",
    "module_argv",
    "run_child",
    "run_foreground",
    "signal_group",
    "signal_name",
    "spawn_detached",
    "spawn_piped",
    "write_result",
]

POLL_INTERVAL_S = 0.05
#: How often ``run_child`` asks its ``should_stop`` hook (a store read, for a job's cancel flag).
STOP_POLL_S = 0.25
STDERR_TAIL_BYTES = 4000
#: Names the pid of the process that ``run_child`` started a child from (``exit_child`` reads it).
PARENT_PID_ENV = "PARETOSCOPE_PARENT_PID"
_PR_SET_PDEATHSIG = 1  # linux/prctl.h
# The folder that holds the paretoscope, measure and store packages.
_SOURCE_ROOT = Path(__file__).resolve().parents[2]


def module_argv(
    module: str, args: Sequence[str] = (), *, python: str = sys.executable
) -> list[str]:
    """The command line that runs ``python -m module ARGS`` (with ``child_env``'s environment)."""
    return [python, "-m", module, *args]


def child_env(extra: Mapping[str, str] | None = None, *, safe_path: bool = True) -> dict[str, str]:
    """This process's environment for a child, with ``extra`` on top.

    ``safe_path`` keeps the working directory off the front of the child's
    ``sys.path`` (``PYTHONSAFEPATH``); every child of ours wants it.

    A source checkout that is not installed goes first on ``PYTHONPATH`` so
    the child imports this tree; an installed copy needs no help, and putting
    site-packages ahead of the standard library could shadow it.
    """
    env = dict(os.environ)
    if _SOURCE_ROOT.name not in ("site-packages", "dist-packages"):
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_SOURCE_ROOT), env.get("PYTHONPATH", "")) if p
        )
    env["PYTHONUNBUFFERED"] = "1"
    if safe_path:
        env["PYTHONSAFEPATH"] = "1"  # no working directory first on sys.path: nothing shadows ours
    env.update(extra or {})
    return env


class StopRequested(ParetoscopeError):
    """A caller's ``should_stop`` hook asked to stop: the child was killed, its result dropped.

    Raised by callers of ``run_child`` (the worker, the executors) so that a
    cancelled run stores nothing; ``run_child`` itself reports it as
    ``ChildOutcome.killed == "stopped"``.
    """


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """SIGKILL the child's process group (it leads its own session), then reap it.

    This also reaches helpers it started (compile workers, data loaders).
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def signal_group(pid: int, signum: int) -> bool:
    """Send ``signum`` to the process group led by ``pid``; False when it is gone or not ours."""
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def signal_name(signum: int) -> str:
    """``SIGKILL`` for 9; ``signal N`` for a number Python does not name."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def last_line(text: str, limit: int = 500) -> str:
    """The last non-blank line of ``text``, cut to ``limit`` characters ("" when none)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""


@dataclass(frozen=True)
class ChildOutcome:
    """How a child ended. Times in seconds, memory in MB.

    ``returncode`` is negative for a signal (-9: SIGKILL). ``result`` is the
    parsed JSON of the result file, None when the file is absent or
    unreadable (``result_error`` then says which). ``killed`` is
    ``"timeout"`` or ``"memory"`` when the launcher killed the child, with
    ``rss_mb`` the resident memory that tripped the limit.
    """

    returncode: int
    result: Any
    result_error: str | None
    stderr_tail: str
    elapsed_s: float
    killed: str | None = None
    rss_mb: float | None = None

    @property
    def exit_text(self) -> str:
        """``exit status 3`` or ``signal SIGKILL``."""
        if self.returncode < 0:
            return f"signal {signal_name(-self.returncode)}"
        return f"exit status {self.returncode}"


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - STDERR_TAIL_BYTES))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _read_result(path: Path) -> tuple[Any, str | None]:
    if not path.exists():
        return None, None
    try:
        return json.loads(path.read_text()), None
    except (OSError, ValueError) as err:
        return None, f"{type(err).__name__}: {err}"


def run_child(
    module: str,
    args: Sequence[str] = (),
    *,
    timeout_s: float,
    mem_limit_mb: float | None = None,
    rss_mb: Callable[[int], float | None] | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    pass_fd: int | None = None,
    watch_fd: int | None = None,
    on_output: Callable[[bytes], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    python: str = sys.executable,
) -> ChildOutcome:
    """Run ``python -m module ARGS --result FILE`` to its end, under limits; how it ended.

    ``env`` is added to ``child_env()``. ``stdin`` is written to the child's
    standard input and closed (a child that died first is not an error).
    ``pass_fd`` is a file descriptor the child inherits (the write end of a
    pipe, its number given in ``env``); ``watch_fd`` is one this process
    reads (that pipe's read end): each chunk goes to ``on_output`` as it
    arrives.
    ``on_start`` gets the child's pid before anything is written to it.
    ``mem_limit_mb`` needs ``rss_mb(pid)``. ``should_stop`` is asked about
    every ``STOP_POLL_S`` seconds while the child runs; when it answers true
    the child's process group is killed at once and the outcome says
    ``killed="stopped"`` (a job's Cancel reaches a hanging run this way).
    Exceptions raised by the callbacks propagate after the child is killed.
    Raises ``OSError`` when the child cannot be started.
    """
    with tempfile.TemporaryDirectory(prefix="paretoscope-child-") as tmp:
        result_path = Path(tmp) / "result.json"
        stderr_path = Path(tmp) / "stderr.txt"
        argv = module_argv(module, [*args, "--result", str(result_path)], python=python)
        with (Path(tmp) / "stdout.txt").open("wb") as out, stderr_path.open("wb") as err:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=child_env({**(env or {}), PARENT_PID_ENV: str(os.getpid())}),
                pass_fds=(pass_fd,) if pass_fd is not None else (),
                start_new_session=True,
            )
        t0 = time.monotonic()
        killed: str | None = None
        rss: float | None = None
        try:
            if on_start is not None:
                on_start(proc.pid)
            if proc.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.write(stdin or b"")
                    proc.stdin.close()
            killed, rss = _watch(
                proc, t0, timeout_s, mem_limit_mb, rss_mb, watch_fd, on_output, should_stop
            )
        finally:
            kill_group(proc)
        result, problem = _read_result(result_path)
        return ChildOutcome(
            returncode=proc.returncode,
            result=result,
            result_error=problem,
            stderr_tail=_tail(stderr_path),
            elapsed_s=time.monotonic() - t0,
            killed=killed,
            rss_mb=rss,
        )


def _watch(
    proc: subprocess.Popen[bytes],
    t0: float,
    timeout_s: float,
    mem_limit_mb: float | None,
    rss_mb: Callable[[int], float | None] | None,
    watch_fd: int | None,
    on_output: Callable[[bytes], None] | None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[str | None, float | None]:
    """Wait for the child; ("timeout"|"memory"|"stopped", RSS) to kill it, else (None, None)."""
    fd_open = watch_fd is not None
    last_stop_check = t0
    while True:
        if fd_open and watch_fd is not None:
            # Waiting on the pipe doubles as the poll interval and relays
            # what the child writes as soon as it writes it.
            ready, _, _ = select.select([watch_fd], [], [], POLL_INTERVAL_S)
            if ready:
                chunk = os.read(watch_fd, 4096)
                fd_open = bool(chunk)  # EOF: select would now return at once, forever
                if chunk and on_output is not None:
                    on_output(chunk)
        else:
            time.sleep(POLL_INTERVAL_S)
        if proc.poll() is not None:
            return None, None
        now = time.monotonic()
        if now - t0 > timeout_s:
            return "timeout", None
        if should_stop is not None and now - last_stop_check >= STOP_POLL_S:
            last_stop_check = now
            if should_stop():
                return "stopped", None
        if mem_limit_mb is not None and rss_mb is not None:
            rss = rss_mb(proc.pid)
            if rss is not None and rss > mem_limit_mb:
                return "memory", rss


def spawn_detached(
    argv: Sequence[str],
    log_path: Path,
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    append: bool = False,
) -> subprocess.Popen[bytes]:
    """Start a long-lived child in its own session, stdout and stderr into ``log_path``.

    Its own session means a Ctrl-C of the server does not kill it mid-write.
    The caller reaps it (``proc.wait()`` in a thread). Raises ``OSError``
    when it cannot be started.
    """
    with log_path.open("ab" if append else "wb") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=child_env(env),
            start_new_session=True,
        )


def spawn_piped(
    argv: Sequence[str],
    stderr_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    pass_fds: Sequence[int] = (),
) -> subprocess.Popen[bytes]:
    """Start a long-lived child that reads requests on its stdin (a warm measuring worker).

    It leads its own session (``kill_group`` reaches its helpers); stderr goes
    to ``stderr_path``, stdout nowhere (libraries print); ``pass_fds`` stay
    open in it. The caller owns its lifetime. Raises ``OSError``.
    """
    with stderr_path.open("wb") as err:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=err,
            env=child_env(env),
            pass_fds=tuple(pass_fds),
            start_new_session=True,
        )


#: Signals ``run_foreground`` passes on to the server it runs.
FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
#: Seconds the server has to stop after a forwarded signal before its group is killed.
STOP_GRACE_S = 10.0


def run_foreground(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    grace_s: float = STOP_GRACE_S,
) -> int:
    """Run ``argv`` (the dashboard server) until it ends; return its exit status.

    The child leads its own process group. SIGINT, SIGTERM and SIGHUP sent
    to this process are passed on to that whole group (Ctrl-C in the
    terminal reaches this process only, and so does ``kill -TERM``); a
    group that has not stopped ``grace_s`` seconds later is killed, and
    whatever is left of it when the child ends is killed too, so nothing
    keeps serving on the port after this returns. Returns 0 when the child
    stopped because of a forwarded signal. Processes the server started in
    sessions of their own (the job runner) are not in its group and live
    on: see ``spawn_detached``.

    A SIGKILL of this process, which cannot be forwarded, kills the child
    too (``PR_SET_PDEATHSIG``): the port is never left served by an orphan.

    Streamlit puts the app's folder on ``sys.path`` itself, so this child keeps
    the interpreter's usual path. Raises ``OSError`` when it cannot be started.
    """
    received: list[int] = []
    started: list[subprocess.Popen[bytes]] = []

    def forward(signum: int, _frame: object) -> None:
        received.append(signum)
        for child in started:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, signum)

    # Handlers first: a signal that arrives while the child starts is not lost.
    previous = {sig: signal.signal(sig, forward) for sig in FORWARDED_SIGNALS}
    try:
        proc = subprocess.Popen(
            list(argv),
            cwd=cwd,
            env=child_env(env, safe_path=False),
            start_new_session=True,
            # A SIGKILL of this process cannot be forwarded: the kernel kills the server too.
            preexec_fn=_parent_death_signal_setter(),
        )
    except BaseException:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        raise
    started.append(proc)
    if received:
        forward(received[-1], None)
    try:
        while True:
            try:
                code = proc.wait(timeout=grace_s if received else 0.5)
                break
            except subprocess.TimeoutExpired:
                if received:  # it had its grace period: no more waiting
                    kill_group(proc)
                    code = proc.returncode
                    break
    finally:
        kill_group(proc)  # its helpers, and the child itself if this process was interrupted
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0 if received else code


# --- child side ---------------------------------------------------------------------------


def write_result(path: Path, payload: Any) -> None:
    """Write ``payload`` as JSON to ``path`` so the parent never reads half of it.

    Written to ``<path>.partial`` and renamed, which is atomic on POSIX.
    """
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)


def _parent_death_signal_setter() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the child SIGKILLed when its parent dies (Linux; else None).

    libc is looked up here, in the parent: between fork and exec the child
    only makes the prctl call.
    """
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def set_signal() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    return set_signal


def die_with_parent() -> None:
    """Have the kernel SIGKILL this process when the one that started it dies (Linux).

    A child runs in its own process group (so that a time limit or Cancel
    kills all of it), which also means a SIGKILL of the parent's group, e.g.
    of ``paretoscope profile``, does not reach it: without this a measuring
    worker would run on to its time limit holding cores and memory. Uses
    ``PR_SET_PDEATHSIG``, which follows the parent *thread*; ``run_child``
    waits in the thread that started the child, so that is the same thing.
    Does nothing where prctl is not available or no parent is named.
    """
    expected = os.environ.get(PARENT_PID_ENV)
    if not expected or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if str(os.getppid()) != expected:  # the parent died before prctl took effect
        os._exit(1)


def exit_child(main: Callable[[], int]) -> None:
    """Run ``main`` and exit with its status, skipping interpreter teardown.

    The child dies with its parent (``die_with_parent``). The result is on
    disk by then, and native runtimes' thread pools and exit hooks have been
    known to hang or crash in teardown.
    """
    die_with_parent()
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
