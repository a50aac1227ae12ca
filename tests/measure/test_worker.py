"""Tests of the worker process: real children that succeed, hang, die, overrun memory or raise."""

from __future__ import annotations

import dataclasses
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import cast

import pytest

from measure import testing
from measure.devices import host_info
from measure.worker import WorkerProgress, run_in_worker
from paretoscope.core.records import ArtifactRef, RunRecord, RunSpec

from .conftest import Zoo


def _builder_spec(zoo: Zoo, builder: str, **kwargs: object) -> RunSpec:
    """A torch spec whose builder misbehaves; the weights file is never reached."""
    artifact: ArtifactRef = dataclasses.replace(
        zoo.state, builder=f"measure.testing:{builder}", builder_kwargs=kwargs
    )
    return testing.make_spec(artifact, "torch", dataset=zoo.dataset)


def _assert_failed(record: RunRecord, spec: RunSpec) -> str:
    assert record.status == "failed"
    assert record.run_id == spec.run_id and record.spec == spec
    assert record.host is not None and record.host.host_id == host_info().host_id
    assert record.latency is None and record.accuracy == ()
    assert record.error
    return record.error


def test_ok_run_streams_its_stages(zoo: Zoo) -> None:
    events: list[WorkerProgress] = []
    spec = testing.make_spec(zoo.onnx, "ort", dataset=zoo.dataset, batch_size=4)
    record = run_in_worker(spec, progress=events.append)
    assert record.status == "ok", record.error
    assert record.run_id == spec.run_id and record.spec == spec
    assert [e.stage for e in events] == ["started", "loading", "timing", "evaluating", "done"]
    assert len({e.pid for e in events}) == 1 and events[0].pid != os.getpid()
    assert [e.elapsed_s for e in events] == sorted(e.elapsed_s for e in events)
    assert record.latency is not None and record.latency.p50_ms > 0
    assert record.accuracy[0].value > 0.8
    assert record.provenance is not None and record.provenance.env["OMP_NUM_THREADS"] == "1"
    # A fresh process's own peak, not this test process's.
    assert record.memory is not None and record.memory.source == "vmhwm"
    assert record.memory.peak_mem_mb is not None and record.memory.peak_mem_mb < 400
    assert record.memory.peak_host_mem_mb == record.memory.peak_mem_mb


def test_ok_torch_run_with_two_threads(zoo: Zoo) -> None:
    spec = testing.make_spec(zoo.state, "torch", dataset=zoo.dataset, threads=2)
    record = run_in_worker(spec)
    assert record.status == "ok", record.error
    assert record.provenance is not None
    env = record.provenance.env
    assert env["OMP_NUM_THREADS"] == env["MKL_NUM_THREADS"] == env["torch_num_threads"] == "2"
    assert env["torch_num_interop_threads"] == "1"


def test_a_hanging_model_times_out(zoo: Zoo) -> None:
    spec = dataclasses.replace(_builder_spec(zoo, "sleepy_mlp", seconds=60), timeout_s=4)
    t0 = time.monotonic()
    record = run_in_worker(spec)
    assert _assert_failed(record, spec) == "timed out after 4 s"
    assert time.monotonic() - t0 < 10


def test_a_worker_killed_mid_run_reports_the_signal(zoo: Zoo) -> None:
    spec = _builder_spec(zoo, "sleepy_mlp", seconds=60, where="build")

    def kill_soon(event: WorkerProgress) -> None:
        # Killed from another thread, as the OOM killer or a person would.
        if event.stage == "loading":
            threading.Timer(0.3, os.kill, (event.pid, signal.SIGKILL)).start()

    record = run_in_worker(spec, progress=kill_soon)
    reason = _assert_failed(record, spec)
    assert re.match(r"worker killed by signal SIGKILL \(9\) after \d+\.\d s", reason), reason


def test_a_native_crash_reports_its_signal(zoo: Zoo) -> None:
    spec = _builder_spec(zoo, "aborting_builder")
    reason = _assert_failed(run_in_worker(spec), spec)
    assert reason.startswith("worker killed by signal SIGABRT (6) after"), reason


def test_exceeding_the_memory_limit_kills_the_worker(zoo: Zoo) -> None:
    spec = dataclasses.replace(_builder_spec(zoo, "memory_hog", mb=600), mem_limit_mb=450)
    t0 = time.monotonic()
    reason = _assert_failed(run_in_worker(spec), spec)
    assert re.fullmatch(r"exceeded the memory limit of 450 MB \(RSS \d+ MB\)", reason), reason
    assert int(reason.split("RSS ")[1].split()[0]) > 450
    assert time.monotonic() - t0 < 20  # killed, not left to hold for 30 s


def test_an_exception_in_the_child_keeps_its_message(zoo: Zoo) -> None:
    spec = _builder_spec(zoo, "failing_builder", message="kaboom")
    reason = _assert_failed(run_in_worker(spec), spec)
    assert (
        reason == "InputError: builder measure.testing:failing_builder raised RuntimeError: kaboom"
    )


def test_an_invalid_spec_fails_in_the_child_with_the_reason(zoo: Zoo) -> None:
    spec = dataclasses.replace(testing.make_spec(zoo.onnx, "ort"), batch_size=0)
    reason = _assert_failed(run_in_worker(spec), spec)
    assert reason == "InputError: invalid run: batch_size must be >= 1 (got 0)"


def _fake_python(tmp_path: Path, body: str) -> str:
    """An executable standing in for the interpreter: ``$4`` is the result path."""
    script = tmp_path / "fake-python"
    script.write_text("#!/bin/sh\ncat > /dev/null\n" + body + "\n")
    script.chmod(0o755)
    return str(script)


def test_garbage_results_and_silent_exits_are_failures(zoo: Zoo, tmp_path: Path) -> None:
    spec = testing.make_spec(zoo.onnx, "ort")
    garbage = _fake_python(tmp_path, 'echo "{not json" > "$4"')
    reason = _assert_failed(run_in_worker(spec, python=garbage), spec)
    assert reason.startswith("worker wrote an unreadable result: JSONDecodeError"), reason
    other_run = _fake_python(tmp_path, 'echo \'{"run_id": "x"}\' > "$4"')
    reason = _assert_failed(run_in_worker(spec, python=other_run), spec)
    assert reason.startswith("worker wrote an unreadable result: TypeError"), reason
    silent = _fake_python(tmp_path, "exit 0")
    assert _assert_failed(run_in_worker(spec, python=silent), spec) == (
        "worker exited without writing a result"
    )
    crashing = _fake_python(tmp_path, 'echo "noise" >&2; echo "Fatal Python error: x" >&2; exit 3')
    reason = _assert_failed(run_in_worker(spec, python=crashing), spec)
    assert re.fullmatch(
        r"worker exited with status 3 after \d+\.\d s: Fatal Python error: x", reason
    )


def test_a_missing_interpreter_is_a_failed_run(zoo: Zoo, tmp_path: Path) -> None:
    spec = testing.make_spec(zoo.onnx, "ort")
    reason = _assert_failed(run_in_worker(spec, python=str(tmp_path / "no-python")), spec)
    assert reason.startswith(f"could not start the worker with {tmp_path / 'no-python'}:")


def test_an_exception_in_the_progress_callback_kills_the_worker(zoo: Zoo) -> None:
    spec = _builder_spec(zoo, "sleepy_mlp", seconds=60, where="build")
    pids: list[int] = []

    def stop(event: WorkerProgress) -> None:
        pids.append(event.pid)
        if event.stage == "loading":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_in_worker(spec, progress=stop)
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)  # gone, and reaped


def test_a_killed_worker_is_a_failed_run_and_earlier_runs_are_intact(
    zoo: Zoo, tmp_path: Path
) -> None:
    from store import Store

    store = Store(tmp_path / "s.duckdb")
    earlier = [run_in_worker(testing.make_spec(zoo.onnx, "ort", dataset=zoo.dataset))]
    earlier.append(run_in_worker(testing.make_spec(zoo.state, "torch", dataset=zoo.dataset)))
    assert [r.status for r in earlier] == ["ok", "ok"]
    store.ingest_many(earlier)

    spec = _builder_spec(zoo, "sleepy_mlp", seconds=60, where="build")

    def kill_soon(event: WorkerProgress) -> None:
        if event.stage == "loading":
            threading.Timer(0.3, os.kill, (event.pid, signal.SIGKILL)).start()

    store.ingest(run_in_worker(spec, progress=kill_soon))

    reopened = Store(store.path)
    frame = reopened.runs_frame(status=None).set_index("run_id")
    assert frame.loc[spec.run_id, "status"] == "failed"
    assert "SIGKILL" in cast(str, frame.loc[spec.run_id, "error"])
    for rec in earlier:
        assert reopened.get_record(rec.run_id) == rec


def test_three_repeats_are_three_processes_combined_into_one_record(zoo: Zoo) -> None:
    events: list[WorkerProgress] = []
    spec = dataclasses.replace(
        testing.make_spec(zoo.onnx, "ort", dataset=zoo.dataset, batch_size=4), repeats=3
    )
    record = run_in_worker(spec, progress=events.append)
    assert record.status == "ok", record.error
    assert record.run_id == spec.run_id and record.spec == spec
    # Three fresh processes, each reporting its stages with its repeat number.
    assert len({e.pid for e in events}) == 3 and os.getpid() not in {e.pid for e in events}
    assert [(e.repeat, e.stage) for e in events if e.stage in ("started", "done")] == [
        (1, "started"), (1, "done"), (2, "started"), (2, "done"), (3, "started"), (3, "done"),
    ]  # fmt: skip
    assert {e.repeats for e in events} == {3}
    lat = record.latency
    assert lat is not None and lat.ci_scope == "between-repeats" and len(lat.repeats) == 3
    medians = sorted(r.p50_ms for r in lat.repeats)
    assert lat.p50_ms == medians[1]
    assert lat.ci_low_ms <= medians[0] and medians[-1] <= lat.ci_high_ms
    assert lat.n_iter == sum(r.n_iter for r in lat.repeats)
    # Accuracy measured once, by the first repeat.
    assert [a.metric for a in record.accuracy] == ["top1", "top5"]
    assert record.accuracy[0].value > 0.8


def test_a_failed_repeat_fails_the_run_with_its_reason(zoo: Zoo, tmp_path: Path) -> None:
    counter = tmp_path / "calls.txt"
    spec = dataclasses.replace(
        _builder_spec(
            zoo, "failing_on_call", counter=str(counter), fail_on=2, message="second build broke"
        ),
        repeats=3,
    )
    record = run_in_worker(spec)
    error = _assert_failed(record, spec)
    assert error.startswith("repeat 2 of 3: ") and "second build broke" in error
    # The third repeat never started.
    assert counter.read_text().splitlines() == ["call", "call"]


def test_a_later_repeat_measures_no_accuracy(
    zoo: Zoo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import json

    from measure.worker import main
    from paretoscope.core.records import from_dict, to_dict

    spec = testing.make_spec(zoo.onnx, "ort", dataset=zoo.dataset)
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(to_dict(spec))))
    assert main(["--result", str(tmp_path / "r.json"), "--no-accuracy"]) == 0
    record = from_dict(RunRecord, json.loads((tmp_path / "r.json").read_text()))
    assert record.status == "ok", record.error
    assert record.latency is not None and record.accuracy == ()
