"""Tests of memory readings: real resident memory from /proc, parsing and fallbacks, and device
memory from a fake NVML (the vendor boundary) or the reason it is unavailable."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from measure import profile
from measure.memory import (
    current_rss_mb,
    device_memory_probe,
    memory_stats,
    peak_rss_mb,
    process_rss_mb,
)
from measure.runtimes.base import Session
from paretoscope.core.records import MEMORY_SOURCES, DeviceInfo
from tests.gpu.fake_nvml import FakeGpu, FakeNvml, FakeNvmlError

linux_only = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")


@linux_only
def test_peak_tracks_a_real_allocation() -> None:
    before, source = peak_rss_mb()
    assert source == "vmhwm"
    block = np.ones(150_000_000 // 8)  # 150 MB, every page touched
    after, _ = peak_rss_mb()
    current = current_rss_mb()
    assert current is not None
    assert after >= before
    assert after >= current >= block.nbytes / 1e6
    del block


@linux_only
def test_units_are_decimal_megabytes(tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Name:\tx\nVmHWM:\t  1000 kB\nVmRSS:\t   500 kB\n")
    assert peak_rss_mb(status) == (1.024, "vmhwm")
    assert current_rss_mb(status) == pytest.approx(0.512)
    stats = memory_stats(0.25, status)
    assert (stats.peak_mem_mb, stats.baseline_mem_mb, stats.source) == (1.024, 0.25, "vmhwm")


def test_fallback_without_proc(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    peak, source = peak_rss_mb(missing)
    assert source == "ru_maxrss" and peak > 0
    assert current_rss_mb(missing) is None


@linux_only
def test_vmhwm_starts_afresh_in_a_child_process() -> None:
    # The reason VmHWM is used: after exec a child reports its own peak, not ours.
    hog = np.ones(300_000_000 // 8)  # make this process's peak large
    code = "from measure.memory import peak_rss_mb; print(peak_rss_mb()[0])"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert float(out.stdout) < peak_rss_mb()[0] - 200
    del hog


@linux_only
def test_rss_of_another_process() -> None:
    assert (process_rss_mb(os.getpid()) or 0) > 10
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert process_rss_mb(child.pid) is None  # reaped: no /proc entry


def _gpu_device(index: int = 0, uuid: str = "11111111-2222-3333-4444-555555555555") -> DeviceInfo:
    return DeviceInfo(f"h:cuda:{uuid}", "h", "cuda", "NVIDIA H100 80GB HBM3", index)


def test_nvml_per_process_memory_is_the_device_peak() -> None:
    gpu = FakeGpu(processes=[(4242, 9_000_000_000)])  # another process: not ours
    probe = device_memory_probe(_gpu_device(), nvml=FakeNvml(gpu))
    me = os.getpid()
    for used in (500_000_000, 812_000_000, 700_000_000):  # loaded, timed, evaluated
        gpu.processes = [(4242, 9_000_000_000), (me, used)]
        probe.sample()
    stats, notes = probe.stats(baseline_mem_mb=150.0, peak_host_mem_mb=900.0)
    assert (stats.peak_mem_mb, stats.source) == (812.0, "nvml-process")
    assert stats.source in MEMORY_SOURCES
    assert len(notes) == 1 and "CUDA context included" in notes[0]
    # Host memory stays under its own key, never under peak_mem_mb.
    assert (stats.peak_host_mem_mb, stats.baseline_mem_mb) == (900.0, 150.0)
    assert stats.unavailable_reason is None


def test_without_this_process_in_nvml_the_free_memory_drop_is_used() -> None:
    # In a container NVML lists host process ids, so it never lists ours.
    gpu = FakeGpu(memory_used=600_000_000, processes=[(1, 5_000_000_000)])
    probe = device_memory_probe(_gpu_device(), nvml=FakeNvml(gpu))  # reads free memory now
    for used in (1_100_000_000, 1_400_000_000, 1_300_000_000):
        gpu.memory_used = used
        probe.sample()
    stats, notes = probe.stats(baseline_mem_mb=None, peak_host_mem_mb=700.0)
    assert stats.source == "cuda-meminfo"
    assert stats.peak_mem_mb == pytest.approx(800.0)  # 1400 MB used at peak, 600 before
    assert stats.peak_host_mem_mb == 700.0
    (note,) = notes
    assert "other processes" in note and "NVML" in note


class _SilentNvml(FakeNvml):
    """An NVML that finds the GPU but answers no memory query."""

    def nvmlDeviceGetMemoryInfo(self, handle: object) -> SimpleNamespace:
        raise FakeNvmlError("Not Supported")

    def nvmlDeviceGetComputeRunningProcesses(self, handle: object) -> list[SimpleNamespace]:
        raise FakeNvmlError("Not Supported")


def test_no_device_memory_reader_gives_none_with_the_reason_not_host_memory() -> None:
    probe = device_memory_probe(_gpu_device(), nvml=_SilentNvml())
    probe.sample()
    stats, _ = probe.stats(baseline_mem_mb=100.0, peak_host_mem_mb=950.0)
    assert stats.peak_mem_mb is None and stats.source is None
    assert stats.peak_host_mem_mb == 950.0
    assert stats.unavailable_reason is not None
    assert stats.unavailable_reason.startswith("device memory was not measured: NVML did not list")


def test_a_gpu_nvml_does_not_know_is_unavailable_with_the_reason(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # no second reader either
    probe = device_memory_probe(_gpu_device(index=3, uuid="3"), nvml=FakeNvml())
    probe.sample()
    stats, _ = probe.stats(None, 500.0)
    assert stats.peak_mem_mb is None
    assert stats.unavailable_reason is not None and "NVML has no GPU 3" in stats.unavailable_reason


def test_without_nvml_or_torch_cuda_the_reason_names_both(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import fails, as without nvidia-ml-py
    monkeypatch.setitem(sys.modules, "torch", None)
    probe = device_memory_probe(_gpu_device())
    probe.sample()
    stats, _ = probe.stats(None, 500.0)
    assert stats.peak_mem_mb is None and stats.source is None
    reason = stats.unavailable_reason or ""
    assert "nvidia-ml-py" in reason and "torch with CUDA" in reason


def test_an_ort_gpu_session_never_reports_host_memory_as_device_memory() -> None:
    """``profile._memory`` for a session without allocator statistics, on a (fake) GPU."""
    gpu = FakeGpu()
    probe = device_memory_probe(_gpu_device(), nvml=FakeNvml(gpu))
    gpu.processes = [(os.getpid(), 321_000_000)]

    class NoAllocatorStats(Session):
        def run(self, batch: Mapping[str, np.ndarray]) -> np.ndarray:
            raise NotImplementedError

        def step_fn(self, batch: Mapping[str, np.ndarray]) -> Callable[[], object]:
            raise NotImplementedError

    stats, _ = profile._memory(NoAllocatorStats(), 120.0, probe)
    assert (stats.peak_mem_mb, stats.source) == (321.0, "nvml-process")
    assert stats.peak_host_mem_mb is not None and stats.peak_host_mem_mb > 10
    assert stats.peak_host_mem_mb == pytest.approx(peak_rss_mb()[0], rel=0.05)
    cpu, _ = profile._memory(NoAllocatorStats(), 120.0, None)
    assert cpu.source == "vmhwm" and cpu.peak_mem_mb == cpu.peak_host_mem_mb
