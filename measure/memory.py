"""Memory of a run, in MB (10^6 bytes): host resident memory, and device memory on a GPU.

Peak memory comes from ``VmHWM`` in ``/proc/self/status``: the kernel resets
it when a process execs, so a fresh worker reports only its own peak, and a
warm worker that measures many runs resets it before each run
(``reset_peak_rss``: writing ``5`` to ``/proc/self/clear_refs``), so each
run's peak is its own, not an earlier run's. The
fallback ``ru_maxrss`` is not reset by exec on Linux (the child inherits the
parent's high-water mark), so it overstates a worker forked from a large
parent; it is used only where /proc is missing, and the source is recorded.

Device memory of a runtime without allocator statistics (ONNX Runtime's CUDA
provider) is sampled by a ``DeviceMemoryProbe``: NVML's per-process figure
(``nvml-process``), else the drop in free device memory since before the
session existed (``cuda-meminfo``), else nothing, with the reason.
"""

from __future__ import annotations

import ctypes
import os
import resource
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paretoscope.core.records import DeviceInfo, MemoryStats

__all__ = [
    "BYTES_PER_MB",
    "DeviceMemoryProbe",
    "current_rss_mb",
    "device_memory_probe",
    "memory_stats",
    "peak_rss_mb",
    "process_rss_mb",
    "reset_peak_rss",
    "trim_heap",
]

BYTES_PER_MB = 1_000_000
_SELF_STATUS = Path("/proc/self/status")


def _status_field_kb(status_path: Path, field: str) -> int | None:
    """The ``field`` line of a /proc status file in kB (the kernel's kB are KiB), or None."""
    try:
        text = status_path.read_text()
    except OSError:
        return None
    prefix = field + ":"
    for line in text.splitlines():
        if line.startswith(prefix):
            parts = line[len(prefix) :].split()
            if parts and parts[0].isdigit():
                return int(parts[0])
    return None


def _ru_maxrss_mb() -> float:
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    scale = 1 if sys.platform == "darwin" else 1024
    return maxrss * scale / BYTES_PER_MB


def peak_rss_mb(status_path: Path = _SELF_STATUS) -> tuple[float, str]:
    """Peak resident set of this process in MB, and its source (``vmhwm`` or ``ru_maxrss``).

    Sources are keys of ``core.records.MEMORY_SOURCES``.
    """
    kib = _status_field_kb(status_path, "VmHWM")
    if kib is not None:
        return kib * 1024 / BYTES_PER_MB, "vmhwm"
    return _ru_maxrss_mb(), "ru_maxrss"


def reset_peak_rss(clear_refs: Path = Path("/proc/self/clear_refs")) -> bool:
    """Reset this process's ``VmHWM`` to its current resident set; whether that worked.

    Linux 4.0+ resets the peak when ``5`` is written to ``clear_refs``. Where
    it cannot (no /proc, an older kernel, a sandbox), the peak would carry an
    earlier run's high-water mark, so a warm worker then stops after each run.
    """
    try:
        clear_refs.write_text("5")
    except OSError:
        return False
    return True


def trim_heap() -> None:
    """Give the C heap's free pages back to the kernel (glibc's ``malloc_trim``); else nothing.

    Called between two runs of a warm worker, so that memory the last run
    freed does not stay resident and count in the next run's baseline.
    """
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        return


def current_rss_mb(status_path: Path = _SELF_STATUS) -> float | None:
    """Current resident set of this process in MB, or None where /proc is missing."""
    kib = _status_field_kb(status_path, "VmRSS")
    return None if kib is None else kib * 1024 / BYTES_PER_MB


def process_rss_mb(pid: int, proc_root: Path = Path("/proc")) -> float | None:
    """Current resident set of process ``pid`` in MB; None when it has exited or /proc is missing.

    Counts that process only, not its children.
    """
    return current_rss_mb(proc_root / str(pid) / "status")


def memory_stats(baseline_mem_mb: float | None, status_path: Path = _SELF_STATUS) -> MemoryStats:
    """``MemoryStats`` of a CPU run in this process now: its peak so far, against the baseline.

    On a CPU the device memory is the host's, so ``peak_mem_mb`` and
    ``peak_host_mem_mb`` are the same figure.
    """
    peak, source = peak_rss_mb(status_path)
    return MemoryStats(
        peak_mem_mb=peak,
        baseline_mem_mb=baseline_mem_mb,
        source=source,
        peak_host_mem_mb=peak,
    )


Reader = Callable[[], float | None]


class DeviceMemoryProbe:
    """Peak device memory of this process on one GPU, from samples taken at chosen moments.

    ``process_mb`` reads the device memory in use by this process (NVML; its
    CUDA context included); ``free_mb`` reads the GPU's free memory. Create
    the probe before the session (``start`` reads the free memory it begins
    from), ``sample`` after loading, after the timed loop and after
    evaluation; allocators such as onnxruntime's arena keep what they grew
    to, so those moments see the peak. Readers that fail return None.
    """

    def __init__(
        self,
        process_mb: Reader | None,
        free_mb: Reader | None,
        free_reader: str = "",
        unavailable: str = "",
    ) -> None:
        self._process_mb = process_mb
        self._free_mb = free_mb
        self.free_reader = free_reader
        self._unavailable = unavailable
        self._baseline_free: float | None = None
        self._process: list[float] = []
        self._free: list[float] = []

    def start(self) -> None:
        """Read the free device memory before the session exists (the ``cuda-meminfo`` zero)."""
        if self._free_mb is not None:
            self._baseline_free = self._free_mb()

    def sample(self) -> None:
        """Read both figures now; a reader's None is skipped."""
        if self._process_mb is not None:
            used = self._process_mb()
            if used is not None:
                self._process.append(used)
        if self._free_mb is not None:
            free = self._free_mb()
            if free is not None:
                self._free.append(free)

    def stats(
        self, baseline_mem_mb: float | None, peak_host_mem_mb: float | None
    ) -> tuple[MemoryStats, list[str]]:
        """``MemoryStats`` from the samples so far, and notes on how to read the figure.

        NVML's per-process figure wins; then the drop in free memory; else
        ``peak_mem_mb`` is None with the reason. Never the host's memory.
        """
        if self._process:
            peak = max(self._process)
            notes = [
                "device memory: NVML's figure for this process at its highest sample (after "
                "loading, timing and evaluation), its CUDA context included"
            ]
            return MemoryStats(peak, baseline_mem_mb, "nvml-process", None, peak_host_mem_mb), notes
        if self._baseline_free is not None and self._free:
            drop = max(0.0, self._baseline_free - min(self._free))
            notes = [
                "device memory: the drop in the GPU's free memory since before the session was "
                f"created ({self.free_reader}); memory other processes took on this GPU "
                "meanwhile counts too, and the CUDA context counts when this run created it"
            ]
            return MemoryStats(drop, baseline_mem_mb, "cuda-meminfo", None, peak_host_mem_mb), notes
        reason = "device memory was not measured: " + (
            self._unavailable or "no reader of device memory answered"
        )
        stats = MemoryStats(None, baseline_mem_mb, None, None, peak_host_mem_mb, reason)
        return stats, []


def device_memory_probe(device: DeviceInfo, nvml: Any | None = None) -> DeviceMemoryProbe:
    """A started ``DeviceMemoryProbe`` for the CUDA ``device`` this process is about to use.

    NVML (``nvml``: pynvml or a fake; None loads pynvml) gives the
    per-process figure and free memory; without NVML, free memory comes from
    torch (``torch.cuda.mem_get_info``) where torch has CUDA. Never raises.
    """
    from measure.devices.nvml import free_memory_mb, handle_for, load_nvml, process_memory_mb

    why: list[str] = []
    if nvml is None:
        nvml, reason = load_nvml()
        if reason:
            why.append(reason)
    if nvml is not None:
        uuid = device.device_id.rpartition(":cuda:")[2]
        try:
            handle = handle_for(nvml, device.index, None if uuid.isdigit() else uuid)
        except Exception as err:
            why.append(f"NVML has no GPU {device.index}: {err}")
        else:
            pid = os.getpid()
            probe = DeviceMemoryProbe(
                lambda: process_memory_mb(nvml, handle, pid),
                lambda: free_memory_mb(nvml, handle),
                "NVML's free device memory, the figure cudaMemGetInfo reports",
                f"NVML did not list this process (pid {pid}) with its memory on the GPU, nor "
                "report the GPU's free memory",
            )
            probe.start()
            return probe
    free = _torch_free_mb(device.index)
    if free is None:
        why.append("torch with CUDA cannot read free device memory here either")
        return DeviceMemoryProbe(None, None, unavailable="; ".join(why))
    probe = DeviceMemoryProbe(None, free, "torch.cuda.mem_get_info (cudaMemGetInfo)")
    probe.start()
    return probe


def _torch_free_mb(index: int) -> Reader | None:
    """A reader of free device memory through torch, or None where torch has no CUDA."""
    try:
        import torch

        if not torch.cuda.is_available():
            return None
    except Exception:  # ImportError, or a broken CUDA install
        return None

    def free() -> float | None:
        try:
            return float(torch.cuda.mem_get_info(index)[0]) / BYTES_PER_MB
        except Exception:
            return None

    return free
