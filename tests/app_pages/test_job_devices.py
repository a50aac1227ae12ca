"""The Jobs list draws a sweep's progress per device (a job measured on a Dask cluster)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paretoscope.jobs import queue as jobs
from paretoscope.jobs.device_progress import DeviceProgressFile
from store import Store
from tests.app_pages.hostile import shown
from tests.app_pages.test_profile_page import open_page, text


def test_a_running_job_has_one_bar_per_device_and_a_finished_one_a_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(tmp_path / "devices.duckdb")
    running = jobs.submit_job(store, {}, title="on two kinds")
    assert jobs.claim_next_job(store) is not None
    jobs.report_progress(store, running.job_id, 3, 8, "on 2 devices: cpu 2/4 · gpu-h200 1/4")
    DeviceProgressFile(store, running.job_id).update({"cpu": (2, 4), "gpu-h200": (1, 4)})
    done = jobs.submit_job(store, {}, title="finished")
    assert jobs.claim_next_job(store) is not None
    DeviceProgressFile(store, done.job_id).update({"cpu": (2, 2), "gpu-h200": (2, 2)})
    jobs.finish_job(store, done.job_id, "done", "4 of 4 run(s) ok", runs_ok=4)

    at = open_page(store, monkeypatch)
    bars = [b.proto for b in at.get("progress")]
    assert [shown(b.text) for b in bars] == [
        "3/8 — on 2 devices: cpu 2/4 · gpu-h200 1/4",
        "cpu: 2/4 runs",
        "gpu-h200: 1/4 runs",
    ]
    assert [b.value for b in bars[1:]] == [50, 25]
    assert "Runs per device: cpu: 2/2 runs · gpu-h200: 2/2 runs" in text(at)
