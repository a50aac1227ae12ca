"""Records of earlier versions are upgraded honestly: moved, never guessed."""

from __future__ import annotations

import dataclasses

import pytest

from paretoscope.core.intervals import wilson_interval
from paretoscope.core.legacy import NOT_DEVICE_MEMORY, upgrade_record
from paretoscope.core.records import AccuracyResult, MemoryStats
from tests.factories import make_record


def _legacy(device: str, source: str, runtime: str = "ort"):  # type: ignore[no-untyped-def]
    rec = make_record(runtime=runtime)
    spec = dataclasses.replace(rec.spec, device=device)
    return dataclasses.replace(
        rec,
        spec=spec,
        memory=MemoryStats(912.5, 300.0, source),
        accuracy=(AccuracyResult("top1", 0.9, "ds", 450),),
    )


def test_gpu_run_with_host_rss_moves_it_to_host_memory() -> None:
    up = upgrade_record(_legacy("cuda:0", "VmHWM"))
    assert up.memory is not None
    assert up.memory.peak_mem_mb is None and up.memory.source is None
    assert up.memory.peak_host_mem_mb == 912.5
    assert up.memory.unavailable_reason == NOT_DEVICE_MEMORY


def test_cpu_run_keeps_its_figure_under_both_keys() -> None:
    up = upgrade_record(_legacy("cpu", "VmHWM"))
    assert up.memory is not None
    assert (up.memory.peak_mem_mb, up.memory.peak_host_mem_mb, up.memory.source) == (
        912.5,
        912.5,
        "vmhwm",
    )


def test_torch_gpu_run_keeps_device_memory_and_names_the_allocator() -> None:
    up = upgrade_record(_legacy("cuda:0", "torch.cuda.max_memory_allocated", "torch"))
    assert up.memory is not None
    assert (up.memory.peak_mem_mb, up.memory.source) == (912.5, "torch-allocator")
    assert up.memory.peak_host_mem_mb is None  # not measured then: never guessed


def test_accuracy_interval_follows_from_value_and_count() -> None:
    up = upgrade_record(_legacy("cpu", "VmHWM"))
    acc = up.accuracy[0]
    assert (acc.ci_low, acc.ci_high) == pytest.approx(wilson_interval(405, 450))


def test_upgrade_is_idempotent() -> None:
    once = upgrade_record(_legacy("cuda:0", "VmHWM"))
    assert upgrade_record(once) == once
