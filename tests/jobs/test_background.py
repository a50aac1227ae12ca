"""The background demo launcher: progress parsing, one job per store, crashed children."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from paretoscope.jobs import background as bg
from paretoscope.jobs.background import (
    DemoJob,
    Progress,
    job_state,
    launch_demo,
    read_progress,
)

# Stand-ins for ``paretoscope demo``: the launcher appends ``--progress-file FILE``.
FINISHES = """
import json, sys, time
path = sys.argv[-1]
with open(path, "a") as fh:
    for i in range(3):
        fh.write(json.dumps({"done": i, "total": 3, "label": f"model {i}",
                             "elapsed_s": i * 0.1, "eta_s": (3 - i) * 0.1}) + "\\n")
        fh.flush()
    fh.write(json.dumps({"finished": True, "ok": True, "message": "3 runs measured"}) + "\\n")
"""
DIES = """
import json, sys
with open(sys.argv[-1], "a") as fh:
    fh.write(json.dumps({"done": 1, "total": 5, "label": "mlp", "elapsed_s": 1.0,
                         "eta_s": 4.0}) + "\\n")
print("Traceback: something broke in the worker", flush=True)
sys.exit(3)
"""
SLEEPS = """
import json, sys, time
with open(sys.argv[-1], "a") as fh:
    fh.write(json.dumps({"done": 0, "total": 2, "label": "training", "elapsed_s": 0.0,
                         "eta_s": None}) + "\\n")
    fh.flush()
    time.sleep(60)
"""


def _cmd(script: str) -> list[str]:
    return [sys.executable, "-c", script]


def _wait(job: DemoJob, timeout_s: float = 20.0) -> bg.JobState:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = job_state(job)
        if state.status != "running":
            return state
        time.sleep(0.05)
    raise AssertionError(f"job still running after {timeout_s} s")


@pytest.fixture
def files_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "s.duckdb.files"
    yield folder
    job = bg.current_job(folder)
    if job is not None and job_state(job).status == "running":
        os.kill(job.pid, signal.SIGKILL)  # only ever our own test child


def test_demo_command_is_the_cli_contract(tmp_path: Path) -> None:
    cmd = bg.demo_command(tmp_path / "s.duckdb", tmp_path / "p.jsonl")
    assert cmd[:4] == [sys.executable, "-m", "paretoscope", "demo"]
    assert cmd[4:] == [
        "--store",
        str(tmp_path / "s.duckdb"),
        "--progress-file",
        str(tmp_path / "p.jsonl"),
    ]


def test_a_demo_that_finishes(tmp_path: Path, files_dir: Path) -> None:
    job = launch_demo(tmp_path / "s.duckdb", files_dir, command=_cmd(FINISHES))
    state = _wait(job)
    assert state.status == "succeeded"
    assert state.message == "3 runs measured"
    assert bg.current_job(files_dir) == job
    assert json.loads((files_dir / bg.PID_FILE).read_text())["pid"] == job.pid


def test_a_demo_that_dies_without_a_final_line_failed(tmp_path: Path, files_dir: Path) -> None:
    job = launch_demo(tmp_path / "s.duckdb", files_dir, command=_cmd(DIES))
    state = _wait(job)
    assert state.status == "failed"
    assert "exited with status 3" in state.message
    assert "something broke in the worker" in state.message  # the log's tail
    assert state.progress.done == 1 and state.progress.total == 5


def test_a_second_launch_joins_the_running_demo(tmp_path: Path, files_dir: Path) -> None:
    first = launch_demo(tmp_path / "s.duckdb", files_dir, command=_cmd(SLEEPS))
    deadline = time.monotonic() + 10
    while read_progress(first.progress_file) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    again = launch_demo(tmp_path / "s.duckdb", files_dir, command=_cmd(FINISHES))
    assert again == first
    state = job_state(first)
    assert state.status == "running" and state.progress.label == "training"
    assert state.progress.eta_s is None


def test_a_finished_demo_can_be_run_again(tmp_path: Path, files_dir: Path) -> None:
    first = launch_demo(tmp_path / "s.duckdb", files_dir, command=_cmd(DIES))
    _wait(first)
    second = launch_demo(tmp_path / "s.duckdb", files_dir, command=_cmd(FINISHES))
    assert second.pid != first.pid
    assert _wait(second).status == "succeeded"
    assert not Path(first.progress_file).exists()  # the old job's files are cleaned up


def test_a_pid_file_naming_a_gone_process_is_failed(tmp_path: Path) -> None:
    job = DemoJob(pid=2**22 + 12345, progress_file=str(tmp_path / "p"), log_file="", started_at=0)
    state = job_state(job)
    assert state.status == "failed" and "no longer running" in state.message


def test_a_reused_pid_is_not_our_demo(tmp_path: Path) -> None:
    # This test process is alive, but its command line does not name the progress file.
    job = DemoJob(
        pid=os.getpid(), progress_file=str(tmp_path / "p.jsonl"), log_file="", started_at=0
    )
    assert job_state(job).status == "failed"


def test_unreadable_pid_files_mean_no_job(tmp_path: Path) -> None:
    assert bg.current_job(tmp_path) is None
    (tmp_path / bg.PID_FILE).write_text("12345")
    assert bg.current_job(tmp_path) is None
    (tmp_path / bg.PID_FILE).write_text('{"pid": "x"}')
    assert bg.current_job(tmp_path) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ('{"done": 1, "total": 4, "label": "a", "elapsed_s": 2, "eta_s": 6}\n',
         Progress(1, 4, "a", 2.0, 6.0)),
        # A line still being written is skipped in favour of the one before.
        ('{"done": 1, "total": 4, "label": "a", "elapsed_s": 2, "eta_s": 6}\n{"done": 2, "to',
         Progress(1, 4, "a", 2.0, 6.0)),
        # Garbage, non-objects and ill-typed lines are skipped too.
        ('{"done": 1, "total": 4}\nnot json\n[1, 2]\n{"done": "x", "total": 4}\n',
         Progress(1, 4)),
        ('{"done": 3, "total": 3}\n{"finished": true, "ok": false, "message": "boom"}\n',
         Progress(finished=True, ok=False, message="boom")),
        ('{"finished": true, "ok": "yes"}\n', Progress(finished=True, ok=False)),
        ('{"done": 1, "total": 2, "eta_s": "soon"}\n', Progress(1, 2)),
    ],
)  # fmt: skip
def test_read_progress(tmp_path: Path, text: str, expected: Progress | None) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(text)
    assert read_progress(path) == expected


def test_read_progress_reads_only_the_tail_of_a_long_file(tmp_path: Path) -> None:
    path = tmp_path / "p.jsonl"
    line = {"done": 0, "total": 10**6, "label": "x" * 100, "elapsed_s": 0.0, "eta_s": None}
    with path.open("w") as fh:
        for i in range(20_000):
            fh.write(json.dumps(line | {"done": i}) + "\n")
    got = read_progress(path)
    assert got is not None and got.done == 19_999
    assert read_progress(tmp_path / "missing.jsonl") is None


def test_progress_fraction_is_clamped() -> None:
    assert Progress(5, 4).fraction == 1.0
    assert Progress(1, 0).fraction == 0.0
    assert Progress(1, 4).fraction == 0.25


def test_a_quick_demo_command_adds_quick(tmp_path: Path) -> None:
    cmd = bg.demo_command(tmp_path / "s.duckdb", tmp_path / "p.jsonl", quick=True)
    assert cmd[3:4] == ["demo"] and cmd[-1] == "--quick"


def test_follow_job_reports_progress_until_the_demo_ends(tmp_path: Path, files_dir: Path) -> None:
    import threading

    job = launch_demo(tmp_path / "s.duckdb", files_dir, command=_cmd(FINISHES))
    seen: list[Progress] = []
    state = bg.follow_job(job, seen.append, threading.Event(), poll_s=0.02)
    assert state is not None and state.status == "succeeded"
    assert all(p.total in (0, 3) for p in seen)  # 0: before its first line


def test_follow_job_returns_none_when_told_to_stop(tmp_path: Path, files_dir: Path) -> None:
    import threading

    job = launch_demo(tmp_path / "s.duckdb", files_dir, command=_cmd(SLEEPS))
    stop = threading.Event()
    stop.set()
    assert bg.follow_job(job, lambda p: None, stop) is None
    assert job_state(job).status == "running"


def test_stop_job_stops_the_demo_and_says_so_in_its_progress_file(
    tmp_path: Path, files_dir: Path
) -> None:
    job = launch_demo(tmp_path / "s.duckdb", files_dir, command=_cmd(SLEEPS))
    deadline = time.monotonic() + 20
    while read_progress(job.progress_file) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert bg.stop_job(job, message="stopped with serve")
    state = job_state(job)
    assert state.status == "failed" and state.message == "stopped with serve"
    assert not bg.stop_job(job), "a stopped job is not stopped twice"
