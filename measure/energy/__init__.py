"""Energy over a timed window from hardware counters, or the reason none is available.

A family of meters, one module per counter source, behind one interface
(``base.EnergyMeter``): ``rapl`` reads the CPU packages' RAPL counters
through Linux powercap, ``nvml`` a GPU board's NVML total-energy counter.
``energy_meter_for(device)`` picks the meter for a run's device; missing
hardware gives a ``NullMeter`` whose windows are unavailable with the
reason, never a zero. A meter may ask for a minimum window
(``min_window_s``); the caller stretches its timed loop to it.

Importing this package reads no hardware and loads no NVML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from measure.energy.base import EnergyMeter, NullMeter, energy_stats
from measure.energy.rapl import (
    POWERCAP_ROOT,
    RaplDomain,
    RaplMeter,
    cpu_energy_meter,
    rapl_domains,
)

__all__ = [
    "POWERCAP_ROOT",
    "EnergyMeter",
    "NullMeter",
    "RaplDomain",
    "RaplMeter",
    "cpu_energy_meter",
    "energy_meter_for",
    "energy_stats",
    "rapl_domains",
]


def energy_meter_for(
    device: str,
    root: Path = POWERCAP_ROOT,
    *,
    uuid: str | None = None,
    nvml: Any | None = None,
) -> EnergyMeter:
    """The meter for a run on ``device`` (``cpu`` or ``cuda:N``).

    For ``cpu`` the RAPL meter of the powercap tree under ``root``. For
    ``cuda:N`` an ``NvmlMeter`` on that GPU (found by ``uuid`` when given),
    else a ``NullMeter`` saying why; ``nvml`` replaces the pynvml module
    (tests pass a fake). Never raises for missing hardware.
    """
    if device == "cpu":
        return cpu_energy_meter(root)
    kind, _, index_text = device.partition(":")
    if kind != "cuda" or not (index_text or "0").isdigit():
        return NullMeter(f"no energy counter is known for device {device!r}")
    from measure.energy.nvml import nvml_meter_for

    meter, reason = nvml_meter_for(int(index_text or "0"), uuid=uuid, nvml=nvml)
    if meter is None:
        return NullMeter(f"GPU energy unavailable on {device}: {reason}")
    return meter
