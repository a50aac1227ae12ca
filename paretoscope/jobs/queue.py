"""Jobs: work submitted to the store's queue, run in submission order by one runner process.

A job is a row of the store's ``jobs`` table, so it survives page reloads,
server restarts and the runner dying. Its life::

    queued ──claim──▶ running ──▶ done | failed | cancelled
       │                 │
       └──cancel──▶ cancelled        runner gone ──▶ interrupted

A queued job is cancelled at once; a running one gets ``cancel_requested``
and stops at its runner's next check (between runs, or inside one when the
engine can). A running job whose runner process no longer exists (killed,
crashed, the machine restarted) is marked ``interrupted`` by
``recover_interrupted`` with a message saying so; the runs it had finished
stay in the store. Nothing here runs a job: ``paretoscope.jobrunner`` does.

Imports neither torch nor onnxruntime (the dashboard imports this module).
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from paretoscope.core.access import Quota, check_job
from paretoscope.core.errors import InputError
from paretoscope.core.timefmt import utc_now
from paretoscope.present.progress import done_fraction, eta_seconds
from store import jobs as sql

if TYPE_CHECKING:
    from store import Store

__all__ = [
    "ACTIVE_STATUSES",
    "FINAL_STATUSES",
    "JOB_KINDS",
    "JOB_STATUSES",
    "Job",
    "ProgressReporter",
    "cancel_job",
    "claim_next_job",
    "eta_seconds",
    "finish_job",
    "get_job",
    "interrupt_job",
    "list_jobs",
    "pid_alive",
    "queue_position",
    "recover_interrupted",
    "report_progress",
    "resubmit_job",
    "submit_job",
]

JOB_KINDS: Final = ("profile", "demo")
JOB_STATUSES: Final = ("queued", "running", "done", "failed", "cancelled", "interrupted")
ACTIVE_STATUSES: Final = ("queued", "running")
FINAL_STATUSES: Final = ("done", "failed", "cancelled", "interrupted")
#: At most one progress write per this many seconds: DuckDB has one writer,
#: and the dashboard polls once a second anyway.
PROGRESS_INTERVAL_S: Final = 1.0


@dataclass(frozen=True)
class Job:
    """One job, as stored. Times are naive UTC datetimes; ``eta_s`` is seconds left."""

    job_id: str
    seq: int
    kind: str
    status: str
    title: str
    request: dict[str, Any]
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    updated_at: datetime | None = None
    progress_done: int = 0
    progress_total: int | None = None
    label: str = ""
    eta_s: float | None = None
    message: str = ""
    runner_pid: int | None = None
    runner_host: str | None = None
    cancel_requested: bool = False
    run_ids: tuple[str, ...] = field(default_factory=tuple)
    runs_ok: int | None = None
    runs_failed: int | None = None
    error: str | None = None
    submitted_by: str | None = None  # who submitted it (migration 7); None for older jobs

    @property
    def active(self) -> bool:
        """Queued or running: it may still change."""
        return self.status in ACTIVE_STATUSES

    @property
    def fraction(self) -> float:
        """Share done, in [0, 1] (1 for a finished job, 0 while the total is unknown)."""
        if self.status == "done":
            return 1.0
        return done_fraction(self.progress_done, self.progress_total)


def _job(row: dict[str, Any]) -> Job:
    return Job(
        job_id=row["job_id"],
        seq=int(row["seq"]),
        kind=row["kind"],
        status=row["status"],
        title=row["title"] or "",
        request=row["request"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        updated_at=row["updated_at"],
        progress_done=int(row["progress_done"] or 0),
        progress_total=row["progress_total"],
        label=row["label"] or "",
        eta_s=row["eta_s"],
        message=row["message"] or "",
        runner_pid=row["runner_pid"],
        runner_host=row["runner_host"],
        cancel_requested=bool(row["cancel_requested"]),
        run_ids=tuple(row["run_ids"]),
        runs_ok=row["runs_ok"],
        runs_failed=row["runs_failed"],
        error=row["error"],
        submitted_by=row.get("submitted_by"),
    )


# -- submitting and reading --------------------------------------------------


def _profile_size(request: dict[str, Any]) -> tuple[int, int, float]:
    """A profile request's (runs, repeats, per-run time limit in s), from its JSON form."""
    runs = 1
    for key in ("runtimes", "precisions", "batches", "threads"):
        runs *= max(len(request.get(key) or [None]), 1)
    for values in (request.get("dims") or {}).values():
        runs *= max(len(values), 1)
    return runs, int(request.get("repeats") or 1), float(request.get("timeout_s") or 300.0)


def submit_job(
    store: Store,
    request: dict[str, Any],
    *,
    kind: str = "profile",
    title: str = "",
    submitted_by: str | None = None,
    quota: Quota | None = None,
) -> Job:
    """Queue ``request`` (JSON-serialisable) as a job of ``kind``; it runs after earlier jobs.

    ``submitted_by`` is stored with the job; ``quota``, when given, is the
    submitter's role's limits (``core.access``), checked here so that no
    caller can skip them. Raises ``InputError`` for an unknown kind or a
    request that is not JSON, ``AccessError`` for a job over ``quota``.
    Starting a runner is the caller's choice (``jobrunner.ensure_runner``).
    """
    if kind not in JOB_KINDS:
        raise InputError(f"unknown job kind {kind!r}; expected one of {', '.join(JOB_KINDS)}")
    if quota is not None and kind == "profile":
        runs, repeats, limit_s = _profile_size(request)
        queued = sql.count_active(store, submitted_by)
        check_job(quota, runs=runs, repeats=repeats, run_time_limit_s=limit_s, queued=queued)
    try:
        row = sql.insert_job(
            store,
            job_id=uuid.uuid4().hex,
            kind=kind,
            title=title,
            request=request,
            created_at=utc_now(),
            submitted_by=submitted_by,
        )
    except TypeError as err:  # json.dumps of something that is not JSON
        raise InputError(f"a job's request must be JSON: {err}") from err
    return _job(row)


def list_jobs(
    store: Store, *, statuses: Sequence[str] | None = None, limit: int | None = 50
) -> list[Job]:
    """Jobs, newest first (at most ``limit``); only those in ``statuses`` when given."""
    return [_job(r) for r in sql.select_jobs(store, statuses, limit)]


def get_job(store: Store, job_id: str) -> Job | None:
    row = sql.select_job(store, job_id)
    return _job(row) if row else None


def resubmit_job(
    store: Store, job_id: str, *, submitted_by: str | None = None, quota: Quota | None = None
) -> Job:
    """Queue a finished job's request again, as a new job at the end of the queue.

    A profile job that did not finish (failed, cancelled, interrupted) is
    continued: the new job measures only the configurations it did not
    store ok (``ProfileRequest.skip_points``, carried over from the job it
    continued in turn), and its title says how many it skips. A ``done``
    job is measured again whole. ``submitted_by`` and ``quota`` are those of
    whoever asks, as for ``submit_job``. Raises ``InputError`` for an unknown
    job, one still queued or running, or one with nothing left to measure, and
    ``AccessError`` for a job over ``quota``.
    """
    job = get_job(store, job_id)
    if job is None:
        raise InputError(f"no job {job_id!r} in this store")
    if job.active:
        raise InputError(f"job {job_id} is still {job.status}; cancel it first")
    if job.kind != "profile" or job.status == "done":
        return submit_job(
            store, job.request, kind=job.kind, title=job.title,
            submitted_by=submitted_by, quota=quota,
        )  # fmt: skip
    request, title = _rest_of(store, job)
    return submit_job(
        store, request, kind=job.kind, title=title, submitted_by=submitted_by, quota=quota
    )


#: What ``resubmit_job`` appends to a continued job's title.
_REST_MARK: Final = " · the rest"


def _rest_of(store: Store, job: Job) -> tuple[dict[str, Any], str]:
    """The request and title of a job that measures what ``job`` did not store."""
    from paretoscope.profiling.request import SweepPoint

    stored = {SweepPoint(**c).label for c in sql.select_job_configurations(store, job.job_id)}
    skip = sorted(stored | set(job.request.get("skip_points") or ()))
    request = {**job.request, "skip_points": skip, "resumes": job.job_id}
    base = job.title.split(_REST_MARK, 1)[0]
    if not skip:
        return request, base
    return request, f"{base}{_REST_MARK} ({len(skip)} stored configuration(s) skipped)"


def queue_position(store: Store, job: Job) -> int:
    """How many queued or running jobs were submitted before ``job`` (0: it is next or running)."""
    ahead = [j for j in list_jobs(store, statuses=ACTIVE_STATUSES, limit=None) if j.seq < job.seq]
    return len(ahead)


def cancel_job(store: Store, job_id: str) -> Job | None:
    """Cancel a queued job now, or ask a running one to stop; None for an unknown id.

    A job that already finished is returned unchanged.
    """
    sql.request_cancel(store, job_id, message="Cancelled before it started.", now=utc_now())
    return get_job(store, job_id)


# -- the runner's side -------------------------------------------------------


def claim_next_job(store: Store, *, pid: int | None = None) -> Job | None:
    """Take the oldest queued job for the runner ``pid`` (default: this process); None if none."""
    row = sql.claim_next(
        store, pid=os.getpid() if pid is None else pid, host=socket.gethostname(), now=utc_now()
    )
    return _job(row) if row else None


def report_progress(
    store: Store,
    job_id: str,
    done: int,
    total: int | None,
    label: str = "",
    eta_s: float | None = None,
) -> bool:
    """Record a running job's progress; return whether it was asked to cancel.

    Writes every time it is called: ``ProgressReporter`` throttles.
    """
    return sql.update_progress(
        store, job_id, done=done, total=total, label=label, eta_s=eta_s, now=utc_now()
    )


def finish_job(
    store: Store,
    job_id: str,
    status: str,
    message: str,
    *,
    run_ids: Sequence[str] | None = None,
    runs_ok: int | None = None,
    runs_failed: int | None = None,
    error: str | None = None,
) -> bool:
    """End a running job as ``done``, ``failed`` or ``cancelled``; False if it was not running.

    Raises ``InputError`` for any other status.
    """
    if status not in ("done", "failed", "cancelled"):
        raise InputError(f"a job cannot finish as {status!r}")
    return sql.finish(
        store,
        job_id,
        status=status,
        message=message,
        now=utc_now(),
        run_ids=run_ids,
        runs_ok=runs_ok,
        runs_failed=runs_failed,
        error=error,
    )


class ProgressReporter:
    """Writes a job's progress at most once per ``interval_s`` and answers "cancel?" cheaply.

    The runner hands ``update`` to the engine as its progress callback and
    ``should_cancel`` as its cancel check; both touch the store at most once
    per interval (the first and the final update always write). Without an
    ``eta_s`` from the engine it estimates one (``eta_seconds``).
    """

    def __init__(
        self, store: Store, job_id: str, *, interval_s: float = PROGRESS_INTERVAL_S
    ) -> None:
        self.store = store
        self.job_id = job_id
        self.interval_s = interval_s
        self._t0 = time.monotonic()
        self._last_write = -float("inf")
        self._last_check = -float("inf")
        self._cancel = False
        self.writes = 0

    def update(
        self, done: int, total: int | None, label: str = "", eta_s: float | None = None
    ) -> None:
        now = time.monotonic()
        final = total is not None and done >= total
        if not final and self.writes and now - self._last_write < self.interval_s:
            return
        if eta_s is None:
            eta_s = eta_seconds(done, total, now - self._t0)
        self._cancel = report_progress(self.store, self.job_id, done, total, label, eta_s)
        self._last_write = self._last_check = now
        self.writes += 1

    def should_cancel(self) -> bool:
        now = time.monotonic()
        if not self._cancel and now - self._last_check >= self.interval_s:
            self._cancel = sql.cancel_flag(self.store, self.job_id)
            self._last_check = now
        return self._cancel


# -- recovery ------------------------------------------------------------------


def _boot_time_s() -> float | None:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/stat").read_text().splitlines():
            if line.startswith("btime "):
                return float(line.split()[1])
    return None


def _process_start_s(pid: int) -> float | None:
    """When process ``pid`` started (Unix time, s), from /proc; None where unreadable."""
    boot = _boot_time_s()
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    if boot is None:
        return None
    # Fields after the parenthesised command name; starttime is field 22 overall.
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (IndexError, ValueError, OSError):
        return None


def pid_alive(pid: int, *, started_before: datetime | None = None) -> bool:
    """Whether process ``pid`` runs (not a zombie), and started before ``started_before`` (UTC).

    The second test catches a reused pid: after a restart the number may
    belong to a process that began after the job was claimed.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    with contextlib.suppress(OSError, IndexError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":
            return False
    if started_before is not None:
        begun = _process_start_s(pid)
        aware = started_before if started_before.tzinfo else started_before.replace(tzinfo=UTC)
        claimed = aware.timestamp()
        # Clock ticks are 10 ms; two seconds of slack covers rounding and clock steps.
        if begun is not None and begun > claimed + 2.0:
            return False
    return True


def _interrupted_message(job: Job) -> str:
    total = job.progress_total
    done = f"{job.progress_done} of {total} steps" if total else "its first step not yet"
    return (
        f"Interrupted: the job runner (pid {job.runner_pid} on {job.runner_host}) stopped while "
        f"this job was running ({done} finished): it was killed, crashed, or the machine "
        "restarted. Runs it had finished are kept in the store; submit the job again to "
        "measure the rest."
    )


def interrupt_job(store: Store, job: Job, message: str) -> bool:
    """Mark a running ``job`` interrupted, if it is still running under the same runner."""
    return sql.finish(
        store,
        job.job_id,
        status="interrupted",
        message=message,
        now=utc_now(),
        runner_pid=job.runner_pid,
    )


def recover_interrupted(store: Store) -> list[Job]:
    """Mark ``interrupted`` every running job of this host whose runner process is gone.

    Jobs claimed on another host are left alone: their runner cannot be
    checked from here. Returns the jobs marked.
    """
    host = socket.gethostname()
    marked: list[Job] = []
    for job in list_jobs(store, statuses=("running",), limit=None):
        if job.runner_host not in (None, host):
            continue
        if job.runner_pid is not None and pid_alive(job.runner_pid, started_before=job.started_at):
            continue
        if interrupt_job(store, job, _interrupted_message(job)):
            marked.append(job)
    return marked
