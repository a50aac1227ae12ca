"""A job's progress per device: the file the runner writes and the bars the Jobs view draws."""

from __future__ import annotations

import json
from pathlib import Path

from paretoscope.jobs.device_progress import (
    DeviceProgressFile,
    device_progress_path,
    read_device_progress,
)
from paretoscope.present.device_progress import device_bars, devices_text
from store import Store


def test_per_device_progress_is_written_when_it_changes_and_read_back(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    assert read_device_progress(store, "job1") == {}  # nothing written yet
    writer = DeviceProgressFile(store, "job1")
    writer.update({})  # a local executor reports no devices: no file
    path = device_progress_path(store, "job1")
    assert path is not None and not path.exists()

    writer.update({"gpu-h200": (1, 4), "cpu": (0, 4)})
    assert read_device_progress(store, "job1") == {"cpu": (0, 4), "gpu-h200": (1, 4)}
    written = path.stat().st_mtime_ns
    writer.update({"cpu": (0, 4), "gpu-h200": (1, 4)})  # unchanged: not written again
    assert path.stat().st_mtime_ns == written
    writer.update({"cpu": (4, 4), "gpu-h200": (4, 4)})
    assert read_device_progress(store, "job1") == {"cpu": (4, 4), "gpu-h200": (4, 4)}
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".tmp-")]


def test_an_odd_id_or_a_damaged_file_gives_no_bars(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    assert device_progress_path(store, "../escape") is None
    DeviceProgressFile(store, "../escape").update({"cpu": (1, 2)})  # ignored, no file
    assert read_device_progress(store, "../escape") == {}
    path = device_progress_path(store, "job2")
    assert path is not None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json")
    assert read_device_progress(store, "job2") == {}
    path.write_text(json.dumps({"devices": {"cpu": [1, 2], "bad": [1], "neg": [-1, 2], "x": "y"}}))
    assert read_device_progress(store, "job2") == {"cpu": (1, 2)}


def test_one_bar_per_device_with_its_share() -> None:
    bars = device_bars({"gpu-h200": (3, 8), "cpu": (8, 8), "empty": (0, 0), "odd": (1,)})
    assert [(b.device, b.done, b.total, b.fraction) for b in bars] == [
        ("cpu", 8, 8, 1.0),
        ("gpu-h200", 3, 8, 0.375),
    ]
    assert [b.text for b in bars] == ["cpu: 8/8 runs", "gpu-h200: 3/8 runs"]
    assert devices_text({"gpu-h200": (3, 8), "cpu": (8, 8)}) == "cpu 8/8 · gpu-h200 3/8"
    assert devices_text({}) == ""
