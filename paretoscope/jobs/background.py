"""The demo zoo as a background process the dashboard can start, follow and not start twice.

The dashboard must never import torch, so it never imports the measuring code:
it starts ``python -m paretoscope demo --store STORE --progress-file FILE`` in
a child process and reads FILE, where the child appends one JSON object per
line, ``{"done", "total", "label", "elapsed_s", "eta_s"}``, and finally
``{"finished": true, "ok": bool, "message": str}``.

One demo per store at a time: a lock file serialises launches and a pid file
(``<store>.files/demo.pid``, JSON) names the job, so a second click, a second
browser tab or a restarted server finds the running demo instead of starting
another. A child that dies without its final line is reported as failed, with
its exit status and the end of its log.

Stdlib only (POSIX: ``fcntl``, ``/proc``).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from paretoscope.core.launcher import module_argv, signal_group, spawn_detached

__all__ = [
    "PID_FILE",
    "DemoJob",
    "JobState",
    "Progress",
    "current_job",
    "demo_command",
    "exclusive_lock",
    "follow_job",
    "job_state",
    "launch_demo",
    "read_progress",
    "stop_job",
]

PID_FILE = "demo.pid"
_LOCK_FILE = "demo.lock"
_LOG_TAIL_CHARS = 1500
# How much of the progress file to read: the last line is all we need, and
# a line is a few hundred bytes.
_PROGRESS_TAIL_BYTES = 16_384


@dataclass(frozen=True)
class DemoJob:
    """A launched demo: its process, and the files it writes."""

    pid: int
    progress_file: str
    log_file: str
    started_at: float  # time.time()
    command: tuple[str, ...] = ()

    @property
    def exit_file(self) -> Path:
        """Written by the launching process when the child exits: its exit status."""
        return Path(self.progress_file + ".exit")


@dataclass(frozen=True)
class Progress:
    """The latest line of a progress file (times in seconds)."""

    done: int = 0
    total: int = 0
    label: str = ""
    elapsed_s: float = 0.0
    eta_s: float | None = None
    finished: bool = False
    ok: bool = False
    message: str = ""

    @property
    def fraction(self) -> float:
        """Share done, in [0, 1] (0 when the total is not known yet)."""
        return min(max(self.done / self.total, 0.0), 1.0) if self.total > 0 else 0.0


@dataclass(frozen=True)
class JobState:
    """Where a demo job stands: ``running``, ``succeeded`` or ``failed`` (with a message)."""

    status: Literal["running", "succeeded", "failed"]
    progress: Progress
    message: str = ""


def demo_command(store_path: Path, progress_file: Path, *, quick: bool = False) -> list[str]:
    """The child's command line (the contract with ``paretoscope demo``); ``quick``: ``--quick``."""
    args = ["demo", "--store", str(store_path), "--progress-file", str(progress_file)]
    return module_argv("paretoscope", args + (["--quick"] if quick else []))


@contextlib.contextmanager
def exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created, with its folder, if absent).

    It serialises launches across the server's sessions and across processes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def launch_demo(
    store_path: Path,
    files_dir: Path,
    *,
    command: Sequence[str] | None = None,
    quick: bool = False,
) -> DemoJob:
    """Start the demo in the background, or return the one already running for this store.

    ``command`` replaces the child's command line (tests); it must honour the
    progress-file contract, whose path is appended as ``--progress-file FILE``
    when the command does not already name it. ``quick`` launches
    ``paretoscope demo --quick`` (tests). Raises ``OSError`` when the child
    cannot be started.
    """
    with exclusive_lock(files_dir / _LOCK_FILE):
        running = current_job(files_dir)
        if running is not None and job_state(running).status == "running":
            return running
        if running is not None:
            _remove_files(running)  # the previous demo's, finished
        stem = f"demo-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}"
        progress = files_dir / f"{stem}.progress.jsonl"
        log = files_dir / f"{stem}.log"
        if command is None:
            # (the plain form when not quick: tests replace demo_command with a two-argument one)
            argv = (
                demo_command(store_path, progress, quick=True)
                if quick
                else demo_command(store_path, progress)
            )
        else:
            argv = [*command, "--progress-file", str(progress)]
        proc = spawn_detached(argv, log, cwd=files_dir)
        job = DemoJob(proc.pid, str(progress), str(log), time.time(), tuple(argv))
        _write_json(files_dir / PID_FILE, asdict(job))
        threading.Thread(target=_reap, args=(proc, job.exit_file), daemon=True).start()
        return job


def _reap(proc: subprocess.Popen[bytes], exit_file: Path) -> None:
    # Waiting collects the child (no zombie) and keeps its exit status for
    # ``job_state``, which cannot get it from the pid once the child is gone.
    code = proc.wait()
    with contextlib.suppress(OSError):
        exit_file.write_text(str(code), encoding="utf-8")


def _remove_files(job: DemoJob) -> None:
    for path in (Path(job.progress_file), Path(job.log_file), job.exit_file):
        path.unlink(missing_ok=True)


def _write_json(path: Path, obj: object) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj), encoding="utf-8")
    os.replace(tmp, path)


def current_job(files_dir: Path) -> DemoJob | None:
    """The last demo launched for the store whose folder is ``files_dir``, if any."""
    try:
        data = json.loads((files_dir / PID_FILE).read_text(encoding="utf-8"))
        return DemoJob(
            pid=int(data["pid"]),
            progress_file=str(data["progress_file"]),
            log_file=str(data["log_file"]),
            started_at=float(data["started_at"]),
            command=tuple(data.get("command", ())),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def read_progress(path: str | os.PathLike[str]) -> Progress | None:
    """The last complete, well-formed line of a progress file; None when there is none yet.

    A line still being written, or one that is not a JSON object, is skipped
    in favour of the one before it.
    """
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - _PROGRESS_TAIL_BYTES))
            tail = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    lines = tail.split("\n")
    # The text after the last newline is a line in progress (or nothing).
    for line in reversed(lines[:-1]):
        parsed = _parse_line(line)
        if parsed is not None:
            return parsed
    return None


def _parse_line(line: str) -> Progress | None:
    try:
        obj = json.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    try:
        if obj.get("finished") is True:
            return Progress(
                finished=True, ok=obj.get("ok") is True, message=str(obj.get("message", ""))
            )
        eta = obj.get("eta_s")
        return Progress(
            done=int(obj["done"]),
            total=int(obj["total"]),
            label=str(obj.get("label", "")),
            elapsed_s=float(obj.get("elapsed_s") or 0.0),
            eta_s=float(eta) if isinstance(eta, (int, float)) else None,
        )
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


_PF_KTHREAD = 0x00200000  # include/linux/sched.h


def _alive(job: DemoJob) -> bool:
    """Whether the job's process is alive: not gone, not a zombie, not a reused pid."""
    try:
        os.kill(job.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    proc = Path(f"/proc/{job.pid}")
    try:
        stat = (proc / "stat").read_text()
        cmdline = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return True  # no /proc to ask: trust kill(0)
    # After the parenthesised command name: the state (Z = zombie), ..., flags.
    fields = stat.rsplit(")", 1)[-1].split()
    if fields[0] == "Z":
        return False
    if cmdline == [""]:
        # Empty: a kernel thread, or our child caught in exec, after it was
        # started but before its arguments are mapped.
        return not int(fields[6]) & _PF_KTHREAD
    # After a server restart the pid may belong to someone else by now; our
    # child names its own progress file on its command line.
    return job.progress_file in cmdline


def _log_tail(job: DemoJob) -> str:
    try:
        text = Path(job.log_file).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    text = text.strip()
    return text[-_LOG_TAIL_CHARS:]


_REAP_GRACE_S = 1.0


def _exit_code(job: DemoJob) -> str | None:
    with contextlib.suppress(OSError):
        return job.exit_file.read_text(encoding="utf-8").strip() or None
    return None


def _reported_state(progress: Progress) -> JobState:
    if progress.ok:
        return JobState("succeeded", progress, progress.message)
    return JobState("failed", progress, progress.message or "the demo reported a failure")


def job_state(job: DemoJob) -> JobState:
    """Where ``job`` stands, from its progress file, its exit status and its pid."""
    progress = read_progress(job.progress_file) or Progress()
    if progress.finished:
        return _reported_state(progress)
    exit_code = _exit_code(job)
    if exit_code is None and _alive(job):
        return JobState("running", progress)
    if exit_code is None:
        # The child may have just died: the reaper thread (in the process that
        # launched it) writes its status a moment later. Give it that moment.
        deadline = time.monotonic() + _REAP_GRACE_S
        while exit_code is None and time.monotonic() < deadline:
            time.sleep(0.02)
            exit_code = _exit_code(job)
    # It may have written its final line and exited since the first read.
    progress = read_progress(job.progress_file) or progress
    if progress.finished:
        return _reported_state(progress)
    # Gone without its final line: it crashed, was killed, or never started.
    how = f"exited with status {exit_code}" if exit_code else "is no longer running"
    message = f"The demo process (pid {job.pid}) {how} without reporting that it finished."
    tail = _log_tail(job)
    if tail:
        message += f"\n\nEnd of its log ({job.log_file}):\n\n{tail}"
    return JobState("failed", progress, message)


def follow_job(
    job: DemoJob,
    on_progress: Callable[[Progress], None],
    stop: threading.Event,
    *,
    poll_s: float = 0.5,
) -> JobState | None:
    """Report ``job``'s progress (each new line of its file) until it ends or ``stop`` is set.

    Returns the job's final state, or None when ``stop`` ended the following first.
    """
    last: Progress | None = None
    while not stop.is_set():
        state = job_state(job)
        if state.status != "running":
            return state
        if state.progress != last:
            last = state.progress
            on_progress(state.progress)
        stop.wait(poll_s)
    return None


def stop_job(job: DemoJob, *, grace_s: float = 5.0, message: str = "") -> bool:
    """Stop a running ``job`` (SIGTERM to its process group, SIGKILL after ``grace_s``).

    Appends a final line to its progress file saying it was stopped
    (``message``), so the dashboard reports a stop rather than a crash; the
    demo resumes where it stopped when run again. True when it was running.
    """
    if not _alive(job):
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        signal_group(job.pid, sig)
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline and _alive(job):
            time.sleep(0.05)
        if not _alive(job):
            break
    if not (read_progress(job.progress_file) or Progress()).finished:
        line = {"finished": True, "ok": False, "message": message or "stopped", "at": time.time()}
        with contextlib.suppress(OSError), open(job.progress_file, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")
    return True
