"""The SQL of the job queue (table ``jobs``, migrations 3 and 7), through ``Store.connect()``

Rows go in and out as plain dicts keyed by column name; ``paretoscope.jobs``
turns them into ``Job`` records and holds the rules (which status may follow
which). Every statement that changes a status names the status it expects in
its ``WHERE`` clause, so two processes racing on the same job (a runner
claiming it, a page cancelling it) cannot both win: DuckDB admits one writing
process at a time, and the loser's update matches no row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

    from store.store import Store

__all__ = [
    "JOB_COLUMNS",
    "cancel_flag",
    "claim_next",
    "count_active",
    "finish",
    "insert_job",
    "request_cancel",
    "select_job",
    "select_job_configurations",
    "select_jobs",
    "update_progress",
]

JOB_COLUMNS: tuple[str, ...] = (
    "job_id",
    "seq",
    "kind",
    "status",
    "title",
    "request",
    "created_at",
    "started_at",
    "finished_at",
    "updated_at",
    "progress_done",
    "progress_total",
    "label",
    "eta_s",
    "message",
    "runner_pid",
    "runner_host",
    "cancel_requested",
    "run_ids",
    "runs_ok",
    "runs_failed",
    "error",
    "submitted_by",
)
_SELECT = f"SELECT {', '.join(JOB_COLUMNS)} FROM jobs"


def _row(values: Sequence[Any]) -> dict[str, Any]:
    row = dict(zip(JOB_COLUMNS, values, strict=True))
    row["request"] = json.loads(row["request"]) if row["request"] else {}
    row["run_ids"] = json.loads(row["run_ids"]) if row["run_ids"] else []
    return row


def _one(conn: duckdb.DuckDBPyConnection, job_id: str) -> dict[str, Any] | None:
    found = conn.execute(f"{_SELECT} WHERE job_id = ?", [job_id]).fetchone()
    return _row(found) if found else None


def insert_job(
    store: Store,
    *,
    job_id: str,
    kind: str,
    title: str,
    request: dict[str, Any],
    created_at: datetime,
    submitted_by: str | None = None,
) -> dict[str, Any]:
    """Queue a job after every job already submitted; return its row."""
    with store.transaction("queue a job in") as conn:
        seq = conn.execute("SELECT coalesce(max(seq), 0) + 1 FROM jobs").fetchone()
        conn.execute(
            "INSERT INTO jobs (job_id, seq, kind, status, title, request, created_at,"
            " submitted_by) VALUES (?, ?, ?, 'queued', ?, ?, ?, ?)",
            [
                job_id,
                seq[0] if seq else 1,
                kind,
                title,
                json.dumps(request),
                created_at,
                submitted_by,
            ],
        )
        row = _one(conn, job_id)
    assert row is not None  # just inserted, in this connection
    return row


def select_jobs(
    store: Store, statuses: Sequence[str] | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Jobs, newest first; only those in ``statuses`` when given."""
    sql = _SELECT
    params: list[Any] = []
    if statuses is not None:
        if not statuses:
            return []
        sql += f" WHERE status IN ({', '.join('?' for _ in statuses)})"
        params.extend(statuses)
    sql += " ORDER BY seq DESC"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    with store.connect() as conn:
        return [_row(r) for r in conn.execute(sql, params).fetchall()]


def count_active(store: Store, submitted_by: str | None) -> int:
    """Queued or running jobs of ``submitted_by`` (None: those without a submitter)."""
    with store.connect() as conn:
        found = conn.execute(
            "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')"
            " AND submitted_by IS NOT DISTINCT FROM ?",
            [submitted_by],
        ).fetchone()
    return int(found[0]) if found else 0


def select_job(store: Store, job_id: str) -> dict[str, Any] | None:
    with store.connect() as conn:
        return _one(conn, job_id)


def claim_next(store: Store, *, pid: int, host: str, now: datetime) -> dict[str, Any] | None:
    """Mark the oldest queued job running for ``pid`` on ``host``; return it, or None."""
    with store.transaction("claim a job in") as conn:
        found = conn.execute(
            "SELECT job_id FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1"
        ).fetchone()
        if found is None:
            return None
        conn.execute(
            "UPDATE jobs SET status = 'running', started_at = ?, updated_at = ?,"
            " runner_pid = ?, runner_host = ?, progress_done = 0"
            " WHERE job_id = ? AND status = 'queued'",
            [now, now, pid, host, found[0]],
        )
        return _one(conn, found[0])


def update_progress(
    store: Store,
    job_id: str,
    *,
    done: int,
    total: int | None,
    label: str,
    eta_s: float | None,
    now: datetime,
) -> bool:
    """Record a running job's progress; return its cancel flag (one round trip for both)."""
    with store.connect() as conn:
        conn.execute(
            "UPDATE jobs SET progress_done = ?, progress_total = ?, label = ?, eta_s = ?,"
            " updated_at = ? WHERE job_id = ? AND status = 'running'",
            [done, total, label, eta_s, now, job_id],
        )
        found = conn.execute(
            "SELECT cancel_requested FROM jobs WHERE job_id = ?", [job_id]
        ).fetchone()
    return bool(found and found[0])


def cancel_flag(store: Store, job_id: str) -> bool:
    """Whether someone asked to cancel the job."""
    with store.connect() as conn:
        found = conn.execute(
            "SELECT cancel_requested FROM jobs WHERE job_id = ?", [job_id]
        ).fetchone()
    return bool(found and found[0])


def request_cancel(store: Store, job_id: str, *, message: str, now: datetime) -> str | None:
    """Cancel a queued job at once, or flag a running one; return its status after, or None.

    A queued job becomes ``cancelled`` with ``message``; a running job keeps
    running with ``cancel_requested`` set until its runner sees the flag. A
    finished job is left as it is.
    """
    with store.connect() as conn:
        conn.execute(
            "UPDATE jobs SET status = 'cancelled', cancel_requested = TRUE, finished_at = ?,"
            " message = ? WHERE job_id = ? AND status = 'queued'",
            [now, message, job_id],
        )
        conn.execute(
            "UPDATE jobs SET cancel_requested = TRUE WHERE job_id = ? AND status = 'running'",
            [job_id],
        )
        found = conn.execute("SELECT status FROM jobs WHERE job_id = ?", [job_id]).fetchone()
    return str(found[0]) if found else None


def finish(
    store: Store,
    job_id: str,
    *,
    status: str,
    message: str,
    now: datetime,
    expected_status: str = "running",
    run_ids: Sequence[str] | None = None,
    runs_ok: int | None = None,
    runs_failed: int | None = None,
    error: str | None = None,
    runner_pid: int | None = None,
) -> bool:
    """Move a job from ``expected_status`` to ``status`` (a final one); False if it was not there.

    ``runner_pid``, when given, must match the job's too: recovery marks a job
    interrupted only if the runner it found dead is still the job's runner.
    Counts and run ids left as None keep what the job already has.
    """
    sql = (
        "UPDATE jobs SET status = ?, message = ?, finished_at = ?, eta_s = NULL,"
        " run_ids = coalesce(?, run_ids), runs_ok = coalesce(?, runs_ok),"
        " runs_failed = coalesce(?, runs_failed), error = coalesce(?, error)"
        " WHERE job_id = ? AND status = ?"
    )
    params: list[Any] = [
        status,
        message,
        now,
        json.dumps(list(run_ids)) if run_ids is not None else None,
        runs_ok,
        runs_failed,
        error,
        job_id,
        expected_status,
    ]
    if runner_pid is not None:
        sql += " AND runner_pid = ?"
        params.append(runner_pid)
    with store.transaction("finish a job in") as conn:
        before = conn.execute(
            "SELECT count(*) FROM jobs WHERE job_id = ? AND status = ?"
            + (" AND runner_pid = ?" if runner_pid is not None else ""),
            [job_id, expected_status] + ([runner_pid] if runner_pid is not None else []),
        ).fetchone()
        conn.execute(sql, params)
    return bool(before and before[0])


def select_job_configurations(store: Store, job_id: str) -> list[dict[str, Any]]:
    """The configurations of a job's ok runs: runtime, precision, batch_size, threads, dims, device.

    ``dims`` is a dict (name -> value); a job's Run again skips these.
    """
    sql = (
        "SELECT runtime, precision, batch_size, threads, dims, device FROM runs "
        "WHERE job_id = ? AND status = 'ok' ORDER BY started_at, run_id"
    )
    with store.connect() as conn:
        rows = conn.execute(sql, [job_id]).fetchall()
    return [
        {
            "runtime": r[0],
            "precision": r[1],
            "batch_size": int(r[2]),
            "threads": int(r[3] or 1),
            "dims": json.loads(r[4]) if isinstance(r[4], str) else dict(r[4] or {}),
            "device": str(r[5] or "cpu"),
        }
        for r in rows
    ]
