"""The job queue on real DuckDB files: lifecycle, cancel, recovery after SIGKILL, order."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from paretoscope.core.errors import InputError
from paretoscope.core.timefmt import utc_now
from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from store import Store
from store.migrations import MIGRATIONS
from tests.jobs.fake_runner import HANDLERS

REPO = Path(__file__).resolve().parents[2]
FAKE_RUNNER = [sys.executable, "-m", "tests.jobs.fake_runner"]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "jobs.duckdb")


def fake_command(store: Store) -> list[str]:
    return [*FAKE_RUNNER, "--store", str(store.path)]


def wait_for(cond: Callable[[], bool], timeout_s: float = 60.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def status(store: Store, job_id: str) -> str:
    job = jobs.get_job(store, job_id)
    assert job is not None
    return job.status


def test_migration_3_makes_the_jobs_table(store: Store) -> None:
    assert MIGRATIONS[2].version == 3 and MIGRATIONS[2].name == "jobs"
    assert store.schema_version() >= 3
    assert jobs.list_jobs(store) == []


def test_submit_claim_progress_done(store: Store) -> None:
    job = jobs.submit_job(store, {"model": "m.onnx"}, title="m.onnx: fp32")
    assert job.status == "queued" and job.progress_done == 0 and job.progress_total is None
    assert job.request == {"model": "m.onnx"} and job.title == "m.onnx: fp32"
    assert isinstance(job.created_at, datetime)

    claimed = jobs.claim_next_job(store)
    assert claimed is not None and claimed.job_id == job.job_id
    assert claimed.status == "running" and claimed.runner_pid == os.getpid()
    assert claimed.started_at is not None
    assert jobs.claim_next_job(store) is None, "a running job is not claimed twice"

    assert jobs.report_progress(store, job.job_id, 1, 4, "fp32 · batch 1", 3.0) is False
    now = jobs.get_job(store, job.job_id)
    assert now is not None
    assert (now.progress_done, now.progress_total, now.label, now.eta_s) == (
        1,
        4,
        "fp32 · batch 1",
        3.0,
    )
    assert now.fraction == 0.25

    assert jobs.finish_job(store, job.job_id, "done", "4 runs ok", run_ids=["a", "b"], runs_ok=2)
    done = jobs.get_job(store, job.job_id)
    assert done is not None
    assert done.status == "done" and done.message == "4 runs ok" and done.run_ids == ("a", "b")
    assert done.finished_at is not None and done.eta_s is None and done.fraction == 1.0
    assert not jobs.finish_job(store, job.job_id, "failed", "again"), "a done job stays done"


def test_jobs_survive_reopening_the_store(store: Store) -> None:
    job = jobs.submit_job(store, {"x": 1})
    again = Store(store.path)
    assert [j.job_id for j in jobs.list_jobs(again)] == [job.job_id]


def test_bad_kind_and_non_json_requests_are_refused(store: Store) -> None:
    with pytest.raises(InputError, match="unknown job kind"):
        jobs.submit_job(store, {}, kind="bake")
    with pytest.raises(InputError, match="must be JSON"):
        jobs.submit_job(store, {"path": Path("/x")})
    assert jobs.list_jobs(store) == []
    with pytest.raises(InputError):
        jobs.finish_job(store, "nope", "interrupted", "")


def test_cancel_a_queued_job_at_once(store: Store) -> None:
    job = jobs.submit_job(store, {})
    cancelled = jobs.cancel_job(store, job.job_id)
    assert cancelled is not None and cancelled.status == "cancelled"
    assert "before it started" in cancelled.message
    assert jobs.claim_next_job(store) is None
    assert jobs.cancel_job(store, "no-such-job") is None


def test_cancel_a_running_job_stops_it_at_the_next_check(store: Store) -> None:
    job = jobs.submit_job(store, {"steps": 50, "step_s": 0.01})
    claimed = jobs.claim_next_job(store)
    assert claimed is not None
    flagged = jobs.cancel_job(store, job.job_id)
    assert flagged is not None and flagged.status == "running" and flagged.cancel_requested
    # The handler sees the flag at its first check and stops.
    ended = jobrunner.run_job(store, claimed, handlers=HANDLERS)
    assert ended is not None and ended.status == "cancelled"
    assert "Cancelled after 0 of 50" in ended.message
    done = jobs.cancel_job(store, job.job_id)
    assert done is not None and done.status == "cancelled", "cancelling twice changes nothing"


def test_a_failing_job_keeps_its_reason(store: Store) -> None:
    job = jobs.submit_job(store, {"steps": 1, "step_s": 0, "fail": "the model hung"})
    assert jobrunner.run_queue(store, handlers=HANDLERS) == 1
    failed = jobs.get_job(store, job.job_id)
    assert failed is not None and failed.status == "failed"
    assert failed.message == "the model hung" and failed.error == "MeasurementError"


def test_an_unexpected_error_fails_the_job_and_names_the_log(store: Store) -> None:
    def broken(*_: object) -> tuple[str, str, dict[str, object]]:
        raise ZeroDivisionError("oops")

    job = jobs.submit_job(store, {})
    jobrunner.run_queue(store, handlers={"profile": broken})
    failed = jobs.get_job(store, job.job_id)
    assert failed is not None and failed.status == "failed"
    assert "ZeroDivisionError: oops" in failed.message and jobrunner.LOG_FILE in failed.message


def test_progress_writes_are_throttled(store: Store) -> None:
    job = jobs.submit_job(store, {})
    jobs.claim_next_job(store)
    reporter = jobs.ProgressReporter(store, job.job_id, interval_s=60.0)
    for i in range(200):
        reporter.update(i, 1000, f"step {i}")
        assert not reporter.should_cancel()
    assert reporter.writes == 1, "only the first update within the interval writes"
    reporter.update(1000, 1000, "done")
    assert reporter.writes == 2, "the final update always writes"
    stored = jobs.get_job(store, job.job_id)
    assert stored is not None and stored.progress_done == 1000


def test_eta_extrapolates_the_mean_step() -> None:
    assert jobs.eta_seconds(0, 10, 5.0) is None
    assert jobs.eta_seconds(3, None, 5.0) is None
    assert jobs.eta_seconds(2, 10, 4.0) == pytest.approx(16.0)
    assert jobs.eta_seconds(10, 10, 4.0) == 0.0


def test_pid_alive_sees_reused_pids() -> None:
    assert jobs.pid_alive(os.getpid(), started_before=utc_now())
    # This process started after 2001: a job claimed then cannot be ours.
    assert not jobs.pid_alive(os.getpid(), started_before=datetime(2001, 1, 1))


def test_recover_leaves_live_runners_alone(store: Store) -> None:
    job = jobs.submit_job(store, {})
    jobs.claim_next_job(store)  # claimed by this (live) process
    assert jobs.recover_interrupted(store) == []
    assert status(store, job.job_id) == "running"


def test_runner_killed_with_sigkill_leaves_an_interrupted_job(store: Store) -> None:
    job = jobs.submit_job(store, {"steps": 400, "step_s": 0.1}, title="long")
    pid = jobrunner.ensure_runner(store, command=fake_command(store))

    def progressed() -> bool:
        j = jobs.get_job(store, job.job_id)
        return j is not None and j.status == "running" and j.progress_done >= 1

    wait_for(progressed, what="the job to make progress")
    assert jobrunner.runner_pid(store) == pid
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not jobs.pid_alive(pid), what="the runner to die")
    assert status(store, job.job_id) == "running", "nothing marks it until someone looks"

    marked = jobs.recover_interrupted(store)
    assert [j.job_id for j in marked] == [job.job_id]
    gone = jobs.get_job(store, job.job_id)
    assert gone is not None and gone.status == "interrupted"
    assert f"pid {pid}" in gone.message and "killed" in gone.message
    assert gone.progress_done >= 1, "its progress is kept"
    assert jobrunner.runner_pid(store) is None


def test_sigterm_marks_the_running_job_interrupted(store: Store) -> None:
    job = jobs.submit_job(store, {"steps": 400, "step_s": 0.1})
    pid = jobrunner.ensure_runner(store, command=fake_command(store))
    wait_for(lambda: status(store, job.job_id) == "running", what="the job to start")
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: status(store, job.job_id) != "running", what="the job to stop")
    stopped = jobs.get_job(store, job.job_id)
    assert stopped is not None and stopped.status == "interrupted"
    assert "SIGTERM" in stopped.message


def test_a_restarted_runner_picks_up_queued_jobs_in_order(store: Store) -> None:
    first = jobs.submit_job(store, {"steps": 3, "step_s": 0.05}, title="first")
    second = jobs.submit_job(store, {"steps": 2, "step_s": 0.05}, title="second")
    third = jobs.submit_job(store, {"steps": 1, "step_s": 0.05}, title="third")
    jobs.cancel_job(store, third.job_id)
    # No runner was running when they were submitted (a server restart, say).
    assert jobrunner.runner_pid(store) is None
    jobrunner.ensure_runner(store, command=fake_command(store))
    wait_for(
        lambda: all(status(store, j.job_id) == "done" for j in (first, second)),
        what="both jobs to finish",
    )
    a, b = jobs.get_job(store, first.job_id), jobs.get_job(store, second.job_id)
    assert a is not None and b is not None
    assert a.finished_at is not None and b.started_at is not None
    assert a.finished_at <= b.started_at, "the second started after the first finished"
    assert status(store, third.job_id) == "cancelled"
    wait_for(lambda: jobrunner.runner_pid(store) is None, what="the runner to exit")


def test_two_submits_with_two_launches_run_in_order_never_concurrently(store: Store) -> None:
    one = jobs.submit_job(store, {"steps": 4, "step_s": 0.1})
    pid1 = jobrunner.ensure_runner(store, command=fake_command(store))
    two = jobs.submit_job(store, {"steps": 2, "step_s": 0.1})
    pid2 = jobrunner.ensure_runner(store, command=fake_command(store))
    assert pid1 == pid2, "a runner is running: no second one is started"
    wait_for(lambda: status(store, two.job_id) == "done", what="the second job")
    a, b = jobs.get_job(store, one.job_id), jobs.get_job(store, two.job_id)
    assert a is not None and b is not None and a.status == "done"
    assert a.finished_at is not None and b.started_at is not None
    assert a.finished_at <= b.started_at
    assert a.runner_pid == b.runner_pid == pid1


def test_a_second_runner_refuses_while_one_holds_the_lock(store: Store) -> None:
    lock = jobrunner._try_runner_lock(store.files_dir)
    assert lock is not None
    try:
        assert jobrunner.run_queue(store, handlers=HANDLERS) == -1
    finally:
        lock.close()
    assert jobrunner.run_queue(store, handlers=HANDLERS) == 0


def test_a_job_submitted_as_the_runner_exits_is_not_stranded(store: Store) -> None:
    # Many short rounds of: runner finishing its last job while a new one arrives.
    ids = []
    for _ in range(5):
        ids.append(jobs.submit_job(store, {"steps": 1, "step_s": 0.0}).job_id)
        jobrunner.ensure_runner(store, command=fake_command(store))
        time.sleep(0.3)
    wait_for(lambda: all(status(store, i) == "done" for i in ids), what="every job to finish")
    order = sorted((j for j in jobs.list_jobs(store) if j.job_id in ids), key=lambda j: j.seq)
    starts = [j.started_at for j in order]
    # Done jobs have a start time; a None would make sorted() raise, failing the test.
    assert starts == sorted(starts)  # type: ignore[type-var]


@pytest.mark.parametrize("module", ["paretoscope.jobs.queue", "paretoscope.jobs.runner"])
def test_the_dashboard_can_import_jobs_without_torch(module: str) -> None:
    import subprocess

    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    assert "torch" not in out and "onnxruntime" not in out and "measure" not in out


def test_uploads_leave_quarantine_when_no_waiting_job_names_them(store: Store) -> None:
    import io

    from paretoscope.profiling import uploads

    saved = uploads.save_upload(
        store, "m.onnx", io.BytesIO(b"\x08\x07onnx"), role="model", limit_mb=1
    )
    request = {"model_path": str(saved.path), "steps": 1, "step_s": 0.0}
    jobs.submit_job(store, request)
    jobs.submit_job(store, request)  # the same upload submitted twice
    first = jobs.claim_next_job(store)
    assert first is not None
    jobrunner.run_job(store, first, handlers=HANDLERS)
    assert saved.path.exists(), "the second job still needs the file"
    second = jobs.claim_next_job(store)
    assert second is not None
    jobrunner.run_job(store, second, handlers=HANDLERS)
    assert not saved.path.exists() and not saved.path.parent.exists()


def test_an_unfinished_jobs_uploads_stay_for_run_again(store: Store) -> None:
    import io

    from paretoscope.profiling import uploads

    saved = uploads.save_upload(
        store, "m.onnx", io.BytesIO(b"\x08\x07onnx"), role="model", limit_mb=1
    )
    job = jobs.submit_job(store, {"model_path": str(saved.path), "fail": "on purpose"})
    claimed = jobs.claim_next_job(store)
    assert claimed is not None
    ended = jobrunner.run_job(store, claimed, handlers=HANDLERS)
    assert ended is not None and ended.status == "failed"
    assert saved.path.exists() and uploads.inputs_present(job.request), "Run again can use it"


def test_resubmit_queues_a_finished_jobs_request_again(store: Store) -> None:
    job = jobs.submit_job(store, {"steps": 1}, title="again")
    with pytest.raises(InputError, match="still queued"):
        jobs.resubmit_job(store, job.job_id)
    jobs.cancel_job(store, job.job_id)
    again = jobs.resubmit_job(store, job.job_id)
    assert again.job_id != job.job_id and again.status == "queued"
    carried = {k: v for k, v in again.request.items() if k not in ("skip_points", "resumes")}
    assert carried == job.request and again.title == "again" and again.seq > job.seq
    assert again.request["resumes"] == job.job_id and again.request["skip_points"] == []
    with pytest.raises(InputError, match="no job"):
        jobs.resubmit_job(store, "nope")


def test_the_real_profile_handler_turns_a_refusal_into_a_failed_job(
    store: Store, tmp_path: Path
) -> None:
    from paretoscope.core.records import to_dict
    from paretoscope.profiling import ProfileRequest

    bad = tmp_path / "weights.onnx"
    bad.write_bytes(b"\x80\x04\x95" + b"\x00" * 32)  # a pickle header under an .onnx name
    job = jobs.submit_job(store, to_dict(ProfileRequest(model_path=str(bad), source="upload")))
    assert jobrunner.run_queue(store) == 1
    failed = jobs.get_job(store, job.job_id)
    assert failed is not None and failed.status == "failed"
    assert "pickle" in failed.message and failed.error == "InputError"
    assert store.run_count() == 0, "nothing half-written"
    assert jobrunner.profile_request(failed).job_id == job.job_id
