"""Warm measuring workers: one long-lived ``python -m measure.worker --serve`` per slot.

A fresh process per run spends most of a ~1 ms model's run starting up
(interpreter, runtime import); a ``WorkerPool`` keeps a process per slot,
(runtime, device, threads, repeat k), and sends it one run after another on
a pipe. Thread settings are read by the runtimes when they start their
thread pools, so they are part of the slot and set when its process starts.

Per run the pool keeps what ``run_in_worker`` guarantees: the time limit
(from the moment the run is sent, or from the start of the process for its
first run, which then includes the import), the memory limit (the worker's
resident set, about every 50 ms), ``should_stop`` (asked about every
0.25 s; the process group is killed and ``StopRequested`` raised), and a
failed record with the reason for a crash, signal, timeout or memory
overrun. After any run that did not end ``ok`` the slot's process is killed
and the next run gets a fresh one, so a crashed, hung or bloated process
never measures again. Repeat k of a run goes to slot k, so the repeats of
one configuration still run in different processes and their spread keeps
meaning what it says.

The worker makes each run its own: it resets its peak-memory counter
before each run (``measure.memory.reset_peak_rss``; a worker that cannot
stops after one run), collects garbage and trims its heap, and loads the
model afresh from its file. ``close`` kills every process; use the pool as
a context manager. Workers are started from, and die with
(``PR_SET_PDEATHSIG``), the thread that starts them: use a pool from one
thread.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from measure.devices import cpu_device, host_info
from measure.memory import process_rss_mb
from measure.profile import THREAD_ENV_VARS
from measure.worker import (
    READY_LINE,
    STATUS_FD_ENV,
    WorkerProgress,
    _outcome_record,
    _StageRelay,
    failed_record,
    measure_repeats,
)
from paretoscope.core.launcher import (
    PARENT_PID_ENV,
    POLL_INTERVAL_S,
    STDERR_TAIL_BYTES,
    STOP_POLL_S,
    ChildOutcome,
    StopRequested,
    kill_group,
    module_argv,
    spawn_piped,
)
from paretoscope.core.records import RunRecord, RunSpec, to_dict
from paretoscope.core.timefmt import utc_now_iso

__all__ = ["SlotKey", "WorkerPool"]

#: Seconds ``prestart`` waits for its processes to import their runtimes.
PRESTART_WAIT_S = 120.0
#: (runtime, device, threads, repeat k): what a warm process is set up for.
SlotKey = tuple[str, str, int, int]


@dataclass
class _Worker:
    """One serving process: its pipes, its folder (result and stderr files), its runs so far."""

    proc: subprocess.Popen[bytes]
    status_r: int
    folder: Path
    started: float
    runs: int = 0

    @property
    def stderr_path(self) -> Path:
        return self.folder / "stderr.txt"

    def stderr_tail(self, offset: int) -> str:
        """What the process wrote to stderr since ``offset`` (its last ``STDERR_TAIL_BYTES``)."""
        try:
            with self.stderr_path.open("rb") as f:
                f.seek(0, os.SEEK_END)
                end = f.tell()
                f.seek(max(offset, end - STDERR_TAIL_BYTES))
                return f.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def stderr_size(self) -> int:
        try:
            return self.stderr_path.stat().st_size
        except OSError:
            return 0

    def stop(self) -> None:
        """Kill the process group, reap it, close the pipes, remove the folder."""
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        kill_group(self.proc)
        with contextlib.suppress(OSError):
            os.close(self.status_r)
        shutil.rmtree(self.folder, ignore_errors=True)


class WorkerPool:
    """Warm worker processes, one per slot; ``measure(spec)`` is ``run_in_worker`` on them.

    ``python`` is the interpreter that runs the workers.
    """

    def __init__(self, *, python: str = sys.executable) -> None:
        self.python = python
        self._workers: dict[SlotKey, _Worker] = {}
        self.started = 0  # processes started so far (a measure of reuse)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def pids(self) -> dict[SlotKey, int]:
        """The pid of each live slot's process."""
        return {key: w.proc.pid for key, w in self._workers.items()}

    def close(self) -> None:
        """Kill every worker process; the pool can be used again (it starts fresh ones)."""
        workers, self._workers = list(self._workers.values()), {}
        for worker in workers:
            worker.stop()

    def measure(
        self,
        spec: RunSpec,
        *,
        progress: Callable[[WorkerProgress], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> RunRecord:
        """Measure ``spec`` (all its repeats, repeat k in slot k); its record.

        The same contract as ``measure.worker.run_in_worker``: never raises
        for a failure of the worker, raises ``StopRequested`` when
        ``should_stop`` answers true, and lets exceptions of ``progress``
        propagate after killing the worker.
        """

        def one(repeat: tuple[int, int], accuracy: bool) -> RunRecord:
            return self._measure_one(spec, repeat, accuracy, progress, should_stop)

        return measure_repeats(spec, one)

    # --- one run -------------------------------------------------------------------------

    def prestart(
        self,
        specs: Sequence[RunSpec],
        *,
        wait_s: float = PRESTART_WAIT_S,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        """Start the processes ``specs`` will need, all at once, and wait until they are ready.

        Each imports its runtime (``--preload``) while the others do, so on
        several cores the start-up of N processes costs less than N start-ups
        one after another, and no import runs beside a timed window. Returns
        when every one is ready or ``wait_s`` seconds have passed (those not
        ready then are killed; a run starts its own later). Raises
        ``StopRequested`` (processes killed) when ``should_stop`` answers true.
        """
        starting: dict[SlotKey, _Worker] = {}
        for spec in specs:
            for k in range(1, max(int(spec.repeats), 1) + 1):
                key: SlotKey = (spec.runtime, spec.device, spec.threads, k)
                if key in self._workers or key in starting:
                    continue
                try:
                    starting[key] = self._start(spec, preload=True)
                except OSError:
                    continue  # the run will start one and report why it cannot
        pending = {w.status_r: (key, w) for key, w in starting.items()}
        seen: dict[int, bytes] = {}
        t0 = last_stop_check = time.monotonic()
        try:
            while pending and time.monotonic() - t0 < wait_s:
                ready, _, _ = select.select(list(pending), [], [], POLL_INTERVAL_S)
                for fd in ready:
                    chunk = os.read(fd, 4096)
                    key, worker = pending[fd]
                    seen[fd] = seen.get(fd, b"") + chunk
                    if READY_LINE.encode() + b"\n" in seen[fd] or not chunk:
                        del pending[fd]
                        if chunk and worker.proc.poll() is None:
                            worker.started = time.monotonic()
                            self._workers[key] = worker
                        else:
                            worker.stop()
                now = time.monotonic()
                if should_stop is not None and now - last_stop_check >= STOP_POLL_S:
                    last_stop_check = now
                    if should_stop():
                        raise StopRequested("stopped on request while workers were starting")
        except BaseException:
            for _, worker in pending.values():
                worker.stop()
            self.close()
            raise
        for _, worker in pending.values():  # not ready in time
            worker.stop()

    def _start(self, spec: RunSpec, *, preload: bool = False) -> _Worker:
        folder = Path(tempfile.mkdtemp(prefix="paretoscope-pool-"))
        status_r, status_w = os.pipe()
        env = {var: str(spec.threads) for var in THREAD_ENV_VARS}
        env[STATUS_FD_ENV] = str(status_w)
        env[PARENT_PID_ENV] = str(os.getpid())
        try:
            proc = spawn_piped(
                module_argv(
                    "measure.worker",
                    ["--serve", *(["--preload", spec.runtime] if preload else [])],
                    python=self.python,
                ),
                folder / "stderr.txt",
                env=env,
                pass_fds=(status_w,),
            )
        except BaseException:
            os.close(status_r)
            shutil.rmtree(folder, ignore_errors=True)
            raise
        finally:
            os.close(status_w)  # only the child writes: EOF when it exits
        self.started += 1
        return _Worker(proc, status_r, folder, time.monotonic())

    def _measure_one(
        self,
        spec: RunSpec,
        repeat: tuple[int, int],
        accuracy: bool,
        progress: Callable[[WorkerProgress], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> RunRecord:
        started_at = utc_now_iso()
        key: SlotKey = (spec.runtime, spec.device, spec.threads, repeat[0])
        worker = self._workers.pop(key, None)
        if worker is not None and worker.proc.poll() is not None:
            worker.stop()  # died while idle
            worker = None
        if worker is None:
            try:
                worker = self._start(spec)
            except OSError as err:
                reason = f"could not start the worker with {self.python}: {err}"
                return _failed_here(spec, reason, started_at)
        keep = False
        try:
            record, keep = self._run_on(worker, spec, repeat, accuracy, progress, should_stop)
        finally:
            if keep:
                self._workers[key] = worker
            else:
                worker.stop()
        if record.status == "failed" and record.host is None:
            return _failed_here(spec, record.error or "", started_at)
        return record

    def _run_on(
        self,
        worker: _Worker,
        spec: RunSpec,
        repeat: tuple[int, int],
        accuracy: bool,
        progress: Callable[[WorkerProgress], None] | None,
        should_stop: Callable[[], bool] | None,
    ) -> tuple[RunRecord, bool]:
        """Send ``spec`` to ``worker`` and watch it; the record and whether to keep the worker."""
        fresh = worker.runs == 0
        t0 = worker.started if fresh else time.monotonic()
        result_path = worker.folder / f"result-{worker.runs}.json"
        offset = worker.stderr_size()
        worker.runs += 1
        relay = _StageRelay(spec.run_id, -1, progress, repeat)
        relay.started(worker.proc.pid)
        message = {"spec": to_dict(spec), "accuracy": accuracy, "result": str(result_path)}
        if worker.proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                worker.proc.stdin.write(json.dumps(message).encode() + b"\n")
                worker.proc.stdin.flush()
        killed, rss = _watch(worker, relay, t0, spec, should_stop)
        if killed is not None or not relay.ended:
            kill_group(worker.proc)  # the run's end: whatever is left of it goes
        if killed == "stopped":
            raise StopRequested(f"run {spec.run_id} was stopped on request; nothing is kept of it")
        result, problem = _read(result_path) if relay.ended or killed is None else (None, None)
        outcome = ChildOutcome(
            returncode=0 if relay.ended and worker.proc.poll() is None else worker.proc.wait(),
            result=result,
            result_error=problem,
            stderr_tail=worker.stderr_tail(offset),
            elapsed_s=time.monotonic() - t0,
            killed=killed,
            rss_mb=rss,
        )
        record, reason = _outcome_record(outcome, spec)
        if record is None:  # host None: the caller fills it in
            record = failed_record(spec, reason, started_at=utc_now_iso())
        keep = relay.ended and record.status == "ok" and worker.proc.poll() is None
        return record, keep


def _read(path: Path) -> tuple[object, str | None]:
    if not path.exists():
        return None, None
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        return None, f"{type(err).__name__}: {err}"
    with contextlib.suppress(OSError):
        path.unlink()
    return data, None


def _drain(fd: int, relay: _StageRelay) -> None:
    """Relay what an exited worker left in its status pipe (its last stages, ``END_LINE``)."""
    while select.select([fd], [], [], 0)[0]:
        chunk = os.read(fd, 4096)
        if not chunk:
            return
        relay.relay(chunk)


def _watch(
    worker: _Worker,
    relay: _StageRelay,
    t0: float,
    spec: RunSpec,
    should_stop: Callable[[], bool] | None,
) -> tuple[str | None, float | None]:
    """Wait until the run ends; ("timeout"|"memory"|"stopped", RSS) to kill it, else (None, None).

    The run ends when the worker writes ``END_LINE`` or exits.
    """
    proc = worker.proc
    fd_open = True
    last_stop_check = time.monotonic()
    while True:
        if fd_open:
            ready, _, _ = select.select([worker.status_r], [], [], POLL_INTERVAL_S)
            if ready:
                chunk = os.read(worker.status_r, 4096)
                fd_open = bool(chunk)
                if chunk:
                    relay.relay(chunk)
        else:
            time.sleep(POLL_INTERVAL_S)
        if relay.ended:
            return None, None
        if proc.poll() is not None:
            _drain(worker.status_r, relay)
            return None, None
        now = time.monotonic()
        if now - t0 > spec.timeout_s:
            return "timeout", None
        if should_stop is not None and now - last_stop_check >= STOP_POLL_S:
            last_stop_check = now
            if should_stop():
                return "stopped", None
        if spec.mem_limit_mb is not None:
            rss = process_rss_mb(proc.pid)
            if rss is not None and rss > spec.mem_limit_mb:
                return "memory", rss


def _failed_here(spec: RunSpec, reason: str, started_at: str) -> RunRecord:
    """A failed record with this host's description (read only when a run fails)."""
    host = host_info()
    device = cpu_device(host) if spec.device == "cpu" else None
    return failed_record(spec, reason, started_at=started_at, host=host, device=device)
