"""GPU energy from NVML's total-energy counter, cross-checked by sampled power draw.

Energy comes from ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since the
driver loaded; Volta and newer) read at both ends of the timed window.
The counter moves in steps, so ``NvmlMeter`` probes its update period,
aligns the window's start with an update, and asks for a window long enough
that one step at the end is a small fraction of it (``min_window_s``).
While the window runs, a thread samples the board's power draw; the mean
of those samples is kept in provenance as a cross-check of the counter.
Like ``measure.devices.nvml``, everything takes the NVML module as an argument, so
tests pass a fake.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from measure.devices.nvml import handle_for, load_nvml
from measure.energy.base import EnergyMeter, energy_stats
from paretoscope.core.records import EnergyStats

__all__ = [
    "MIN_WINDOW_S",
    "NvmlMeter",
    "PowerSamples",
    "nvml_meter_for",
    "probe_update_period_s",
]

# The shortest energy window we accept, and how many counter steps it must
# span at least: with steps of period T, the end of the window is uncertain
# by up to one step, so MIN_COUNTER_STEPS = 20 bounds that error at 5%.
MIN_WINDOW_S = 1.0
MIN_COUNTER_STEPS = 20
MAX_WINDOW_S = 10.0
SAMPLE_INTERVAL_S = 0.02
_NVML_FI_DEV_POWER_INSTANT = 186


def _try(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception:  # NVMLError_NotSupported and friends: the counter cannot say
        return None


def probe_update_period_s(
    read_mj: Callable[[], int],
    *,
    timeout_s: float = 0.5,
    clock: Callable[[], float] = time.perf_counter,
) -> float | None:
    """Seconds between two updates of an energy counter, by polling it; None if it never moved.

    Waits for one change (to start on an edge) and times the next; gives up
    after ``timeout_s``. An idle GPU still draws tens of watts, so a working
    counter moves within a few tens of milliseconds.
    """
    deadline = clock() + timeout_s
    first = read_mj()
    while (value := read_mj()) == first:
        if clock() > deadline:
            return None
    edge = clock()
    while read_mj() == value:
        if clock() > deadline:
            return None
    return clock() - edge


@dataclass
class PowerSamples:
    """Power draw sampled during the energy window (W), with where the numbers came from."""

    source: str  # "nvml field POWER_INSTANT" | "nvmlDeviceGetPowerUsage"
    watts: list[float] = field(default_factory=list)

    def provenance(self) -> dict[str, str]:
        """The cross-check as provenance ``env`` entries (strings)."""
        if not self.watts:
            return {"nvml_power_samples": "0", "nvml_power_source": self.source}
        mean = sum(self.watts) / len(self.watts)
        return {
            "nvml_power_samples": str(len(self.watts)),
            "nvml_power_source": self.source,
            "nvml_power_mean_w": f"{mean:.2f}",
            "nvml_power_min_w": f"{min(self.watts):.2f}",
            "nvml_power_max_w": f"{max(self.watts):.2f}",
        }


def _instant_power_reader(nvml: Any, handle: Any) -> Callable[[], float] | None:
    """A reader of NVML's instantaneous power field (W), or None where the GPU lacks it."""
    if not hasattr(nvml, "nvmlDeviceGetFieldValues"):
        return None

    def read() -> float:
        (value,) = nvml.nvmlDeviceGetFieldValues(handle, [_NVML_FI_DEV_POWER_INSTANT])
        if int(getattr(value, "nvmlReturn", 0)) != 0:
            raise RuntimeError("POWER_INSTANT not supported")
        v = value.value
        kind = int(getattr(value, "valueType", 1))
        raw = {0: "dVal", 1: "uiVal", 2: "ulVal", 3: "ullVal", 4: "sllVal", 5: "siVal"}[kind]
        return float(getattr(v, raw)) / 1000.0  # mW

    try:
        read()
    except Exception:
        return None
    return read


class NvmlMeter(EnergyMeter):
    """GPU energy over a window from NVML's total-energy counter, cross-checked by power samples.

    ``min_window_s`` is the shortest window this meter accepts; the caller
    stretches its timed loop to at least that. ``stop`` returns unavailable
    (with the reason) when the counter did not move or the window was too
    short for its resolution. ``provenance()`` gives the last window's
    power samples and counter facts as ``env`` entries.
    """

    def __init__(
        self,
        nvml: Any,
        handle: Any,
        *,
        sample_interval_s: float = SAMPLE_INTERVAL_S,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._nvml = nvml
        self._handle = handle
        self._clock = clock
        self._interval = sample_interval_s
        self.update_period_s = probe_update_period_s(self._read_mj, clock=clock)
        period = self.update_period_s or 0.0
        self.min_window_s = min(max(MIN_WINDOW_S, MIN_COUNTER_STEPS * period), MAX_WINDOW_S)
        instant = _instant_power_reader(nvml, handle)
        if instant is not None:
            self._read_w, source = instant, "nvml field POWER_INSTANT"
        else:
            self._read_w = lambda: int(nvml.nvmlDeviceGetPowerUsage(handle)) / 1000.0
            source = "nvmlDeviceGetPowerUsage"
        self.samples = PowerSamples(source)
        self._start_mj: int | None = None
        self._start_s = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _read_mj(self) -> int:
        return int(self._nvml.nvmlDeviceGetTotalEnergyConsumption(self._handle))

    def _sample(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.samples.watts.append(self._read_w())
            except Exception:
                return

    def start(self) -> None:
        """Wait for the counter's next update (so the window starts on one), then read it."""
        first = self._read_mj()
        deadline = self._clock() + 2 * (self.update_period_s or 0.0)
        value = first
        while value == first and self._clock() < deadline:
            value = self._read_mj()
        self._start_mj, self._start_s = value, self._clock()
        self.samples = PowerSamples(self.samples.source)
        self._stop.clear()
        self._thread = threading.Thread(target=self._sample, name="nvml-power", daemon=True)
        self._thread.start()

    def stop(self, items: int) -> EnergyStats:
        """Energy since ``start()`` in J; unavailable with the reason when it cannot be trusted."""
        end_mj = _try(self._read_mj)
        window_s = self._clock() - self._start_s
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._start_mj is None:
            return EnergyStats.unavailable("NvmlMeter.stop() was called before start()")
        start_mj, self._start_mj = self._start_mj, None
        if end_mj is None:
            return EnergyStats.unavailable("the NVML energy counter became unreadable")
        return energy_stats(
            (end_mj - start_mj) / 1000.0,
            window_s,
            items,
            source="nvml",
            counter="the NVML energy counter",
            min_window_s=self.min_window_s,
        )

    def provenance(self) -> dict[str, str]:
        """The last window's cross-check and counter facts, as ``env`` entries."""
        out = self.samples.provenance()
        out["nvml_energy_update_period_ms"] = (
            f"{self.update_period_s * 1000:.1f}" if self.update_period_s else "unknown"
        )
        out["nvml_energy_min_window_s"] = f"{self.min_window_s:.2f}"
        return out


def nvml_meter_for(
    index: int, uuid: str | None = None, nvml: Any | None = None
) -> tuple[NvmlMeter | None, str | None]:
    """An ``NvmlMeter`` for GPU ``index`` (torch's numbering), or None and the reason.

    ``nvml`` is the module to use (a fake in tests); None loads ``pynvml``.
    """
    reason: str | None = None
    if nvml is None:
        nvml, reason = load_nvml()
        if nvml is None:
            return None, reason
    try:
        handle = handle_for(nvml, index, uuid)
    except Exception as err:
        return None, f"NVML has no GPU {index}: {err}"
    try:
        nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    except Exception as err:
        return None, f"this GPU has no NVML energy counter (Volta or newer needed): {err}"
    return NvmlMeter(nvml, handle), None
