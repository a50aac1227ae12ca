"""Tests of the warm worker pool: real serving processes that succeed, crash, hang, bloat, stop."""

from __future__ import annotations

import dataclasses
import os
import re

import pytest

from measure import testing
from measure.executor import LocalExecutor
from measure.pool import WorkerPool
from measure.worker import WorkerProgress
from paretoscope.core.launcher import StopRequested
from paretoscope.core.records import ArtifactRef, RunRecord, RunSpec
from tests.cli.serving import alive, descendants, wait_until

from .conftest import Zoo


def _builder_spec(zoo: Zoo, builder: str, **kwargs: object) -> RunSpec:
    """A torch spec built by ``builder`` (``module:function``; bare names are measure.testing's)."""
    target = builder if ":" in builder else f"measure.testing:{builder}"
    artifact: ArtifactRef = dataclasses.replace(zoo.state, builder=target, builder_kwargs=kwargs)
    return testing.make_spec(artifact, "torch", dataset=zoo.dataset)


def _measure(pool: WorkerPool, spec: RunSpec) -> tuple[RunRecord, set[int]]:
    """The record of ``spec`` measured by ``pool``, and the pids that reported its stages."""
    events: list[WorkerProgress] = []
    record = pool.measure(spec, progress=events.append)
    return record, {e.pid for e in events}


def test_many_runs_share_a_process_and_repeats_use_different_ones(zoo: Zoo) -> None:
    with WorkerPool() as pool:
        pids: set[int] = set()
        for _ in range(4):
            record, used = _measure(pool, testing.make_spec(zoo.onnx, "ort", dataset=zoo.dataset))
            assert record.status == "ok", record.error
            assert record.accuracy and record.accuracy[0].value > 0.8
            pids |= used
        assert len(pids) == 1 and os.getpid() not in pids
        spec = dataclasses.replace(testing.make_spec(zoo.onnx, "ort"), repeats=3)
        events: list[WorkerProgress] = []
        record = pool.measure(spec, progress=events.append)
        assert record.status == "ok", record.error
        by_repeat = {e.repeat: e.pid for e in events}
        # Repeat k in slot k: three processes, the first the one the earlier runs used.
        assert len(set(by_repeat.values())) == 3 and by_repeat[1] in pids
        assert pool.started == 3
        assert record.provenance is not None
        live = list(pool.pids().values())
    assert not any(alive(pid) for pid in live)


def test_a_crash_is_a_failed_run_and_the_next_run_gets_a_fresh_process(zoo: Zoo) -> None:
    with WorkerPool() as pool:
        first, first_pids = _measure(pool, testing.make_spec(zoo.state, "torch"))
        assert first.status == "ok", first.error
        crash = _builder_spec(zoo, "aborting_builder")
        record, crash_pids = _measure(pool, crash)
        assert record.status == "failed" and record.run_id == crash.run_id
        assert record.host is not None
        assert record.error is not None and record.error.startswith(
            "worker killed by signal SIGABRT (6) after"
        ), record.error
        assert crash_pids == first_pids  # the warm process crashed
        after, after_pids = _measure(pool, testing.make_spec(zoo.state, "torch"))
        assert after.status == "ok", after.error
        assert after_pids.isdisjoint(crash_pids)
        assert after.provenance is not None
        assert after.provenance.env["worker_runs_before"] == "0"


def test_an_exception_in_a_run_is_its_reason_and_retires_the_process(zoo: Zoo) -> None:
    with WorkerPool() as pool:
        record, pids = _measure(pool, _builder_spec(zoo, "failing_builder", message="kaboom"))
        assert record.error == (
            "InputError: builder measure.testing:failing_builder raised RuntimeError: kaboom"
        )
        after, after_pids = _measure(pool, testing.make_spec(zoo.state, "torch"))
        assert after.status == "ok" and after_pids.isdisjoint(pids)


def test_a_hang_hits_the_time_limit_and_a_bloat_the_memory_limit(zoo: Zoo) -> None:
    with WorkerPool() as pool:
        warm, _ = _measure(pool, testing.make_spec(zoo.state, "torch"))
        assert warm.status == "ok", warm.error
        hang = dataclasses.replace(_builder_spec(zoo, "sleepy_mlp", seconds=60), timeout_s=3)
        record, hang_pids = _measure(pool, hang)
        assert record.status == "failed" and record.error == "timed out after 3 s"
        assert not any(alive(pid) for pid in hang_pids)
        hog = dataclasses.replace(_builder_spec(zoo, "memory_hog", mb=600), mem_limit_mb=450)
        record, hog_pids = _measure(pool, hog)
        assert record.error is not None
        assert re.fullmatch(r"exceeded the memory limit of 450 MB \(RSS \d+ MB\)", record.error)
        assert not any(alive(pid) for pid in hog_pids)
        after, _ = _measure(pool, testing.make_spec(zoo.state, "torch"))
        assert after.status == "ok", after.error


def test_cancel_kills_the_worker_and_raises(zoo: Zoo) -> None:
    spec = _builder_spec(zoo, "sleepy_mlp", seconds=60, where="build")
    events: list[WorkerProgress] = []

    with WorkerPool() as pool, pytest.raises(StopRequested):
        # Stop once the worker is in the (hanging) build.
        pool.measure(
            spec,
            progress=events.append,
            should_stop=lambda: any(e.stage == "loading" for e in events),
        )
    assert events and not alive(events[0].pid)


def test_a_small_run_after_a_big_one_reports_its_own_peak_memory(zoo: Zoo) -> None:
    with WorkerPool() as pool:
        big, big_pids = _measure(
            pool, _builder_spec(zoo, "tests.measure.builders:big_then_free", mb=500)
        )
        small, small_pids = _measure(pool, testing.make_spec(zoo.state, "torch"))
    assert big.status == small.status == "ok", (big.error, small.error)
    assert small_pids == big_pids  # the same warm process measured both
    assert big.memory is not None and small.memory is not None
    assert big.memory.peak_mem_mb is not None and small.memory.peak_mem_mb is not None
    assert big.memory.peak_mem_mb > small.memory.peak_mem_mb + 400
    assert small.memory.source == "vmhwm"


def test_the_executor_leaves_no_process_behind(zoo: Zoo) -> None:
    before = descendants(os.getpid())  # what earlier tests of this process left is not ours
    specs = [testing.make_spec(zoo.onnx, "ort") for _ in range(3)]
    specs.append(testing.make_spec(zoo.state, "torch"))
    records: list[RunRecord] = []
    LocalExecutor().run(specs, records.append)
    assert [r.status for r in records] == ["ok"] * 4
    assert [r.provenance.env["worker_runs_before"] for r in records if r.provenance] == [
        "0", "1", "2", "0",
    ]  # fmt: skip
    assert wait_until(lambda: descendants(os.getpid()) <= before, 5)

    def boom(record: RunRecord) -> None:
        raise RuntimeError("the caller failed")

    with pytest.raises(RuntimeError, match="the caller failed"):
        LocalExecutor().run(specs[:2], boom)
    assert wait_until(lambda: descendants(os.getpid()) <= before, 5)


def test_prestarted_workers_measure_the_runs_and_a_stop_while_starting_kills_them(
    zoo: Zoo,
) -> None:
    before = descendants(os.getpid())
    ort = testing.make_spec(zoo.onnx, "ort")
    torch = dataclasses.replace(testing.make_spec(zoo.state, "torch"), repeats=2)
    with WorkerPool() as pool:
        pool.prestart([ort, torch, testing.make_spec(zoo.onnx, "ort")])
        started = pool.pids()
        assert set(started) == {
            ("ort", "cpu", 1, 1), ("torch", "cpu", 1, 1), ("torch", "cpu", 1, 2),
        }  # fmt: skip
        assert pool.started == 3
        record, pids = _measure(pool, torch)
        assert record.status == "ok", record.error
        assert pids == {started[("torch", "cpu", 1, 1)], started[("torch", "cpu", 1, 2)]}
        assert pool.started == 3
    with WorkerPool() as pool, pytest.raises(StopRequested):
        pool.prestart([ort, torch], should_stop=lambda: True)
    assert pool.pids() == {}
    assert wait_until(lambda: descendants(os.getpid()) <= before, 5)
