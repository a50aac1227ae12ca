"""Tests of resident-memory readings: real ones from /proc, and the parsing and fallbacks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from measure.memory import current_rss_mb, memory_stats, peak_rss_mb, process_rss_mb

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
