"""Run one measurement in a fresh child process, so that its crash, hang or leak is a failed run.

Parent side, ``run_in_worker(spec)``: starts ``python -m measure.worker`` in a
new session (its own process group) with the thread variables set, writes
the spec as JSON to its stdin, and watches it every ~50 ms: stage reports
arrive on a pipe, resident memory is read from /proc, and the whole group is
killed on timeout or when over the memory limit. The record comes back in a
result file, never on stdout, because libraries print. Whatever happens, the
parent returns a ``RunRecord``; a failure is ``status="failed"`` with a
reason a person can act on.

A spec with ``repeats`` N > 1 is measured by N such workers, one after the
other, each a full run of the same spec in a fresh process; the first also
measures accuracy (``--no-accuracy`` spares the others), and
``measure.repeats.combine_repeats`` makes one record of them. The first
repeat that fails fails the run, with its reason.

Child side, ``main()``: reads the spec, calls ``profile_run``, and writes the
record (or a failed one carrying ``Type: message`` of the exception; the
traceback goes to stderr) to the result file atomically.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import logging
import math
import os
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from measure.devices import cpu_device, host_info
from measure.memory import current_rss_mb, process_rss_mb, reset_peak_rss, trim_heap
from measure.profile import THREAD_ENV_VARS, profile_run
from measure.scenarios import attach_after_timing
from paretoscope.core.errors import InputError
from paretoscope.core.launcher import (
    ChildOutcome,
    StopRequested,
    exit_child,
    last_line,
    run_child,
    signal_name,
    write_result,
)
from paretoscope.core.records import DeviceInfo, HostInfo, RunRecord, RunSpec, from_dict, to_dict
from paretoscope.core.timefmt import utc_now_iso

__all__ = [
    "END_LINE",
    "READY_LINE",
    "STATUS_FD_ENV",
    "WorkerProgress",
    "describe_exception",
    "failed_record",
    "main",
    "measure_repeats",
    "run_in_worker",
]

STATUS_FD_ENV = "PARETOSCOPE_WORKER_STATUS_FD"
#: The line a serving worker (``--serve``) writes to its status pipe once a run's record is written.
END_LINE = "=end"
#: What a serving worker started with ``--preload RUNTIME`` writes once it imported that runtime.
READY_LINE = "=ready"
_POLL_INTERVAL_S = 0.05
_MAX_REASON_CHARS = 2000
_STDERR_TAIL_BYTES = 4000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerProgress:
    """A stage the worker for ``run_id`` reached: ``started`` (by the parent), then ``STAGES``.

    ``repeat`` (from 1) of ``repeats`` says which of the run's processes it is.
    """

    run_id: str
    pid: int
    stage: str
    elapsed_s: float
    repeat: int = 1
    repeats: int = 1


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


def _read_result(outcome: ChildOutcome, spec: RunSpec) -> tuple[RunRecord | None, str | None]:
    """The record the worker wrote, or None and what was wrong with it (None if absent)."""
    if outcome.result_error is not None:
        return None, f"worker wrote an unreadable result: {outcome.result_error}"
    if outcome.result is None:
        return None, None
    try:
        record = from_dict(RunRecord, outcome.result)
    except (ValueError, TypeError, AttributeError, KeyError) as err:
        return None, f"worker wrote an unreadable result: {describe_exception(err)}"
    if not isinstance(record, RunRecord) or record.run_id != spec.run_id:
        return None, "worker wrote a result for another run"
    if record.status not in ("ok", "failed"):
        return None, f"worker wrote a result with unknown status {record.status!r}"
    return record, None


class _StageRelay:
    """Relays the stages a worker writes to its status pipe as ``WorkerProgress`` events."""

    def __init__(
        self,
        run_id: str,
        write_fd: int,
        progress: Callable[[WorkerProgress], None] | None,
        repeat: tuple[int, int] = (1, 1),
    ) -> None:
        self.run_id, self.write_fd, self.progress = run_id, write_fd, progress
        self.repeat = repeat
        self.pid = 0
        self.t0 = time.monotonic()
        self.pending = b""
        self.ended = False  # a serving worker wrote END_LINE: its record is on disk

    def started(self, pid: int) -> None:
        self.pid, self.t0 = pid, time.monotonic()
        # Only the child writes: closing our end lets the pipe reach EOF when it exits.
        self.close_write_end()
        self._emit("started")

    def relay(self, chunk: bytes) -> None:
        self.pending += chunk
        *lines, self.pending = self.pending.split(b"\n")
        for line in lines:
            text = line.decode("utf-8", errors="replace").strip()
            if text == END_LINE:
                self.ended = True
            elif text:
                self._emit(text)

    def close_write_end(self) -> None:
        if self.write_fd >= 0:
            os.close(self.write_fd)
            self.write_fd = -1

    def _emit(self, stage: str) -> None:
        if self.progress is not None:
            elapsed = time.monotonic() - self.t0
            self.progress(WorkerProgress(self.run_id, self.pid, stage, elapsed, *self.repeat))


def run_in_worker(
    spec: RunSpec,
    *,
    python: str = sys.executable,
    progress: Callable[[WorkerProgress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
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
    ``should_stop`` (a job's cancel flag) is asked about every 0.25 s while a
    worker runs; when it answers true the worker's process group is killed
    and ``StopRequested`` is raised: a cancelled run has no record at all.

    With ``spec.repeats`` N > 1 the spec is measured by N workers in turn
    (each under the time and memory limits, each with ``spec.budget``) and
    their records combined (``measure.repeats.combine_repeats``): the CI of
    the median is then taken between the repeats. The first repeat that
    fails stops the run: its record is failed, with ``repeat k of N:`` and
    that repeat's reason.
    """

    def one(repeat: tuple[int, int], accuracy: bool) -> RunRecord:
        return _run_one(spec, python, progress, repeat, accuracy=accuracy, should_stop=should_stop)

    return measure_repeats(spec, one)


def measure_repeats(spec: RunSpec, one: Callable[[tuple[int, int], bool], RunRecord]) -> RunRecord:
    """``spec`` measured ``spec.repeats`` times by ``one((k, N), accuracy)``, records combined.

    ``one`` measures repeat k of N in a process of its own (accuracy only
    for the first). The first repeat that fails fails the run (``repeat k of
    N:`` and its reason); ``StopRequested`` from ``one`` propagates.
    """
    n = max(int(spec.repeats), 1)
    if n == 1:
        return one((1, 1), True)
    from measure.repeats import combine_repeats

    records: list[RunRecord] = []
    for k in range(1, n + 1):
        record = one((k, n), k == 1)
        if record.status != "ok":
            first = records[0].started_at if records else record.started_at
            return dataclasses.replace(
                record,
                error=f"repeat {k} of {n}: {record.error}",
                started_at=first,
                latency=None,
                accuracy=(),
            )
        records.append(record)
    try:
        combined = combine_repeats(records)
    except InputError as err:  # repeats that cannot be pooled (different clocks): say so
        reason = f"the {n} repeats could not be combined: {err}"
        return failed_record(spec, reason, started_at=records[0].started_at, host=records[0].host)
    return dataclasses.replace(combined, started_at=records[0].started_at)


def _run_one(
    spec: RunSpec,
    python: str,
    progress: Callable[[WorkerProgress], None] | None,
    repeat: tuple[int, int],
    *,
    accuracy: bool,
    should_stop: Callable[[], bool] | None = None,
) -> RunRecord:
    """One worker process measuring ``spec`` (``accuracy``: evaluate it too); its record."""
    started_at = utc_now_iso()
    host = host_info()
    device = cpu_device(host) if spec.device == "cpu" else None

    def failed(reason: str) -> RunRecord:
        return failed_record(spec, reason, started_at=started_at, host=host, device=device)

    status_r, status_w = os.pipe()
    stages = _StageRelay(spec.run_id, status_w, progress, repeat)
    env = {var: str(spec.threads) for var in THREAD_ENV_VARS}
    env[STATUS_FD_ENV] = str(status_w)
    try:
        outcome = run_child(
            "measure.worker",
            () if accuracy else ("--no-accuracy",),
            timeout_s=spec.timeout_s,
            mem_limit_mb=spec.mem_limit_mb,
            rss_mb=process_rss_mb,
            env=env,
            stdin=json.dumps(to_dict(spec)).encode(),
            pass_fd=status_w,
            watch_fd=status_r,
            on_output=stages.relay,
            on_start=stages.started,
            should_stop=should_stop,
            python=python,
        )
    except OSError as err:
        return failed(f"could not start the worker with {python}: {err}")
    finally:
        os.close(status_r)
        stages.close_write_end()
    if outcome.killed == "stopped":
        raise StopRequested(f"run {spec.run_id} was stopped on request; nothing is kept of it")
    record, reason = _outcome_record(outcome, spec)
    if record is not None:
        if outcome.returncode != 0:
            log.warning(
                "worker for run %s exited with %s after its result", spec.run_id, outcome.returncode
            )
        return record
    log.warning(
        "run %s failed: %s\nworker stderr tail:\n%s", spec.run_id, reason, outcome.stderr_tail
    )
    return failed(reason)


def _outcome_record(outcome: ChildOutcome, spec: RunSpec) -> tuple[RunRecord | None, str]:
    """The worker's record, or None and why there is none, in words a person can act on."""
    if outcome.killed == "timeout":
        return None, f"timed out after {spec.timeout_s:g} s"
    if outcome.killed == "memory":
        return None, (
            # Rounded up: the kill means RSS was above the limit, so "RSS 450 MB" for a
            # 450 MB limit would read as if it were not.
            f"exceeded the memory limit of {spec.mem_limit_mb:g} MB "
            f"(RSS {math.ceil(outcome.rss_mb or 0)} MB)"
        )
    record, problem = _read_result(outcome, spec)
    if record is not None:
        return record, ""
    rc, elapsed = outcome.returncode, outcome.elapsed_s
    if rc < 0:
        reason = f"worker killed by signal {signal_name(-rc)} ({-rc}) after {elapsed:.1f} s"
        if -rc == signal.SIGKILL:
            reason += "; an unexplained SIGKILL is often the kernel's out-of-memory killer"
        return None, reason
    if rc != 0:
        reason = f"worker exited with status {rc} after {elapsed:.1f} s"
        last = last_line(outcome.stderr_tail)
        return None, reason + (f": {last}" if last else "")
    return None, problem or "worker exited without writing a result"


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


def _profile_or_failed(spec: RunSpec, accuracy: bool) -> RunRecord:
    """``profile_run(spec)``, or a failed record carrying ``Type: message`` of what it raised."""
    started_at = utc_now_iso()
    try:
        record = profile_run(spec, on_stage=_status_writer(), accuracy=accuracy)
        # Op profile and scenarios (issue 16): once a run, by its first repeat, after its timing.
        return attach_after_timing(record) if accuracy else record
    except BaseException as err:
        # Everything, SystemExit and KeyboardInterrupt included, becomes a
        # failed record: the parent must learn why, not just that we died.
        traceback.print_exc()
        host = host_info()
        return failed_record(
            spec,
            describe_exception(err),
            started_at=started_at,
            host=host,
            device=cpu_device(host) if spec.device == "cpu" else None,
        )


#: A warm worker whose resident memory after cleaning up grew by more than this (MB) since
#: its first run stops: a model that leaks into module state must not weigh on the next runs.
RETIRE_GROWTH_MB = 64.0


def _between_runs() -> bool:
    """Make this process fit for its next run; False when its peak memory cannot be reset.

    Frees what the last run left (``gc``, and the C heap's free pages back to
    the kernel) and resets the peak-memory counter, so the next run's
    ``peak_mem_mb`` is its own peak, not an earlier run's.
    """
    gc.collect()
    trim_heap()
    return reset_peak_rss()


def serve(stdin: BinaryIO, preload: str | None = None) -> int:
    """Measure run after run: one JSON message a line on ``stdin`` until it closes.

    A message is ``{"spec": RunSpec, "accuracy": bool, "result": path}``;
    the record is written to ``path`` and then ``END_LINE`` to the status
    pipe. After each run the process cleans up (``_between_runs``); it stops
    (status 0) after a failed run, where its peak memory cannot be reset,
    and where its memory after cleaning up grew by more than
    ``RETIRE_GROWTH_MB`` since its first run, so the parent starts a fresh
    one; 2 when a message cannot be read. Each record says in
    ``provenance.env["worker_runs_before"]`` how many runs this process
    measured before it. ``preload`` names a runtime to import first; then
    ``READY_LINE`` is written before the first message is read.
    """
    status = _status_writer()
    if preload is not None:
        from measure.runtimes import runtime_for

        with contextlib.suppress(Exception):  # the run itself reports a missing runtime
            runtime_for(preload)
        # scipy.stats (accuracy's Wilson interval) costs ~1 s to import: here, before
        # the first run, rather than inside the first run's evaluation.
        with contextlib.suppress(ImportError):
            import scipy.stats  # noqa: F401
        status(READY_LINE)
    runs = 0
    settled_mb: float | None = None
    for line in stdin:
        if not line.strip():
            continue
        try:
            message = json.loads(line)
            spec = from_dict(RunSpec, message["spec"])
            result = Path(message["result"])
            accuracy = bool(message.get("accuracy", True))
        except (ValueError, TypeError, AttributeError, KeyError) as err:
            print(f"worker could not read its message: {err}", file=sys.stderr)
            return 2
        record = _profile_or_failed(spec, accuracy)
        if record.provenance is not None:
            env = {**record.provenance.env, "worker_runs_before": str(runs)}
            record = dataclasses.replace(
                record, provenance=dataclasses.replace(record.provenance, env=env)
            )
        runs += 1
        if record.status != "ok":
            write_result(result, to_dict(record))
            status(END_LINE)
            return 0
        fit = _between_runs()
        now_mb = current_rss_mb()
        if settled_mb is None:
            settled_mb = now_mb
        elif now_mb is not None and now_mb - settled_mb > RETIRE_GROWTH_MB:
            fit = False
        write_result(result, to_dict(record))
        status(END_LINE)
        if not fit:
            return 0
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Child entry: read a ``RunSpec`` as JSON on stdin, write the ``RunRecord`` to ``--result``.

    Returns 0 when a record (ok or failed) was written, 2 when the spec could
    not be read. With ``--serve``, measures many runs in a row (see ``serve``).
    """
    parser = argparse.ArgumentParser(
        prog="python -m measure.worker", description="Measure one run (used by run_in_worker)."
    )
    parser.add_argument("--result", type=Path, help="where to write the record")
    parser.add_argument(
        "--no-accuracy", action="store_true", help="time only (a later repeat of the run)"
    )
    parser.add_argument(
        "--serve", action="store_true", help="measure many runs, one message a line on stdin"
    )
    parser.add_argument("--preload", help="with --serve: import this runtime, then say ready")
    args = parser.parse_args(argv)
    if args.serve:
        return serve(sys.stdin.buffer, args.preload)
    if args.result is None:
        parser.error("--result is required without --serve")
    try:
        spec = from_dict(RunSpec, json.loads(sys.stdin.read()))
    except (ValueError, TypeError, AttributeError, KeyError) as err:
        print(f"worker could not read its run spec from stdin: {err}", file=sys.stderr)
        return 2
    record = _profile_or_failed(spec, not args.no_accuracy)
    write_result(args.result, to_dict(record))
    return 0


if __name__ == "__main__":
    exit_child(main)
