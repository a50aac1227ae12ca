"""The job runner: ``python -m paretoscope.jobrunner --store PATH`` runs the store's queued jobs.

One runner per store. It holds an exclusive ``flock`` on
``<store>.files/jobrunner.lock`` for its whole life (the kernel drops it when
the process dies, however it dies), claims queued jobs oldest first and runs
each to its end before claiming the next, so jobs never run concurrently.
When the queue is empty it exits. At start it marks ``interrupted`` every
job left ``running`` by a runner that is gone.

The dashboard calls ``ensure_runner`` after a submit: it starts a runner
unless one runs (``jobrunner.pid`` names a launched runner while it lives;
failing that, the lock is tested, which also finds a runner started by
hand). The race between a runner deciding to exit and a
new submit is closed by a second lock, ``jobrunner-launch.lock``: the runner
checks the queue one last time and drops its lock while holding it, and
``ensure_runner`` tests and launches while holding it, so either the runner
sees the new job or ``ensure_runner`` sees no runner and starts one.

Progress goes to the jobs table at most once a second (DuckDB has one
writer); the runner's log is ``<store>.files/jobrunner.log``. This module
imports the measuring engine only inside ``run_job``: the dashboard imports
it for ``ensure_runner`` and must not load torch.
"""

from __future__ import annotations

import argparse
import dataclasses
import fcntl
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any

from paretoscope.core.errors import ParetoscopeError
from paretoscope.core.launcher import module_argv, spawn_detached
from paretoscope.jobs import queue as jobs
from paretoscope.jobs.background import exclusive_lock
from paretoscope.profiling import uploads
from store import Store

if TYPE_CHECKING:
    from paretoscope import profiling

__all__ = [
    "LOG_FILE",
    "PID_FILE",
    "RUNNER_LOCK",
    "ensure_runner",
    "main",
    "profile_outcome",
    "profile_request",
    "run_job",
    "run_queue",
    "runner_command",
    "runner_pid",
]

RUNNER_LOCK = "jobrunner.lock"
LAUNCH_LOCK = "jobrunner-launch.lock"
PID_FILE = "jobrunner.pid"
LOG_FILE = "jobrunner.log"

log = logging.getLogger("paretoscope.jobs.runner")

#: A job handler runs one claimed job and returns (status, message, summary
#: fields for ``finish_job``). Tests register their own.
Handler = Callable[[Store, jobs.Job, jobs.ProgressReporter], tuple[str, str, dict[str, Any]]]


# -- locks and launching --------------------------------------------------------


def _try_runner_lock(files_dir: Path) -> IO[str] | None:
    """The runner lock, held (keep the file open to keep it), or None if another holds it."""
    files_dir.mkdir(parents=True, exist_ok=True)
    fh = (files_dir / RUNNER_LOCK).open("a+")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def runner_pid(store: Store) -> int | None:
    """The pid of this store's runner (running or starting), or None when there is none.

    Returns 0 when a runner holds the lock but its pid cannot be read.
    """
    launched = _read_pid(store.files_dir / PID_FILE)
    if launched is not None and jobs.pid_alive(launched):
        return launched
    # Nothing launched lives; a runner started by hand may still hold the lock.
    fh = _try_runner_lock(store.files_dir)
    if fh is not None:
        fh.close()  # closing drops the lock: nobody held it
        return None
    return _read_pid(store.files_dir / RUNNER_LOCK) or 0


def _write_pid(path: Path, pid: int) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(str(pid))
    os.replace(tmp, path)


def runner_command(store_path: Path) -> list[str]:
    """The runner's command line."""
    return module_argv("paretoscope.jobs.runner", ["--store", str(store_path)])


def ensure_runner(store: Store, *, command: Sequence[str] | None = None) -> int:
    """Start a runner for ``store`` unless one runs; return its pid (0: starting, pid unknown).

    ``command`` replaces the runner's command line (tests). Raises ``OSError``
    when the process cannot be started.
    """
    with exclusive_lock(store.files_dir / LAUNCH_LOCK):
        pid = runner_pid(store)
        if pid is not None:
            return pid
        proc = spawn_detached(
            list(command) if command is not None else runner_command(store.path),
            store.files_dir / LOG_FILE,
            cwd=store.files_dir,
            append=True,
        )
        _write_pid(store.files_dir / PID_FILE, proc.pid)
        # Nobody waits for the child in the dashboard; reap it so it leaves no zombie.
        threading.Thread(target=proc.wait, daemon=True).start()
        return proc.pid


# -- running jobs ----------------------------------------------------------------


def _progress_fields(event: Any) -> tuple[int, int | None, str, float | None]:
    """(done, total, label, eta_s) from an engine progress event (any object with those fields)."""
    done = int(getattr(event, "done", 0) or 0)
    total = getattr(event, "total", None)
    label = getattr(event, "label", None) or getattr(event, "current", None) or ""
    stage = getattr(event, "stage", "")
    if stage and label and stage not in ("done", "started"):
        label = f"{label} ({stage})"
    eta = getattr(event, "eta_s", None)
    return done, int(total) if total is not None else None, str(label), eta


def _profile_handler(
    store: Store, job: jobs.Job, reporter: jobs.ProgressReporter
) -> tuple[str, str, dict[str, Any]]:
    from measure.cluster import executor_from_env  # Dask when $PARETOSCOPE_DASK_SCHEDULER is set
    from paretoscope import profiling  # the engine; it loads measuring code lazily itself
    from paretoscope.jobs.device_progress import DeviceProgressFile

    request = profile_request(job)
    devices = DeviceProgressFile(store, job.job_id)  # a sweep on several devices at once

    def on_progress(event: Any) -> None:
        devices.update(getattr(event, "per_device", None) or {})
        reporter.update(*_progress_fields(event))

    summary = profiling.run_profile(
        store,
        request,
        on_progress=on_progress,
        should_cancel=reporter.should_cancel,
        executor=executor_from_env(None),
    )
    return profile_outcome(summary)


def profile_outcome(summary: profiling.ProfileSummary) -> tuple[str, str, dict[str, Any]]:
    """How a profile job ends: (status, message, ``finish_job`` fields) from its summary.

    Cancelled wins: the run it interrupted was killed and stored nothing, and
    the runs stored before it stay (Run again measures the rest).
    """
    fields = {"run_ids": summary.run_ids, "runs_ok": summary.n_ok, "runs_failed": summary.n_failed}
    if summary.cancelled:
        return (
            "cancelled",
            "Cancelled: the run in progress was stopped and not stored; the runs finished "
            f"before it are kept, and Run again measures the rest. {summary}",
            fields,
        )
    if summary.n_planned and not summary.n_ok:
        return "failed", f"Every run failed; the Runs page has each reason. {summary}", fields
    return "done", str(summary), fields


def profile_request(job: jobs.Job) -> profiling.ProfileRequest:
    """The engine's request stored in a profile job, tagged with the job's id."""
    from paretoscope import profiling
    from paretoscope.core.records import from_dict

    request = from_dict(profiling.ProfileRequest, job.request)
    return dataclasses.replace(request, job_id=job.job_id)


HANDLERS: dict[str, Handler] = {"profile": _profile_handler}


def run_job(
    store: Store, job: jobs.Job, *, handlers: dict[str, Handler] | None = None
) -> jobs.Job | None:
    """Run one claimed job to its end and record how it ended; return the job as stored.

    Never raises for a failing job: its error becomes the job's message. The
    uploaded files a ``done`` job names leave quarantine; those of a job that
    did not finish stay there for Run again.
    """
    table = HANDLERS if handlers is None else handlers
    reporter = jobs.ProgressReporter(store, job.job_id)
    handler = table.get(job.kind)
    if handler is None:
        jobs.finish_job(store, job.job_id, "failed", f"No runner for jobs of kind {job.kind!r}.")
        return jobs.get_job(store, job.job_id)
    log.info("job %s (%s) started: %s", job.job_id, job.kind, job.title)
    try:
        status, message, fields = handler(store, job, reporter)
    except ParetoscopeError as err:
        log.info("job %s failed: %s", job.job_id, err)
        jobs.finish_job(store, job.job_id, "failed", str(err), error=type(err).__name__)
    except Exception as err:
        log.error("job %s failed:\n%s", job.job_id, traceback.format_exc())
        jobs.finish_job(
            store,
            job.job_id,
            "failed",
            f"The job failed unexpectedly ({type(err).__name__}: {err}). The runner's log, "
            f"{store.files_dir / LOG_FILE}, has the details.",
            error=traceback.format_exc()[-4000:],
        )
    else:
        log.info("job %s %s: %s", job.job_id, status, message)
        jobs.finish_job(store, job.job_id, status, message, **fields)
    ended = jobs.get_job(store, job.job_id)
    if ended is not None and ended.status != "done":
        # Kept for Run again, which measures the rest from the same files; the page's
        # quarantine sweep removes them a day later (profiling.uploads.sweep_quarantine).
        return ended
    # The engine has stored what it needed content-addressed; uploads leave quarantine
    # unless a job still waiting names the same file (the same upload submitted twice).
    waiting = {
        str(j.request.get(key))
        for j in jobs.list_jobs(store, statuses=jobs.ACTIVE_STATUSES, limit=None)
        for key in ("model_path", "data_path")
    }
    for key in ("model_path", "data_path"):
        path = job.request.get(key)
        if isinstance(path, str) and path not in waiting:
            uploads.remove_upload(store, path)
    return jobs.get_job(store, job.job_id)


def run_queue(store: Store, *, handlers: dict[str, Handler] | None = None) -> int:
    """Be the store's runner until its queue is empty; return how many jobs ran.

    Returns -1 at once when another runner holds the store's runner lock.
    """
    lock = _try_runner_lock(store.files_dir)
    if lock is None:
        return -1
    ran = 0
    try:
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        _write_pid(store.files_dir / PID_FILE, os.getpid())
        for gone in jobs.recover_interrupted(store):
            log.info("job %s was left running by a runner that is gone: interrupted", gone.job_id)
        while True:
            job: jobs.Job | None = jobs.claim_next_job(store)
            if job is None:
                # The last look happens under the launch lock, and so does letting go of
                # the runner lock: a job submitted now is either claimed here or finds
                # no runner and starts one (see the module docstring).
                with exclusive_lock(store.files_dir / LAUNCH_LOCK):
                    job = jobs.claim_next_job(store)
                    if job is None:
                        if _read_pid(store.files_dir / PID_FILE) == os.getpid():
                            (store.files_dir / PID_FILE).unlink(missing_ok=True)
                        lock.close()
                        return ran
            run_job(store, job, handlers=handlers)
            ran += 1
    finally:
        if not lock.closed:
            lock.close()


def _stop(signum: int, frame: FrameType | None) -> None:
    # SIGTERM/SIGHUP unwind like Ctrl-C, so the running job is marked interrupted.
    raise KeyboardInterrupt(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None, *, handlers: dict[str, Handler] | None = None) -> int:
    """The runner's command line; ``handlers`` replaces the job handlers (tests)."""
    parser = argparse.ArgumentParser(
        prog="python -m paretoscope.jobrunner",
        description="Run the store's queued jobs in order, one at a time; exit when none is left.",
    )
    parser.add_argument("--store", required=True, help="the store's DuckDB file")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format=f"%(asctime)s jobrunner[{os.getpid()}] %(message)s"
    )
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)
    try:
        store = Store(args.store)
    except ParetoscopeError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    try:
        ran = run_queue(store, handlers=handlers)
    except KeyboardInterrupt as err:
        log.info("stopped (%s); marking the running job interrupted", err or "SIGINT")
        _interrupt_own_jobs(store, str(err) or "SIGINT")
        return 1
    if ran < 0:
        log.info("another runner serves %s; exiting", store.path)
    else:
        log.info("queue empty after %d job(s); exiting", ran)
    return 0


def _interrupt_own_jobs(store: Store, why: str) -> None:
    me = os.getpid()
    for job in jobs.list_jobs(store, statuses=("running",), limit=None):
        if job.runner_pid == me:
            jobs.interrupt_job(
                store,
                job,
                f"Interrupted: the job runner (pid {me}) was stopped ({why}) while this job "
                f"was running ({job.progress_done} of {job.progress_total or '?'} steps "
                "finished). Runs it had finished are kept; submit the job again to measure "
                "the rest.",
            )


if __name__ == "__main__":
    sys.exit(main())
