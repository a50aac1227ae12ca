"""A real Dask cluster for the cluster tests: an in-process scheduler and worker processes.

Workers are started with the project's own entry (``python -m measure.cluster
worker``), each offering the CPU plus a device resource of its own
(``dev-a``, ``dev-b``) that it maps to its CPU: the only fake is that label, at
the hardware boundary. Start-up waits generously, because the test machine
is small and shared.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from measure import testing
from paretoscope.core.records import ArtifactRef, DatasetRef

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[3]
START_TIMEOUT_S = 120


@dataclass
class Cluster:
    """A scheduler, a client, and the worker processes by name."""

    address: str
    client: Any
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def worker_pids(self) -> dict[str, int]:
        """The pid of each worker's Dask worker process (the nanny's child), by worker name."""
        pids = self.client.run(os.getpid)
        names = {a: str(w["name"]) for a, w in self.client.scheduler_info()["workers"].items()}
        return {names[a]: pid for a, pid in pids.items() if a in names}


@dataclass(frozen=True)
class Models:
    """A tiny MLP's weights under two builders, and a labelled evaluation set."""

    state: ArtifactRef  # measure.testing:tiny_mlp
    sleepy: ArtifactRef  # sleeps while building: a run that takes seconds
    dataset: DatasetRef


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    root = tmp_path_factory.mktemp("cluster-models")
    path = testing.save_state(testing.tiny_mlp(), root / "mlp.pt")
    _, _, x_eval, y_eval = testing.digits_split(n_eval=100)
    data = testing.write_dataset(root / "eval.npz", x_eval, y_eval)
    return Models(
        state=testing.artifact_ref(path, "torch-state", builder="measure.testing:tiny_mlp"),
        sleepy=testing.artifact_ref(
            path,
            "torch-state",
            builder="measure.testing:sleepy_mlp",
            builder_kwargs={"seconds": 4.0, "where": "build"},
        ),
        dataset=testing.dataset_ref(data),
    )


def onnx_with_external_data(folder: Path) -> Path:
    """A 64→10 linear ONNX classifier whose weights sit in ``weights.bin`` beside it."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    weight = numpy_helper.from_array(rng.normal(size=(64, 10)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["logits"])],
        "linear",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = folder / "linear.onnx"
    onnx.save_model(
        model, str(path), save_as_external_data=True, location="weights.bin", size_threshold=0
    )
    return path


def _start_worker(
    address: str, name: str, device: str, cache: Path, log: Path
) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "measure.cluster", "worker",
        "--scheduler", address, "--name", name,
        "--devices", "cpu", "--resource", f"{device}=cpu",
        "--cache-dir", str(cache),
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[Callable[[], Cluster]]:
    """Start a cluster with workers ``worker-a`` (cpu, dev-a) and ``worker-b`` (cpu, dev-b)."""
    started: list[tuple[Any, Cluster]] = []

    def make() -> Cluster:
        local = distributed.LocalCluster(
            n_workers=0, processes=True, dashboard_address=None, silence_logs=40
        )
        client = distributed.Client(local.scheduler_address, set_as_default=False)
        cluster = Cluster(local.scheduler_address, client)
        started.append((local, cluster))
        for name, device in (("worker-a", "dev-a"), ("worker-b", "dev-b")):
            cluster.workers[name] = _start_worker(
                cluster.address,
                name,
                device,
                tmp_path / f"cache-{name}",
                tmp_path / f"{name}.log",
            )
        client.wait_for_workers(2, timeout=START_TIMEOUT_S)
        return cluster

    yield make
    for local, cluster in started:
        for proc in cluster.workers.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in cluster.workers.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        cluster.client.close()
        local.close()
