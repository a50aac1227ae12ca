"""Run one measurement in a fresh child process, so that its crash, hang or leak is a failed run.

Parent side, ``run_in_worker(spec)``: starts ``python -m measure.worker`` in a
new session (its own process group) with the thread variables set, writes
the spec as JSON to its stdin, and watches it every ~50 ms: stage reports
arrive on a pipe, resident memory is read from /proc, and the whole group is
killed on timeout or when over the memory limit. The record comes back in a
result file, never on stdout, because libraries print. Whatever happens, the
parent returns a ``RunRecord``; a failure is ``status="failed"`` with a
reason a person can act on.

Child side, ``main()``: reads the spec, calls ``profile_run``, and writes the
record (or a failed one carrying ``Type: message`` of the exception; the
traceback goes to stderr) to the result file atomically.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from measure.child import exit_child, write_result
from measure.devices import cpu_device, host_info
from measure.memory import process_rss_mb
from measure.profile import THREAD_ENV_VARS, profile_run
from paretoscope.core.records import DeviceInfo, HostInfo, RunRecord, RunSpec, from_dict, to_dict
from paretoscope.core.timefmt import utc_now_iso

__all__ = [
    "STATUS_FD_ENV",
    "WorkerProgress",
    "describe_exception",
    "failed_record",
    "main",
    "run_in_worker",
]

STATUS_FD_ENV = "PARETOSCOPE_WORKER_STATUS_FD"
_POLL_INTERVAL_S = 0.05
_MAX_REASON_CHARS = 2000
_STDERR_TAIL_BYTES = 4000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerProgress:
    """A stage the worker for ``run_id`` reached: ``started`` (by the parent), then ``STAGES``."""

    run_id: str
    pid: int
    stage: str
    elapsed_s: float


def describe_exception(err: BaseException) -> str:
    """``Type: message`` of an exception, one reason line for a failed record (capped in length)."""
    message = str(err).strip()
    text = f"{type(err).__name__}: {message}" if message else type(err).__name__
    if len(text) > _MAX_REASON_CHARS:
        text = text[: _MAX_REASON_CHARS - 1] + "…"
    return text


def failed_record(
    spec: RunSpec,
    reason: str,
    *,
    started_at: str,
    host: HostInfo | None = None,
    device: DeviceInfo | None = None,
) -> RunRecord:
    """A ``failed`` record of ``spec`` with ``reason``, keeping its run id and spec."""
    return RunRecord(
        run_id=spec.run_id,
        spec=spec,
        status="failed",
        started_at=started_at,
        finished_at=utc_now_iso(),
        host=host,
        device=device,
        error=reason,
    )


# --- parent side -------------------------------------------------------------------------


def _child_env(spec: RunSpec, status_fd: int) -> dict[str, str]:
    env = dict(os.environ)
    for var in THREAD_ENV_VARS:
        env[var] = str(spec.threads)
    # The child must import this checkout's packages even when they are not
    # installed; the caller's working directory stays on its path too (-m).
    # An installed copy needs no help, and putting site-packages ahead of the
    # standard library could shadow it.
    root = Path(__file__).resolve().parent.parent
    if root.name not in ("site-packages", "dist-packages"):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env[STATUS_FD_ENV] = str(status_fd)
    return env


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    # The child leads its own session, so its pid is its process group id and
    # this also reaches helpers it started (compile workers, data loaders).
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _tail(path: Path) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - _STDERR_TAIL_BYTES))
            return f.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""


def _read_result(path: Path, spec: RunSpec) -> tuple[RunRecord | None, str | None]:
    """The record in the result file, or None and what was wrong with it (None if absent)."""
    if not path.exists():
        return None, None
    try:
        record = from_dict(RunRecord, json.loads(path.read_text()))
    except (OSError, ValueError, TypeError, AttributeError, KeyError) as err:
        return None, f"worker wrote an unreadable result: {describe_exception(err)}"
    if not isinstance(record, RunRecord) or record.run_id != spec.run_id:
        return None, "worker wrote a result for another run"
    if record.status not in ("ok", "failed"):
        return None, f"worker wrote a result with unknown status {record.status!r}"
    return record, None


def _signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def run_in_worker(
    spec: RunSpec,
    *,
    python: str = sys.executable,
    progress: Callable[[WorkerProgress], None] | None = None,
) -> RunRecord:
    """Measure ``spec`` in a fresh ``python -m measure.worker`` process and return its record.

    ``spec.timeout_s`` (seconds, counted from the start of the process, so it
    includes importing the runtime) and ``spec.mem_limit_mb`` (MB = 10^6
    bytes of the worker's resident set, checked about every 50 ms) are
    enforced by killing the worker's process group. ``progress`` is called in
    this thread with each stage the worker reaches. Never raises for a
    failure of the worker: a crash, signal, timeout, memory overrun,
    exception in the child or unreadable result gives a ``failed`` record
    with the same run id and spec, this host's info and a specific reason.
    Exceptions raised by ``progress`` propagate, after the worker is killed.
    """
    started_at = utc_now_iso()
    host = host_info()
    device = cpu_device(host) if spec.device == "cpu" else None

    def failed(reason: str) -> RunRecord:
        return failed_record(spec, reason, started_at=started_at, host=host, device=device)

    with tempfile.TemporaryDirectory(prefix="paretoscope-worker-") as tmp:
        tmpdir = Path(tmp)
        result_path = tmpdir / "result.json"
        stderr_path = tmpdir / "stderr.txt"
        status_r, status_w = os.pipe()
        try:
            with (tmpdir / "stdout.txt").open("wb") as out, stderr_path.open("wb") as err:
                proc = subprocess.Popen(
                    [python, "-m", "measure.worker", "--result", str(result_path)],
                    stdin=subprocess.PIPE,
                    stdout=out,
                    stderr=err,
                    env=_child_env(spec, status_w),
                    pass_fds=(status_w,),
                    start_new_session=True,
                )
        except OSError as err:
            os.close(status_r)
            return failed(f"could not start the worker with {python}: {err}")
        finally:
            os.close(status_w)
        t0 = time.monotonic()
        try:
            reason = _supervise(proc, spec, status_r, t0, progress)
        finally:
            _kill_group(proc)
            proc.wait()
            os.close(status_r)
        elapsed = time.monotonic() - t0
        stderr_tail = _tail(stderr_path)

        if reason is None:
            record, problem = _read_result(result_path, spec)
            rc = proc.returncode
            if record is not None:
                if rc != 0:
                    log.warning(
                        "worker for run %s exited with %s after its result", spec.run_id, rc
                    )
                return record
            if rc < 0:
                reason = (
                    f"worker killed by signal {_signal_name(-rc)} ({-rc}) after {elapsed:.1f} s"
                )
                if -rc == signal.SIGKILL:
                    reason += "; an unexplained SIGKILL is often the kernel's out-of-memory killer"
            elif rc != 0:
                reason = f"worker exited with status {rc} after {elapsed:.1f} s"
                last = _last_line(stderr_tail)
                if last:
                    reason += f": {last}"
            else:
                reason = problem or "worker exited without writing a result"
        log.warning("run %s failed: %s\nworker stderr tail:\n%s", spec.run_id, reason, stderr_tail)
        return failed(reason)


def _supervise(
    proc: subprocess.Popen[bytes],
    spec: RunSpec,
    status_r: int,
    t0: float,
    progress: Callable[[WorkerProgress], None] | None,
) -> str | None:
    """Feed the spec, relay stages, enforce limits; the reason when we killed it, else None."""

    def emit(stage: str) -> None:
        if progress is not None:
            progress(WorkerProgress(spec.run_id, proc.pid, stage, time.monotonic() - t0))

    emit("started")
    if proc.stdin is not None:  # always, with stdin=PIPE; this narrows the type
        try:
            proc.stdin.write(json.dumps(to_dict(spec)).encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass  # the worker died before reading; its exit status says why
    pipe_open = True
    pending = b""
    while True:
        if pipe_open:
            # Waiting on the status pipe doubles as the poll interval and
            # relays stages as soon as they happen.
            ready, _, _ = select.select([status_r], [], [], _POLL_INTERVAL_S)
            if ready:
                chunk = os.read(status_r, 4096)
                if not chunk:
                    pipe_open = False  # EOF: select would now return at once, forever
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        emit(line.decode("utf-8", errors="replace").strip())
        else:
            time.sleep(_POLL_INTERVAL_S)
        if proc.poll() is not None:
            return None
        elapsed = time.monotonic() - t0
        if elapsed > spec.timeout_s:
            _kill_group(proc)
            return f"timed out after {spec.timeout_s:g} s"
        if spec.mem_limit_mb is not None:
            rss = process_rss_mb(proc.pid)
            if rss is not None and rss > spec.mem_limit_mb:
                _kill_group(proc)
                return f"exceeded the memory limit of {spec.mem_limit_mb:g} MB (RSS {rss:.0f} MB)"


# --- child side --------------------------------------------------------------------------


def _status_writer() -> Callable[[str], None]:
    fd_text = os.environ.get(STATUS_FD_ENV, "")
    if not fd_text.isdigit():
        return lambda stage: None
    fd = int(fd_text)

    def write(stage: str) -> None:
        # Stages are a courtesy to the parent; losing one must not fail the run.
        with contextlib.suppress(OSError):
            os.write(fd, stage.encode() + b"\n")

    return write


def main(argv: Sequence[str] | None = None) -> int:
    """Child entry: read a ``RunSpec`` as JSON on stdin, write the ``RunRecord`` to ``--result``.

    Returns 0 when a record (ok or failed) was written, 2 when the spec could
    not be read.
    """
    parser = argparse.ArgumentParser(
        prog="python -m measure.worker", description="Measure one run (used by run_in_worker)."
    )
    parser.add_argument("--result", required=True, type=Path, help="where to write the record")
    args = parser.parse_args(argv)
    try:
        spec = from_dict(RunSpec, json.loads(sys.stdin.read()))
    except (ValueError, TypeError, AttributeError, KeyError) as err:
        print(f"worker could not read its run spec from stdin: {err}", file=sys.stderr)
        return 2
    started_at = utc_now_iso()
    try:
        record = profile_run(spec, on_stage=_status_writer())
    except BaseException as err:
        # Everything, SystemExit and KeyboardInterrupt included, becomes a
        # failed record: the parent must learn why, not just that we died.
        traceback.print_exc()
        host = host_info()
        record = failed_record(
            spec,
            describe_exception(err),
            started_at=started_at,
            host=host,
            device=cpu_device(host) if spec.device == "cpu" else None,
        )
    write_result(args.result, to_dict(record))
    return 0


if __name__ == "__main__":
    exit_child(main)
