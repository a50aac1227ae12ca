"""NVIDIA GPUs through NVML (nvidia-ml-py's ``pynvml``): discovery, state, and an energy meter.

Every function takes the NVML module as an argument (``nvml``), so tests pass
a fake with the same function names and CI needs no GPU; ``load_nvml()``
imports and initialises the real one lazily. Nothing here imports torch.

Energy comes from ``nvmlDeviceGetTotalEnergyConsumption`` (mJ since the
driver loaded; Volta and newer) read at both ends of the timed window.
The counter moves in steps, so ``NvmlMeter`` probes its update period,
aligns the window's start with an update, and asks for a window long enough
that one step at the end is a small fraction of it (``min_window_s``).
While the window runs, a thread samples the board's power draw; the mean
of those samples is kept in provenance as a cross-check of the counter.
"""

from __future__ import annotations

import importlib
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from paretoscope.core.records import EnergyStats

__all__ = [
    "MIN_WINDOW_S",
    "NvmlMeter",
    "PowerSamples",
    "gpu_info",
    "gpu_state",
    "handle_for",
    "load_nvml",
    "nvml_meter_for",
    "other_processes_warning",
    "probe_update_period_s",
]

# The shortest energy window we accept, and how many counter steps it must
# span at least: with steps of period T, the end of the window is uncertain
# by up to one step, so MIN_COUNTER_STEPS = 20 bounds that error at 5%.
MIN_WINDOW_S = 1.0
MIN_COUNTER_STEPS = 20
MAX_WINDOW_S = 10.0
SAMPLE_INTERVAL_S = 0.02
# NVML constants, by value, so a fake module need not define them.
_NVML_CLOCK_GRAPHICS = 0
_NVML_CLOCK_SM = 1
_NVML_CLOCK_MEM = 2
_NVML_TEMPERATURE_GPU = 0
_NVML_FI_DEV_POWER_INSTANT = 186


def load_nvml() -> tuple[Any | None, str | None]:
    """The initialised ``pynvml`` module, or None and the reason it is unusable here."""
    try:
        pynvml = importlib.import_module("pynvml")
    except ImportError:
        return None, "NVML is not reachable: nvidia-ml-py (pynvml) is not installed"
    try:
        pynvml.nvmlInit()
    except Exception as err:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return None, f"NVML could not start: {err}"
    return pynvml, None


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def handle_for(nvml: Any, index: int, uuid: str | None = None) -> Any:
    """The NVML handle of the GPU torch calls ``cuda:index`` (its UUID when torch gave one).

    By UUID the match survives ``CUDA_VISIBLE_DEVICES`` reordering; without
    one, NVML's index is used, which equals torch's only when all GPUs are
    visible in PCI order. Raises NVML's error when there is no such GPU.
    """
    if uuid:
        name = uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}"
        try:
            return nvml.nvmlDeviceGetHandleByUUID(name)
        except Exception:
            pass
    return nvml.nvmlDeviceGetHandleByIndex(index)


def _try(read: Callable[[], Any]) -> Any:
    try:
        return read()
    except Exception:  # NVMLError_NotSupported and friends: leave the field out
        return None


def _call(nvml: Any, name: str, *args: Any) -> Any:
    """``nvml.name(*args)``, or None where NVML lacks the function or refuses the query."""
    try:
        return getattr(nvml, name)(*args)
    except Exception:
        return None


def gpu_info(nvml: Any, handle: Any) -> dict[str, Any]:
    """Static facts of one GPU: name, memory (MB), driver and CUDA versions, limits.

    Keys present only when NVML answers: ``name``, ``memory_mb``,
    ``driver_version``, ``cuda_driver_version`` (the highest CUDA the driver
    supports), ``compute_capability``, ``power_limit_w`` (enforced),
    ``power_limit_default_w``, ``power_limit_max_w``, ``max_sm_clock_mhz``,
    ``max_mem_clock_mhz``, ``nvml_version``, ``uuid``.
    """
    out: dict[str, Any] = {}
    name = _call(nvml, "nvmlDeviceGetName", handle)
    if name is not None:
        out["name"] = _text(name)
    mem = _call(nvml, "nvmlDeviceGetMemoryInfo", handle)
    if mem is not None:
        out["memory_mb"] = int(mem.total) / 1e6
    driver = _call(nvml, "nvmlSystemGetDriverVersion")
    if driver is not None:
        out["driver_version"] = _text(driver)
    cuda = _call(nvml, "nvmlSystemGetCudaDriverVersion_v2") or _call(
        nvml, "nvmlSystemGetCudaDriverVersion"
    )
    if cuda:
        out["cuda_driver_version"] = f"{int(cuda) // 1000}.{int(cuda) % 1000 // 10}"
    cc = _call(nvml, "nvmlDeviceGetCudaComputeCapability", handle)
    if cc is not None:
        out["compute_capability"] = f"{cc[0]}.{cc[1]}"
    limit = _call(nvml, "nvmlDeviceGetEnforcedPowerLimit", handle)
    if limit is not None:
        out["power_limit_w"] = int(limit) / 1000
    default = _call(nvml, "nvmlDeviceGetPowerManagementDefaultLimit", handle)
    if default is not None:
        out["power_limit_default_w"] = int(default) / 1000
    bounds = _call(nvml, "nvmlDeviceGetPowerManagementLimitConstraints", handle)
    if bounds is not None:
        out["power_limit_max_w"] = int(bounds[1]) / 1000
    for key, clock in (
        ("max_sm_clock_mhz", _NVML_CLOCK_SM),
        ("max_mem_clock_mhz", _NVML_CLOCK_MEM),
    ):
        value = _call(nvml, "nvmlDeviceGetMaxClockInfo", handle, clock)
        if value is not None:
            out[key] = int(value)
    version = _call(nvml, "nvmlSystemGetNVMLVersion")
    if version is not None:
        out["nvml_version"] = _text(version)
    uuid = _call(nvml, "nvmlDeviceGetUUID", handle)
    if uuid is not None:
        out["uuid"] = _text(uuid)
    return out


def _other_processes(nvml: Any, handle: Any, own_pids: set[int]) -> list[tuple[int, float | None]]:
    seen: dict[int, float | None] = {}
    for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        procs = _call(nvml, getter, handle) or []
        for p in procs:
            pid = int(p.pid)
            if pid in own_pids:
                continue
            used = getattr(p, "usedGpuMemory", None)
            seen[pid] = int(used) / 1e6 if isinstance(used, int) else None
    return sorted(seen.items())


def other_processes_warning(processes: list[tuple[int, float | None]]) -> str | None:
    """A warning naming other processes on the GPU, or None when there are none."""
    if not processes:
        return None
    shown = ", ".join(
        f"pid {pid}" + (f" ({mb:.0f} MB)" if mb is not None else "") for pid, mb in processes[:5]
    )
    more = f" and {len(processes) - 5} more" if len(processes) > 5 else ""
    return (
        f"warning: {len(processes)} other process(es) were using the GPU when this run "
        f"started ({shown}{more}); they share its time, memory and power, so latency and "
        "energy may be off"
    )


def gpu_state(
    nvml: Any, handle: Any, own_pids: set[int] | None = None
) -> tuple[dict[str, str], list[str]]:
    """The GPU's state now, as provenance ``env`` entries (strings), and warnings.

    Entries (when NVML answers): ``gpu_sm_clock_mhz``, ``gpu_mem_clock_mhz``,
    ``gpu_graphics_clock_mhz``, ``gpu_temperature_c``, ``gpu_power_draw_w``,
    ``gpu_power_limit_w``, ``gpu_pstate``, ``gpu_memory_used_mb``,
    ``gpu_other_processes``. A warning is returned for other processes on
    the GPU. ``own_pids`` defaults to this process and its parent.
    """
    own = own_pids if own_pids is not None else {os.getpid(), os.getppid()}
    env: dict[str, str] = {}
    for key, clock in (
        ("gpu_sm_clock_mhz", _NVML_CLOCK_SM),
        ("gpu_mem_clock_mhz", _NVML_CLOCK_MEM),
        ("gpu_graphics_clock_mhz", _NVML_CLOCK_GRAPHICS),
    ):
        value = _call(nvml, "nvmlDeviceGetClockInfo", handle, clock)
        if value is not None:
            env[key] = str(int(value))
    temp = _call(nvml, "nvmlDeviceGetTemperature", handle, _NVML_TEMPERATURE_GPU)
    if temp is not None:
        env["gpu_temperature_c"] = str(int(temp))
    power = _call(nvml, "nvmlDeviceGetPowerUsage", handle)
    if power is not None:
        env["gpu_power_draw_w"] = f"{int(power) / 1000:.1f}"
    limit = _call(nvml, "nvmlDeviceGetEnforcedPowerLimit", handle)
    if limit is not None:
        env["gpu_power_limit_w"] = f"{int(limit) / 1000:.0f}"
    pstate = _call(nvml, "nvmlDeviceGetPerformanceState", handle)
    if pstate is not None:
        env["gpu_pstate"] = f"P{int(pstate)}"
    mem = _call(nvml, "nvmlDeviceGetMemoryInfo", handle)
    if mem is not None:
        env["gpu_memory_used_mb"] = f"{int(mem.used) / 1e6:.0f}"
    others = _other_processes(nvml, handle, own)
    env["gpu_other_processes"] = str(len(others))
    warning = other_processes_warning(others)
    return env, [warning] if warning else []


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


class NvmlMeter:
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
        delta_mj = end_mj - start_mj
        if delta_mj <= 0:
            return EnergyStats.unavailable(
                f"the NVML energy counter did not advance over the {window_s:.3g} s window"
            )
        if window_s < 0.9 * self.min_window_s:
            return EnergyStats.unavailable(
                f"the timed window ({window_s:.3g} s) was shorter than the "
                f"{self.min_window_s:.3g} s the NVML energy counter needs for its resolution"
            )
        energy_j = delta_mj / 1000.0
        return EnergyStats(
            energy_j=energy_j,
            energy_j_per_item=energy_j / items if items > 0 else None,
            avg_power_w=energy_j / window_s if window_s > 0 else None,
            source="nvml",
            window_s=window_s,
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


def device_extra(info: Mapping[str, Any]) -> dict[str, Any]:
    """The ``DeviceInfo.extra`` entries from ``gpu_info`` output (versions, limits)."""
    keys = (
        "cuda_driver_version",
        "power_limit_w",
        "power_limit_default_w",
        "power_limit_max_w",
        "max_sm_clock_mhz",
        "max_mem_clock_mhz",
        "nvml_version",
    )
    return {k: info[k] for k in keys if k in info}
