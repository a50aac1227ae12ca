"""Migration 7 adds jobs.submitted_by: NULL for the jobs of older stores, kept for new ones."""

from __future__ import annotations

from pathlib import Path

import duckdb

from paretoscope.core.timefmt import utc_now
from paretoscope.jobs import queue as jobs
from store import migrations
from store.store import Store


def test_older_jobs_get_no_submitter_and_new_ones_keep_theirs(tmp_path: Path) -> None:
    path = tmp_path / "v6.duckdb"
    conn = duckdb.connect(str(path))
    try:
        old = migrations.MIGRATIONS
        migrations.MIGRATIONS = old[:6]
        try:
            migrations.apply_migrations(conn)
        finally:
            migrations.MIGRATIONS = old
        conn.execute(
            "INSERT INTO jobs (job_id, seq, kind, status, title, request, created_at)"
            " VALUES ('old', 1, 'profile', 'done', 'before roles', '{}', ?)",
            [utc_now()],
        )
    finally:
        conn.close()
    store = Store(path)
    assert store.schema_version() == migrations.MIGRATIONS[-1].version >= 7
    before = jobs.get_job(store, "old")
    assert before is not None and before.submitted_by is None
    new = jobs.submit_job(store, {"x": 1}, submitted_by="alice@example.com")
    assert jobs.get_job(store, new.job_id).submitted_by == "alice@example.com"  # type: ignore[union-attr]
    assert [j.submitted_by for j in jobs.list_jobs(store)] == ["alice@example.com", None]
