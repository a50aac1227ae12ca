"""Tests of energy meters against a fake powercap tree: the hardware boundary, and only it."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from measure.energy import (
    NullMeter,
    RaplMeter,
    cpu_energy_meter,
    energy_meter_for,
    rapl,
    rapl_domains,
)
from paretoscope.core.errors import MeasurementError

MAX_UJ = 262_143_328_850


def _zone(root: Path, name: str, label: str, energy_uj: int, max_uj: int = MAX_UJ) -> Path:
    zone = root / name
    zone.mkdir(parents=True)
    (zone / "name").write_text(label + "\n")
    (zone / "energy_uj").write_text(f"{energy_uj}\n")
    (zone / "max_energy_range_uj").write_text(f"{max_uj}\n")
    return zone


def _set(zone: Path, energy_uj: int) -> None:
    (zone / "energy_uj").write_text(f"{energy_uj}\n")


@pytest.fixture
def powercap(tmp_path: Path) -> dict[str, Path]:
    root = tmp_path / "powercap"
    return {
        "root": root,
        "pkg0": _zone(root, "intel-rapl:0", "package-0", 1_000_000),
        "pkg1": _zone(root, "intel-rapl:1", "package-1", 5_000_000),
        # Subzones and psys overlap the packages and must not be added in.
        "core": _zone(root, "intel-rapl:0:0", "core", 7_000_000),
        "psys": _zone(root, "intel-rapl:2", "psys", 9_000_000),
    }


def test_sums_the_package_zones_over_the_window(powercap: dict[str, Path]) -> None:
    meter = cpu_energy_meter(powercap["root"])
    assert isinstance(meter, RaplMeter)
    assert [d.name for d in meter.domains] == [
        "intel-rapl:0 (package-0)",
        "intel-rapl:1 (package-1)",
    ]
    meter.start()
    _set(powercap["pkg0"], 3_000_000)  # +2 J
    _set(powercap["pkg1"], 6_000_000)  # +1 J
    _set(powercap["core"], 99_000_000)
    _set(powercap["psys"], 99_000_000)
    time.sleep(0.01)
    stats = meter.stop(items=300)
    assert stats.source == "rapl" and stats.unavailable_reason is None
    assert stats.energy_j == pytest.approx(3.0)
    assert stats.energy_j_per_item == pytest.approx(0.01)
    assert stats.window_s is not None and stats.window_s >= 0.01
    assert stats.avg_power_w == pytest.approx(3.0 / stats.window_s)


def test_wraparound_is_corrected(tmp_path: Path) -> None:
    zone = _zone(tmp_path, "intel-rapl:0", "package-0", MAX_UJ - 400_000)
    meter = cpu_energy_meter(tmp_path)
    meter.start()
    _set(zone, 600_000)  # wrapped: 0.4 J to the top, then 0.6 J
    assert meter.stop(items=1).energy_j == pytest.approx(1.0)


def test_a_counter_that_did_not_move_is_unavailable_not_zero(tmp_path: Path) -> None:
    _zone(tmp_path, "intel-rapl:0", "package-0", 123)
    meter = cpu_energy_meter(tmp_path)
    meter.start()
    stats = meter.stop(items=10)
    assert stats.energy_j is None and stats.energy_j_per_item is None
    assert stats.unavailable_reason is not None and "did not advance" in stats.unavailable_reason


def test_no_powercap_gives_a_null_meter_with_the_reason(tmp_path: Path) -> None:
    meter = cpu_energy_meter(tmp_path / "absent")
    assert isinstance(meter, NullMeter)
    stats = meter.stop(items=5)
    assert stats.energy_j is None and stats.source is None
    assert stats.unavailable_reason == (
        f"no RAPL powercap interface at {tmp_path / 'absent'} on this host"
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    assert isinstance(cpu_energy_meter(empty), NullMeter)


def test_permission_denied_says_how_to_fix_it(
    powercap: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root can read any file, so the kernel's refusal is faked at the one
    # function that reads counters.
    def refuse(path: Path) -> int:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(rapl, "_read_counter_uj", refuse)
    meter = cpu_energy_meter(powercap["root"])
    assert isinstance(meter, NullMeter)
    assert meter.reason.startswith(
        f"permission denied reading {powercap['root'] / 'intel-rapl:0' / 'energy_uj'}; run as root"
    )
    assert "chmod a+r" in meter.reason


def test_stop_before_start_is_an_error(powercap: dict[str, Path]) -> None:
    meter = RaplMeter(rapl_domains(powercap["root"]))
    with pytest.raises(MeasurementError, match="before start"):
        meter.stop(items=1)


def test_gpu_devices_get_the_nvml_seam() -> None:
    meter = energy_meter_for("cuda:0")
    assert isinstance(meter, NullMeter) and "NVML" in meter.reason


def test_this_host_never_reports_a_zero() -> None:
    meter = cpu_energy_meter()
    meter.start()
    sum(range(200_000))
    stats = meter.stop(items=1)
    assert stats.energy_j is None or stats.energy_j > 0
    assert (stats.energy_j is None) == (stats.unavailable_reason is not None)
