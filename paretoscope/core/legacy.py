"""Bring records written by earlier versions up to today's meaning, honestly.

Used on every ingest (measured, spooled, imported from a bundle), so a store
never holds two meanings under one key. Nothing is guessed: a figure that
measured something else moves to the key for that quantity and the old key
is left empty with the reason; an interval is added only where it follows
from stored counts alone.
"""

from __future__ import annotations

import dataclasses

from paretoscope.core.intervals import wilson_interval
from paretoscope.core.records import AccuracyResult, MemoryStats, RunRecord

__all__ = ["HOST_MEMORY_SOURCES", "LEGACY_MEMORY_SOURCES", "upgrade_record"]

# Source names of the first releases -> today's ``MEMORY_SOURCES`` keys.
LEGACY_MEMORY_SOURCES: dict[str, str] = {
    "VmHWM": "vmhwm",
    "torch.cuda.max_memory_allocated": "torch-allocator",
}
# Sources that measure the host process, not a device.
HOST_MEMORY_SOURCES = frozenset({"vmhwm", "ru_maxrss"})
_PROPORTIONS = frozenset({"top1", "top5"})

NOT_DEVICE_MEMORY = (
    "device memory was not measured: this run was recorded before Paretoscope measured "
    "device memory for this runtime, and its figure was the host process's resident set "
    "(now in peak_host_mem_mb)"
)


def upgrade_record(rec: RunRecord) -> RunRecord:
    """``rec`` with legacy memory sources renamed and moved, and accuracy intervals filled."""
    memory = _upgrade_memory(rec.memory, rec.spec.device) if rec.memory else None
    accuracy = tuple(_upgrade_accuracy(a) for a in rec.accuracy)
    if memory == rec.memory and accuracy == rec.accuracy:
        return rec
    return dataclasses.replace(rec, memory=memory, accuracy=accuracy)


def _upgrade_memory(mem: MemoryStats, device: str) -> MemoryStats:
    source = LEGACY_MEMORY_SOURCES.get(mem.source or "", mem.source)
    if source in HOST_MEMORY_SOURCES:
        host_mb = mem.peak_host_mem_mb if mem.peak_host_mem_mb is not None else mem.peak_mem_mb
        if device != "cpu":
            # A host resident set stored under a GPU run's device-memory key.
            return dataclasses.replace(
                mem,
                peak_mem_mb=None,
                source=None,
                peak_host_mem_mb=host_mb,
                unavailable_reason=mem.unavailable_reason or NOT_DEVICE_MEMORY,
            )
        return dataclasses.replace(mem, source=source, peak_host_mem_mb=host_mb)
    return dataclasses.replace(mem, source=source)


def _upgrade_accuracy(acc: AccuracyResult) -> AccuracyResult:
    if (
        acc.ci_low is not None
        or acc.metric not in _PROPORTIONS
        or acc.origin != "measured"
        or acc.n_samples <= 0
        or not 0.0 <= acc.value <= 1.0
    ):
        return acc
    correct = round(acc.value * acc.n_samples)
    low, high = wilson_interval(correct, acc.n_samples)
    return dataclasses.replace(acc, ci_low=low, ci_high=high)
