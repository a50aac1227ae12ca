"""Quotas are checked where a job is submitted: over a limit, the queue refuses and says how."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paretoscope.core.access import PROFILER, Quota
from paretoscope.core.errors import AccessError
from paretoscope.jobs import queue as jobs
from store import Store

WHERE = "/etc/paretoscope/access.toml ($PARETOSCOPE_ACCESS)"


def request(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "model_path": "/m.onnx",
        "runtimes": ["ort"],
        "precisions": ["fp32", "int8"],
        "batches": [1, 8],
        "threads": [1],
        "dims": {},
        "repeats": 1,
        "timeout_s": 60.0,
    }
    return base | kw


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "quota.duckdb")


def test_over_runs_per_job_is_refused_with_the_key_and_file(store: Store) -> None:
    quota = Quota(role=PROFILER, runs_per_job=3, where=WHERE)
    with pytest.raises(AccessError) as info:
        jobs.submit_job(store, request(), submitted_by="alice", quota=quota)
    msg = str(info.value)
    assert "4 runs" in msg and "runs_per_job = 3" in msg
    assert "[quotas.profiler]" in msg and "/etc/paretoscope/access.toml" in msg
    assert jobs.list_jobs(store) == []  # nothing queued
    jobs.submit_job(store, request(batches=[1]), submitted_by="alice", quota=quota)


def test_job_time_limit_counts_runs_repeats_and_the_run_limit(store: Store) -> None:
    quota = Quota(role=PROFILER, job_time_limit_s=600, where=WHERE)
    jobs.submit_job(store, request(timeout_s=150.0), quota=quota)  # 4 × 1 × 150 = 600
    with pytest.raises(AccessError, match="job_time_limit_s = 600"):
        jobs.submit_job(store, request(timeout_s=150.0, repeats=2), quota=quota)
    with pytest.raises(AccessError, match="job_time_limit_s"):
        jobs.submit_job(store, request(dims={"seq": [16, 32]}, timeout_s=100.0), quota=quota)


def test_queued_jobs_per_user_counts_only_theirs_and_only_active(store: Store) -> None:
    quota = Quota(role=PROFILER, queued_jobs_per_user=2, where=WHERE)
    first = jobs.submit_job(store, request(), submitted_by="alice", quota=quota)
    jobs.submit_job(store, request(), submitted_by="alice", quota=quota)
    with pytest.raises(AccessError, match="queued_jobs_per_user = 2"):
        jobs.submit_job(store, request(), submitted_by="alice", quota=quota)
    jobs.submit_job(store, request(), submitted_by="bob", quota=quota)  # bob has his own
    jobs.cancel_job(store, first.job_id)
    jobs.submit_job(store, request(), submitted_by="alice", quota=quota)  # one slot free again
    assert [j.submitted_by for j in jobs.list_jobs(store)].count("alice") == 3


def test_no_quota_no_limit(store: Store) -> None:
    job = jobs.submit_job(store, request(batches=list(range(1, 200))))
    assert job.submitted_by is None and job.status == "queued"
