"""NVIDIA GPUs through NVML (nvidia-ml-py's ``pynvml``): discovery, device facts and GPU state.

Every function takes the NVML module as an argument (``nvml``), so tests pass
a fake with the same function names and CI needs no GPU; ``load_nvml()``
imports and initialises the real one lazily. Nothing here imports torch.
GPU energy, from NVML's counter, is ``measure.energy.nvml.NvmlMeter``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from typing import Any

__all__ = [
    "device_extra",
    "free_memory_mb",
    "gpu_info",
    "gpu_names",
    "gpu_state",
    "handle_for",
    "load_nvml",
    "other_processes_warning",
    "process_memory_mb",
]

# NVML constants, by value, so a fake module need not define them.
_NVML_CLOCK_GRAPHICS = 0
_NVML_CLOCK_SM = 1
_NVML_CLOCK_MEM = 2
_NVML_TEMPERATURE_GPU = 0


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


def gpu_names(nvml: Any) -> tuple[str, ...]:
    """The models of every GPU NVML sees, in its index order; () when NVML cannot count them.

    NVML ignores ``CUDA_VISIBLE_DEVICES``: this is the host's GPU set, not
    the process's.
    """
    count = _call(nvml, "nvmlDeviceGetCount")
    if not count:
        return ()
    names = []
    for index in range(int(count)):
        handle = _call(nvml, "nvmlDeviceGetHandleByIndex", index)
        name = _call(nvml, "nvmlDeviceGetName", handle) if handle is not None else None
        if name is not None:
            names.append(_text(name))
    return tuple(names)


def process_memory_mb(nvml: Any, handle: Any, pid: int) -> float | None:
    """Device memory (MB) NVML reports in use by process ``pid`` on this GPU; None when unknown.

    None when NVML does not list ``pid`` (e.g. in a container whose process
    ids are not the host's, which NVML reports) or cannot tell its usage
    (``usedGpuMemory`` missing, as under Windows' WDDM). The figure includes
    the process's CUDA context, not only its allocations.
    """
    total: int | None = None
    for getter in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        for p in _call(nvml, getter, handle) or []:
            if int(p.pid) != pid:
                continue
            used = getattr(p, "usedGpuMemory", None)
            if isinstance(used, int):
                # A process using the GPU for compute and graphics is listed twice
                # with the same figure: keep the larger, do not add.
                total = max(total or 0, used)
    return None if total is None else total / 1e6


def free_memory_mb(nvml: Any, handle: Any) -> float | None:
    """Free device memory of this GPU in MB now (the driver's figure); None when NVML refuses."""
    mem = _call(nvml, "nvmlDeviceGetMemoryInfo", handle)
    return None if mem is None else int(mem.free) / 1e6


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
