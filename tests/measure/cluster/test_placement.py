"""Placing runs on devices, worker-side file checks and the worker task, without a cluster."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from measure import cluster, testing
from measure.cluster import (
    ALL_DEVICES,
    device_map,
    executor_from_env,
    materialise,
    place,
    resource_name,
    task,
)
from measure.executor import LocalExecutor
from paretoscope.core.errors import InputError
from paretoscope.core.records import RunRecord, from_dict, to_dict

from .conftest import Models, onnx_with_external_data

WORKERS = {
    "worker-a": {"cpu": 1.0, "dev-a": 1.0},
    "worker-b": {"cpu": 1.0, "gpu": 2.0, "gpu-h100-80gb-hbm3": 2.0},
}


def test_gpu_names_become_resource_names() -> None:
    assert resource_name("cpu", "AMD EPYC 7B13") == "cpu"
    assert resource_name("cuda", "NVIDIA H100 80GB HBM3") == "gpu-h100-80gb-hbm3"
    assert resource_name("cuda", "Tesla T4") == "gpu-tesla-t4"
    assert resource_name("cuda", "  ") == "gpu"


def test_a_device_kind_target_places_each_spec_once(models: Models) -> None:
    specs = [testing.make_spec(models.state, "torch") for _ in range(2)]
    placed, refused = place(specs, WORKERS, "gpu-h100-80gb-hbm3")
    assert refused == []
    assert [p.spec for p in placed] == specs  # same run ids: nothing fanned out
    assert {(p.resource, p.worker, p.slot) for p in placed} == {("gpu-h100-80gb-hbm3", None, 0)}


def test_every_device_fans_out_one_run_per_device_with_stable_ids(models: Models) -> None:
    spec = testing.make_spec(models.state, "torch")
    placed, refused = place([spec], WORKERS, ALL_DEVICES)
    assert refused == []
    slots = [(p.worker, p.resource, p.slot) for p in placed]
    # The generic "gpu" resource names the same GPUs again: not counted twice.
    assert slots == [
        ("worker-a", "cpu", 0),
        ("worker-a", "dev-a", 0),
        ("worker-b", "cpu", 0),
        ("worker-b", "gpu-h100-80gb-hbm3", 0),
        ("worker-b", "gpu-h100-80gb-hbm3", 1),
    ]
    ids = [p.spec.run_id for p in placed]
    assert len(set(ids)) == 5 and spec.run_id not in ids
    again, _ = place([spec], WORKERS, ALL_DEVICES)
    assert [p.spec.run_id for p in again] == ids  # placing again gives the same ids
    assert placed[3].key == "gpu-h100-80gb-hbm3 @ worker-b"


def test_a_device_no_worker_offers_is_refused_with_the_reason(models: Models) -> None:
    cpu = testing.make_spec(models.state, "torch")
    gpu = testing.make_spec(models.state, "torch")
    gpu = type(gpu)(**{**gpu.__dict__, "device": "cuda:0"})
    placed, refused = place([cpu, gpu], {"worker-a": {"cpu": 1.0}})
    assert [p.resource for p in placed] == ["cpu"]
    assert [s for s, _ in refused] == [gpu]
    assert "no worker of the Dask cluster offers the device resource 'gpu'" in refused[0][1]
    assert "offered: cpu" in refused[0][1]


def test_a_spec_whose_device_names_a_kind_goes_to_the_workers_offering_it(
    models: Models,
) -> None:
    base = testing.make_spec(models.state, "torch")
    specs = [
        dataclasses.replace(base, run_id=f"r{i}", device=device)
        for i, device in enumerate(["cpu", "cuda:1", "dev-a", "gpu-h100-80gb-hbm3", "gpu-h200"])
    ]
    placed, refused = place(specs, WORKERS)
    # A sweep over several kinds: each run keeps its id and asks for its own kind.
    assert [(p.spec.run_id, p.resource, p.key) for p in placed] == [
        ("r0", "cpu", "cpu"),
        ("r1", "gpu", "gpu"),
        ("r2", "dev-a", "dev-a"),
        ("r3", "gpu-h100-80gb-hbm3", "gpu-h100-80gb-hbm3"),
    ]
    assert [s.run_id for s, _ in refused] == ["r4"]
    assert "offers the device resource 'gpu-h200'" in refused[0][1]


def test_device_map_offers_the_cpu_and_named_aliases() -> None:
    mapping = device_map(["cpu"], {"dev-a": "cpu"})
    assert mapping == {"cpu": ["cpu"], "dev-a": ["cpu"]}
    assert cluster.worker_resources(mapping) == {"cpu": 1.0, "dev-a": 1.0}
    with pytest.raises(InputError, match="unknown device 'tpu:0'"):
        device_map(["cpu", "tpu:0"])


def test_the_devices_command_prints_what_a_worker_would_offer(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cluster.main(["devices", "--devices", "cpu", "--resource", "lab-cpu=cpu"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["resources"] == {"cpu": 1.0, "lab-cpu": 1.0}
    assert cluster.main(["devices", "--resource", "bad name=cpu"]) == 2
    assert "use NAME=DEVICE" in capsys.readouterr().err


def test_shipped_files_are_checked_by_sha256(tmp_path: Path) -> None:
    blob = b"model bytes"
    digest = hashlib.sha256(blob).hexdigest()
    path = materialise(blob, digest, ".onnx", tmp_path)
    assert path == tmp_path / f"{digest}.onnx" and path.read_bytes() == blob
    assert materialise(None, digest, ".onnx", tmp_path) == path  # cached: nothing to send
    path.write_bytes(b"corrupted on disk")
    assert materialise(blob, digest, ".onnx", tmp_path).read_bytes() == blob  # replaced
    with pytest.raises(InputError, match="expected"):
        materialise(b"other bytes", "0" * 64, ".onnx", tmp_path)
    with pytest.raises(InputError, match="not a sha256"):
        materialise(blob, "../../etc/passwd", "", tmp_path)


def test_the_worker_task_fails_the_run_on_a_hash_mismatch(
    models: Models, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cluster.CACHE_ENV, str(tmp_path))
    monkeypatch.setenv(cluster.DEVICES_ENV, json.dumps({"cpu": ["cpu"]}))
    spec = testing.make_spec(models.state, "torch")
    result = cluster.profile_task(json.dumps(to_dict(spec)), "cpu", 0, b"not the model", None)
    record = from_dict(RunRecord, result["record"])
    assert record.run_id == spec.run_id and record.status == "failed"
    assert record.error is not None and "it changed or was corrupted in transit" in record.error
    assert "on Dask worker local (cpu)" in record.error


def test_the_worker_task_says_when_a_runtime_or_device_is_missing(
    models: Models, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cluster.CACHE_ENV, str(tmp_path))
    monkeypatch.setenv(cluster.DEVICES_ENV, json.dumps({"cpu": ["cpu"]}))
    spec_json = json.dumps(to_dict(testing.make_spec(models.state, "torch")))
    blob = Path(models.state.path).read_bytes()

    def error(resource: str) -> str:
        result = cluster.profile_task(spec_json, resource, 0, blob, None)
        record = from_dict(RunRecord, result["record"])
        assert record.status == "failed" and record.error is not None
        return record.error

    assert "this worker has no device for resource 'gpu-a100'" in error("gpu-a100")
    # The software boundary: this worker's Python "lacks" torch.
    monkeypatch.setitem(task._RUNTIME_MODULE, "torch", "torch_is_not_installed_here")
    assert "runtime 'torch' unavailable: torch_is_not_installed_here is not installed" in error(
        "cpu"
    )


def test_the_executor_comes_from_the_flag_or_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(cluster.SCHEDULER_ENV, raising=False)
    assert isinstance(executor_from_env(None), LocalExecutor)
    chosen = executor_from_env("tcp://10.0.0.1:8786")
    assert isinstance(chosen, cluster.DaskExecutor) and chosen.address == "tcp://10.0.0.1:8786"
    monkeypatch.setenv(cluster.SCHEDULER_ENV, "tcp://lab:8786")
    chosen = executor_from_env(None)
    assert isinstance(chosen, cluster.DaskExecutor) and chosen.address == "tcp://lab:8786"


def test_demo_measures_on_the_cluster_named_by_the_flag(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from paretoscope import cli
    from paretoscope.profiling import demo

    seen: dict[str, object] = {}

    def fake_run_demo(store: object, **kwargs: object) -> str:
        seen.update(kwargs)
        return "nothing measured"

    monkeypatch.setattr(demo, "run_demo", fake_run_demo)
    monkeypatch.delenv(cluster.SCHEDULER_ENV, raising=False)
    store = str(tmp_path / "s.duckdb")
    assert cli.main(["demo", "--store", store, "--cluster", "tcp://lab:8786"]) == 0
    chosen = seen["executor"]
    assert isinstance(chosen, cluster.DaskExecutor) and chosen.address == "tcp://lab:8786"
    assert cli.main(["demo", "--store", store]) == 0
    assert isinstance(seen["executor"], LocalExecutor)


def test_an_unreachable_scheduler_is_an_actionable_error() -> None:
    from paretoscope.core.errors import UnavailableError

    executor = cluster.DaskExecutor("tcp://127.0.0.1:9", connect_timeout_s=1)
    with pytest.raises(
        UnavailableError, match=r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:9"
    ):
        executor.run([], lambda record: None)


def test_an_onnx_model_travels_with_its_external_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "source"
    source.mkdir()
    artifact = testing.artifact_ref(onnx_with_external_data(source), "onnx")
    found = cluster.external_data(artifact)
    assert [(rel, path.name) for rel, path in found] == [("weights.bin", "weights.bin")]

    monkeypatch.setenv(cluster.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv(cluster.DEVICES_ENV, json.dumps({"cpu": ["cpu"]}))
    weights = (source / "weights.bin").read_bytes()
    extras = [("weights.bin", hashlib.sha256(weights).hexdigest(), weights)]
    spec = testing.make_spec(artifact, "ort", name="external")
    blob = Path(artifact.path).read_bytes()
    result = cluster.profile_task(json.dumps(to_dict(spec)), "cpu", 0, blob, None, extras)
    record = from_dict(RunRecord, result["record"])
    assert record.status == "ok", record.error
    # Measured from the worker's copies, which sit together in its cache.
    assert (tmp_path / "cache" / "artifacts" / f"{artifact.sha256}.d" / "weights.bin").is_file()

    bad = [("../weights.bin", extras[0][1], weights)]
    result = cluster.profile_task(json.dumps(to_dict(spec)), "cpu", 0, blob, None, bad)
    record = from_dict(RunRecord, result["record"])
    assert record.status == "failed" and "not inside the model folder" in (record.error or "")
