"""Profiling on a real local Dask cluster of two worker processes, into one store."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from measure import testing
from measure.cluster import ALL_DEVICES, DaskExecutor, place
from measure.executor import Progress
from paretoscope.core.records import RunRecord
from store import Store

from .conftest import Cluster, Models, onnx_with_external_data

pytestmark = pytest.mark.slow


def test_a_job_fans_out_to_every_device_and_lands_in_the_store(
    make_cluster: Callable[[], Cluster], models: Models, tmp_path: Path
) -> None:
    cluster: Cluster = make_cluster()
    store = Store(tmp_path / "runs.duckdb")
    spec = testing.make_spec(models.state, "torch", dataset=models.dataset)
    progress: list[Progress] = []
    DaskExecutor(client=cluster.client, target=ALL_DEVICES).run(
        [spec], store.ingest, progress.append
    )

    records = store.records()
    assert len(records) == 4 and all(r.status == "ok" for r in records), [r.error for r in records]
    placed = sorted(
        (r.provenance.env["dask_worker"], r.provenance.env["dask_resource"])
        for r in records
        if r.provenance
    )
    assert placed == [
        ("worker-a", "cpu"),
        ("worker-a", "dev-a"),
        ("worker-b", "cpu"),
        ("worker-b", "dev-b"),
    ]
    for r in records:
        # The device each worker mapped its resource to, measured there, with the
        # caller's file paths kept and the accuracy measured on the shipped set.
        assert r.spec.device == "cpu" and r.device is not None and r.device.kind == "cpu"
        assert r.spec.artifact.path == models.state.path
        assert r.accuracy and r.accuracy[0].n_samples == models.dataset.n_samples
    last = progress[-1]
    assert (last.done, last.total, last.current, last.stage) == (4, 4, None, "done")
    assert last.per_device == {
        "cpu @ worker-a": (1, 1),
        "cpu @ worker-b": (1, 1),
        "dev-a @ worker-a": (1, 1),
        "dev-b @ worker-b": (1, 1),
    }

    # One device kind: only the worker offering it; a kind nobody offers, and a
    # file changed since it was registered, are failed runs that say why.
    one = testing.make_spec(models.state, "torch")
    DaskExecutor(client=cluster.client, target="dev-b").run([one], store.ingest)
    got = store.get_record(one.run_id)
    assert got is not None and got.status == "ok" and got.provenance is not None
    assert got.provenance.env["dask_worker"] == "worker-b"

    nowhere = testing.make_spec(models.state, "torch")
    DaskExecutor(client=cluster.client, target="gpu-h100").run([nowhere], store.ingest)
    got = store.get_record(nowhere.run_id)
    assert got is not None and got.status == "failed" and got.error is not None
    assert "no worker of the Dask cluster offers the device resource 'gpu-h100'" in got.error

    changed = testing.make_spec(
        dataclasses.replace(models.state, sha256="0" * 64), "torch", name="changed"
    )
    DaskExecutor(client=cluster.client).run([changed], store.ingest)
    got = store.get_record(changed.run_id)
    assert got is not None and got.status == "failed" and got.error is not None
    assert "the file changed after it was added" in got.error

    # An ONNX model whose weights are a file beside it travels with that file.
    folder = tmp_path / "external"
    folder.mkdir()
    external = testing.make_spec(
        testing.artifact_ref(onnx_with_external_data(folder), "onnx"), "ort", name="external"
    )
    DaskExecutor(client=cluster.client, target="dev-a").run([external], store.ingest)
    got = store.get_record(external.run_id)
    assert got is not None and got.status == "ok", got and got.error

    # The fanned-out ids are stable, so a batch placed again and delivered again
    # stores nothing twice.
    again = [p.spec.run_id for p in place([spec], workers_of(cluster), ALL_DEVICES)[0]]
    assert sorted(again) == sorted(r.run_id for r in records)
    store.ingest_many(records)
    assert store.run_count() == 8


def workers_of(cluster: Cluster) -> dict[str, dict[str, float]]:
    info = cluster.client.scheduler_info(n_workers=-1)["workers"]
    return {str(w["name"]): dict(w["resources"]) for w in info.values()}


def _kill_tree(pid: int) -> None:
    """SIGKILL a worker process and the measuring children it started, as a dying machine would."""
    proc = psutil.Process(pid)
    family = [proc, *proc.children(recursive=True)]
    for p in family:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p.pid, signal.SIGKILL)


def test_a_worker_killed_mid_run_loses_nothing_and_stores_nothing_twice(
    make_cluster: Callable[[], Cluster], models: Models, tmp_path: Path
) -> None:
    cluster: Cluster = make_cluster()
    store = Store(tmp_path / "runs.duckdb")
    # Each run builds its model for 4 s: long enough to be killed in the middle.
    specs = [testing.make_spec(models.sleepy, "torch", name=f"sleepy-{i}") for i in range(4)]
    records: list[RunRecord] = []
    failure: list[BaseException] = []

    def on_result(record: RunRecord) -> None:
        records.append(record)
        store.ingest(record)

    def run() -> None:
        try:
            DaskExecutor(client=cluster.client, target="cpu").run(specs, on_result)
        except BaseException as err:  # surfaced below, in the test's thread
            failure.append(err)

    thread = threading.Thread(target=run)
    thread.start()
    victim, interrupted = None, []
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:
        time.sleep(0.2)
        names = {a: str(w["name"]) for a, w in cluster.client.scheduler_info()["workers"].items()}
        for address, keys in cluster.client.processing().items():
            if keys and address in names:
                victim, interrupted = names[address], [str(k) for k in keys]
                break
    assert victim is not None, "no worker started a run within 120 s"
    time.sleep(1.5)  # into the run: the measuring child is importing torch or building
    pid = cluster.worker_pids()[victim]
    _kill_tree(pid)

    thread.join(timeout=300)
    assert not thread.is_alive() and not failure, failure
    assert sorted(r.run_id for r in records) == sorted(s.run_id for s in specs)
    assert all(r.status == "ok" for r in records), [r.error for r in records]
    assert store.run_count() == 4 and store.run_count(status="ok") == 4
    # The run that was killed was measured again, and the nanny restarted the worker.
    assert {f"paretoscope-run-{r.run_id}" for r in records} >= set(interrupted)
    assert cluster.worker_pids().get(victim, pid) != pid
