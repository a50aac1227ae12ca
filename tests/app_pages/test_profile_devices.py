"""The Profile page's device choice: only what this host (or a configured cluster) offers.

A GPU is faked only at the hardware boundary: the device list the NVIDIA
driver gives (``devices.offered_devices``) and onnxruntime's providers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from paretoscope.profiling import devices, form
from store import Store
from tests.app_pages.test_profile_page import open_page, text, upload_model


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from measure.testing import export_onnx, tiny_mlp

    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    export_onnx(tiny_mlp(), path, np.zeros((2, 64), dtype=np.float32))
    return path.read_bytes()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "profile.duckdb")


def test_the_page_offers_only_this_hosts_devices(
    store: Store, monkeypatch: pytest.MonkeyPatch, tiny_onnx: bytes
) -> None:
    monkeypatch.delenv(devices.SCHEDULER_ENV, raising=False)
    at = upload_model(open_page(store, monkeypatch), "m.onnx", tiny_onnx)
    choice = at.multiselect(key="profile.devices")
    assert list(choice.options) == list(devices.offered_devices())
    assert choice.value == ["cpu"]
    if devices.offered_devices() == ("cpu",):  # this host: no GPU
        assert list(choice.options) == ["cpu"]
        assert "CPU only" in text(at)


def test_a_job_submitted_with_a_device_carries_it_to_its_runs(
    store: Store, monkeypatch: pytest.MonkeyPatch, tiny_onnx: bytes, launches: list[Store]
) -> None:
    monkeypatch.delenv(devices.SCHEDULER_ENV, raising=False)
    monkeypatch.setattr(devices, "offered_devices", lambda: ("cpu", "cuda:0"))
    monkeypatch.setattr(devices, "ort_providers", lambda: ("CPUExecutionProvider",))
    at = upload_model(open_page(store, monkeypatch), "m.onnx", tiny_onnx)
    assert list(at.multiselect(key="profile.devices").options) == ["cpu", "cuda:0"]
    at.radio(key="profile.eval").set_value("None: efficiency only").run()
    at.multiselect(key="profile.devices").set_value(["cpu", "cuda:0"])
    at.radio(key="profile.budget").set_value(form.BUDGETS[1])
    at.number_input(key="profile.repeats").set_value(1)
    at.button(key="profile.submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (job,) = jobs.list_jobs(store)
    assert job.request["devices"] == ["cpu", "cuda:0"]
    assert "cpu, cuda:0" in job.title and "2 run(s)" in job.title

    claimed = jobs.claim_next_job(store)
    assert claimed is not None
    done = jobrunner.run_job(store, claimed)
    assert done is not None
    frame = store.runs_frame(status=None)
    rows = {r["device"]: r for r in frame.to_dict("records")}
    assert set(rows) == {"cpu", "cuda:0"} and len(frame) == 2
    assert rows["cpu"]["status"] == "ok"
    assert rows["cuda:0"]["status"] == "failed"
    assert "install onnxruntime-gpu" in rows["cuda:0"]["error"]
    assert set(frame["job_id"]) == {job.job_id}


def test_with_a_cluster_the_page_offers_a_gpu_and_says_it_cannot_list_the_workers(
    store: Store, monkeypatch: pytest.MonkeyPatch, tiny_onnx: bytes
) -> None:
    monkeypatch.setenv(devices.SCHEDULER_ENV, "tcp://127.0.0.1:1")
    at = upload_model(open_page(store, monkeypatch), "m.onnx", tiny_onnx)
    options = list(at.multiselect(key="profile.devices").options)
    assert options[0] == "cpu" and "cuda:0" in options
    assert "does not list the workers' devices" in text(at)
    assert "gpu-h200" in text(at)


def test_device_choices_as_data() -> None:
    assert form.device_choices(("cpu",), cluster=False)[0] == ("cpu",)
    choices, caption = form.device_choices(("cpu", "cuda:0", "cuda:1"), cluster=False)
    assert choices == ("cpu", "cuda:0", "cuda:1") and "cuda:1" in caption
    assert form.device_choices(("cpu", "cuda:0"), cluster=True)[0] == ("cpu", "cuda:0")


def test_the_scheduler_setting_is_the_clusters() -> None:
    from measure.cluster.executor import SCHEDULER_ENV

    assert devices.SCHEDULER_ENV == SCHEDULER_ENV
