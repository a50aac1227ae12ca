"""Cancel of a running job kills the run in progress: the job ends cancelled in seconds."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from store import Store
from tests.jobs.test_jobs import status, wait_for

HANGING_RUNNER = [sys.executable, "-m", "tests.jobs.hanging_runner"]


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def _workers(runner: int) -> list[int]:
    found = []
    for pid in _children(runner):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"measure.worker" in cmd:
            found.append(pid)
    return found


def _alive(pid: int) -> bool:
    return jobs.pid_alive(pid)


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    from measure import testing

    return testing.save_state(testing.tiny_mlp(), tmp_path / "mlp.pt")


def test_cancel_kills_a_hanging_run_and_the_job_ends_cancelled(
    tmp_path: Path, weights: Path
) -> None:
    store = Store(tmp_path / "cancel.duckdb")
    job = jobs.submit_job(store, {"weights": str(weights), "runs": 2}, title="hangs")
    runner = jobrunner.ensure_runner(store, command=[*HANGING_RUNNER, "--store", str(store.path)])
    wait_for(lambda: bool(_workers(runner)), what="the hanging run's worker to start")
    worker = _workers(runner)[0]

    asked = time.monotonic()
    jobs.cancel_job(store, job.job_id)
    wait_for(lambda: status(store, job.job_id) != "running", what="the job to stop")
    took = time.monotonic() - asked

    ended = jobs.get_job(store, job.job_id)
    assert ended is not None and ended.status == "cancelled", ended
    assert took < 5.0, f"the job ended {took:.1f} s after Cancel; the bound is 5 s"
    assert "not stored" in ended.message
    wait_for(lambda: not _alive(worker), 10.0, "the worker process to be gone")
    assert store.run_count() == 0, "nothing is stored for the cancelled run"
    assert ended.runs_ok == 0 and ended.run_ids == ()
    wait_for(lambda: not _alive(runner), 30.0, "the runner to exit with an empty queue")
