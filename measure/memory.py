"""Resident memory of a process, in MB (10^6 bytes), from /proc with a portable fallback.

Peak memory comes from ``VmHWM`` in ``/proc/self/status``: the kernel resets
it when a process execs, so a fresh worker reports only its own peak. The
fallback ``ru_maxrss`` is not reset by exec on Linux (the child inherits the
parent's high-water mark), so it overstates a worker forked from a large
parent; it is used only where /proc is missing, and the source is recorded.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

from paretoscope.core.records import MemoryStats

__all__ = [
    "BYTES_PER_MB",
    "current_rss_mb",
    "memory_stats",
    "peak_rss_mb",
    "process_rss_mb",
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
