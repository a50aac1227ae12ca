"""The Profile page on a real GPU host: it offers ``cuda:0`` and a job submitted there runs on it.

Marked ``gpu``: skipped where torch sees no CUDA GPU. Nothing is faked: the device
list comes from the driver, and the job runs in a worker process on the GPU.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from paretoscope.profiling import devices, form
from store import Store
from tests.app_pages.test_profile_page import open_page, upload_model
from tests.gpu.conftest import cuda_available

pytestmark = pytest.mark.gpu


@pytest.fixture(autouse=True)
def _needs_cuda() -> None:
    if not cuda_available():
        pytest.skip("no CUDA GPU here")


def test_the_page_offers_cuda_and_a_job_runs_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from measure.testing import export_onnx, tiny_mlp

    model = tmp_path / "tiny.onnx"
    export_onnx(tiny_mlp(), model, np.zeros((2, 64), dtype=np.float32))
    # The test runs the job itself, in this process's worker pool, instead of a runner.
    monkeypatch.setattr(jobrunner, "ensure_runner", lambda store, **_: 0)
    monkeypatch.delenv(devices.SCHEDULER_ENV, raising=False)
    # examples/h200/page.sh keeps the store to serve it and take the page's screenshot.
    store = Store(Path(os.environ.get("PARETOSCOPE_GPU_PAGE_STORE") or tmp_path / "gpu.duckdb"))
    at = upload_model(open_page(store, monkeypatch), "m.onnx", model.read_bytes())
    choice = at.multiselect(key="profile.devices")
    assert "cuda:0" in list(choice.options), list(choice.options)
    at.radio(key="profile.eval").set_value("None: efficiency only").run()
    at.multiselect(key="profile.devices").set_value(["cuda:0"])
    at.radio(key="profile.budget").set_value(form.BUDGETS[1])
    at.number_input(key="profile.repeats").set_value(1)
    at.button(key="profile.submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (job,) = jobs.list_jobs(store)
    assert job.request["devices"] == ["cuda:0"]

    claimed = jobs.claim_next_job(store)
    assert claimed is not None and jobrunner.run_job(store, claimed) is not None
    rows = store.runs_frame(status=None).to_dict("records")
    assert [r["device"] for r in rows] == ["cuda:0"]
    (run,) = rows
    assert run["status"] == "ok", run["error"]
    assert run["job_id"] == job.job_id and str(run["device_name"]).startswith("NVIDIA")
    assert run["energy_j_per_item"] > 0 and run["peak_mem_mb"] > 0
    what = f"{run['device']} {run['device_name']} {run['runtime']} {run['precision']}"
    print(
        f"\npage offered {list(choice.options)}; job {job.job_id} -> {what}: "
        f"p50 {run['latency_ms_p50']:.4f} ms, energy {run['energy_j_per_item']:.5f} J/item, "
        f"peak {run['peak_mem_mb']:.0f} MB"
    )
