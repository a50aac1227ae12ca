"""A profile sweep on a real two-worker Dask cluster: its runs measured side by side, stored once.

The workers (``conftest.make_cluster``) offer the CPU and a device of their
own, ``dev-a`` and ``dev-b``, both mapped to the CPU: the only fake is that
label, at the hardware boundary. Each worker measures one run at a time, so
overlapping runs can only come from the two workers working at once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import psutil
import pytest

from measure import testing
from measure.cluster import SCHEDULER_ENV, DaskExecutor
from measure.executor import Progress
from paretoscope.core.launcher import StopRequested
from paretoscope.core.records import RunRecord, to_dict
from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from paretoscope.jobs.device_progress import read_device_progress
from paretoscope.profiling import ProfileRequest, run_profile
from paretoscope.profiling.run import ProfileProgress
from store import Store
from tests.profiling import onnx_models

from .conftest import Cluster, Models

pytestmark = pytest.mark.slow


def _interval(record: RunRecord) -> tuple[datetime, datetime]:
    return datetime.fromisoformat(record.started_at), datetime.fromisoformat(record.finished_at)


def _overlap(a: Sequence[RunRecord], b: Sequence[RunRecord]) -> bool:
    """Whether some run of ``a`` was being measured while some run of ``b`` was."""
    for ra in a:
        sa, ea = _interval(ra)
        for rb in b:
            sb, eb = _interval(rb)
            if sa < eb and sb < ea:
                return True
    return False


def _by_worker(records: Sequence[RunRecord]) -> dict[str, list[RunRecord]]:
    out: dict[str, list[RunRecord]] = {}
    for r in records:
        assert r.provenance is not None, r.error
        out.setdefault(r.provenance.env["dask_worker"], []).append(r)
    return out


def _measuring_children(pids: Sequence[int]) -> list[int]:
    """The ``measure.worker`` processes under the given Dask worker processes."""
    found = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(pid).children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    if "measure.worker" in " ".join(child.cmdline()):
                        found.append(child.pid)
    return found


def test_a_sweep_runs_on_both_workers_at_once_and_each_run_is_stored_once(
    make_cluster: Callable[[], Cluster],
    models: Models,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster: Cluster = make_cluster()
    store = Store(tmp_path / "runs.duckdb")
    model = onnx_models.regressor(
        tmp_path / "reg.onnx", np.random.default_rng(0).normal(size=(16, 1))
    )

    # 1. `profile --cluster`'s path: run_profile hands the whole sweep over at once.
    request = ProfileRequest(
        model_path=str(model),
        batches=(1, 2, 4, 8),
        budget=testing.QUICK_BUDGET,
        repeats=2,  # each run's repeats stay together, in one task on one worker
        timeout_s=120.0,
    )
    events: list[ProfileProgress] = []
    executor = DaskExecutor(client=cluster.client)
    summary = run_profile(store, request, on_progress=events.append, executor=executor)

    assert summary.ok, str(summary)
    records = [store.get_record(run_id) for run_id in summary.run_ids]
    assert all(r is not None and r.status == "ok" for r in records), records
    stored = [r for r in records if r is not None]
    # Each run stored exactly once: four planned, four ids, four rows.
    assert len(set(summary.run_ids)) == len(summary.run_ids) == 4
    assert store.run_count() == 4
    assert sorted(r.spec.batch_size for r in stored) == [1, 2, 4, 8]
    for r in stored:
        assert r.latency is not None
        assert len(r.latency.repeats) == 2  # both repeats of the run, combined into one record
    workers = _by_worker(stored)
    assert sorted(workers) == ["worker-a", "worker-b"], {k: len(v) for k, v in workers.items()}
    assert _overlap(workers["worker-a"], workers["worker-b"]), [_interval(r) for r in stored]
    # Progress per device, the steps counted per repeat.
    last = events[-1]
    assert (last.done, last.total, last.phase) == (8, 8, "done")
    with_devices = [e for e in events if e.per_device]
    assert with_devices and with_devices[-1].per_device == {"cpu": (4, 4)}
    assert "cpu 4/4" in with_devices[-1].label

    # 2. Runs of several device kinds: each goes to the worker offering its kind, and
    # the two kinds are measured at the same time.
    onnx = testing.artifact_ref(model, "onnx")
    specs = [
        dataclasses.replace(testing.make_spec(onnx, "ort", name=f"kind-{i}"), device=device)
        for i, device in enumerate(["dev-a", "dev-b", "dev-a", "dev-b"])
    ]
    kept: list[RunRecord] = []
    progress: list[Progress] = []

    def keep(record: RunRecord) -> None:
        kept.append(record)
        store.ingest(record)

    executor.run(specs, keep, progress.append)
    assert sorted(r.run_id for r in kept) == sorted(s.run_id for s in specs)
    assert all(r.status == "ok" for r in kept), [r.error for r in kept]
    placed = {
        r.run_id: (r.provenance.env["dask_worker"], r.provenance.env["dask_resource"])
        for r in kept
        if r.provenance is not None
    }
    owner = {"dev-a": "worker-a", "dev-b": "worker-b"}
    wanted = {s.run_id: (owner[s.device], s.device) for s in specs}
    assert placed == wanted
    assert progress[-1].per_device == {"dev-a": (2, 2), "dev-b": (2, 2)}
    by = _by_worker(kept)
    assert _overlap(by["worker-a"], by["worker-b"]), [_interval(r) for r in kept]
    assert store.run_count() == 8

    # 3. Cancel: the runs in flight are killed on both workers, nothing more is stored.
    # Each run builds its model for 10 minutes under a 2-minute limit: only the stop
    # (not the run finishing, nor its time limit) can end it within the wait below.
    sleepy = dataclasses.replace(models.sleepy, builder_kwargs={"seconds": 600.0, "where": "build"})
    slow = [testing.make_spec(sleepy, "torch", name=f"slow-{i}", timeout_s=120.0) for i in range(4)]
    stop = threading.Event()
    failure: list[BaseException] = []
    got: list[RunRecord] = []

    def run() -> None:
        try:
            executor.run(slow, got.append, should_stop=stop.is_set)
        except BaseException as err:  # the StopRequested is checked below
            failure.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    pids = list(cluster.worker_pids().values())
    deadline = time.monotonic() + 120
    while len(_measuring_children(pids)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    children = _measuring_children(pids)
    assert len(children) >= 2, "both workers should be measuring a run"
    stop.set()
    thread.join(timeout=60)
    assert not thread.is_alive()
    assert len(failure) == 1 and isinstance(failure[0], StopRequested), failure
    assert got == []  # none could have finished
    deadline = time.monotonic() + 30
    while any(psutil.pid_exists(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = [p for p in children if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert alive == [], "the runs in flight are killed, not finished for nobody"
    executor.close()
    assert store.run_count() == 8

    # 4. A dashboard job on the cluster: the runner hands its sweep over at once too,
    # and writes the per-device progress the Jobs view draws.
    job_request = dataclasses.replace(request, batches=(1, 2), repeats=1)
    job = jobs.submit_job(store, to_dict(job_request), title="on the cluster")
    claimed = jobs.claim_next_job(store)
    assert claimed is not None and claimed.job_id == job.job_id
    monkeypatch.setenv(SCHEDULER_ENV, cluster.address)
    ended = jobrunner.run_job(store, claimed)
    assert ended is not None and ended.status == "done", ended
    assert ended.runs_ok == 2 and len(set(ended.run_ids)) == 2
    assert store.run_count() == 10
    assert read_device_progress(store, job.job_id) == {"cpu": (2, 2)}
