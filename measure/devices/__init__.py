"""What machine and device a run is measured on, with ids that stay stable across runs.

Importing this module does not import torch: ``cuda_devices`` imports it
inside the function, and returns [] where torch or CUDA is absent.
"""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import socket
from pathlib import Path
from typing import Any

from paretoscope.core.errors import InputError, UnavailableError
from paretoscope.core.records import DeviceInfo, HostInfo

__all__ = [
    "cpu_device",
    "cpu_governor",
    "cuda_devices",
    "device_for",
    "host_fingerprint",
    "host_info",
    "machine_id",
    "parse_cpuinfo",
    "proc_gpu_names",
]

_BYTES_PER_MB = 1_000_000


def parse_cpuinfo(text: str) -> tuple[str | None, int | None]:
    """CPU model name and physical core count from the text of /proc/cpuinfo.

    Physical cores are the distinct (``physical id``, ``core id``) pairs; None
    when the file does not list them (e.g. some ARM kernels and VMs).
    """
    model: str | None = None
    cores: set[tuple[str, str]] = set()
    physical_id = "0"
    core_id: str | None = None

    def flush() -> None:
        if core_id is not None:
            cores.add((physical_id, core_id))

    for line in [*text.splitlines(), ""]:
        if not line.strip():  # a blank line ends one processor's block
            flush()
            physical_id, core_id = "0", None
            continue
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if model is None and key in ("model name", "Model", "Hardware", "cpu model") and value:
            model = value
        elif key == "physical id":
            physical_id = value
        elif key == "core id":
            core_id = value
    return model, (len(cores) or None)


def _mem_total_mb(meminfo: Path) -> float:
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024 / _BYTES_PER_MB
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / _BYTES_PER_MB
    except (OSError, ValueError):
        return 0.0


_BYTES_PER_GIB = 2**30
# Where a Linux host keeps its machine id (systemd's, then D-Bus's copy).
_MACHINE_ID_FILES: tuple[str, ...] = ("etc/machine-id", "var/lib/dbus/machine-id")


def machine_id(root: Path = Path("/")) -> str | None:
    """This host's machine id (``/etc/machine-id``, else D-Bus's copy); None when absent."""
    for rel in _MACHINE_ID_FILES:
        try:
            text = (root / rel).read_text().strip()
        except OSError:
            continue
        if text:
            return text
    return None


def proc_gpu_names(proc_root: Path = Path("/proc")) -> tuple[str, ...]:
    """GPU models the NVIDIA kernel driver lists in ``/proc/driver/nvidia/gpus``, by bus id.

    Readable by every process without a library (the dashboard's included),
    so every process of a host computes the same ``host_id``. () without
    the driver.
    """
    try:
        folders = sorted((proc_root / "driver/nvidia/gpus").iterdir())
    except OSError:
        return ()
    names = []
    for folder in folders:
        try:
            lines = (folder / "information").read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            key, _, value = line.partition(":")
            if key.strip() == "Model" and value.strip():
                names.append(value.strip())
                break
    return tuple(names)


@functools.cache
def _loaded_nvml_gpu_names() -> tuple[str, ...]:
    from measure.devices.nvml import gpu_names, load_nvml

    nvml, _ = load_nvml()
    return gpu_names(nvml) if nvml is not None else ()


def host_fingerprint(
    cpu_model: str, logical_cores: int, mem_total_mb: float, gpus: tuple[str, ...], mid: str | None
) -> str:
    """The ``host_id`` of a machine: a 16-hex-digit sha256 prefix of what identifies it.

    CPU model, logical cores, total memory in whole GiB (so a kernel that
    reports a few MB more or less does not split a host), the GPU models (a
    sorted multiset: enumeration order does not matter) and the machine id
    when there is one. Not the hostname: two machines called ``vm`` are two
    hosts, and renaming a machine does not make it a new one.
    """
    parts = [
        f"cpu={cpu_model}",
        f"logical={logical_cores}",
        f"mem_gib={round(mem_total_mb * _BYTES_PER_MB / _BYTES_PER_GIB)}",
        f"gpus={','.join(sorted(gpus))}",
    ]
    if mid:
        parts.append(f"machine={mid}")
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def host_info(
    proc_root: Path = Path("/proc"), root: Path = Path("/"), nvml: Any | None = None
) -> HostInfo:
    """Describe this machine; ``host_id`` is its fingerprint (see ``host_fingerprint``).

    GPUs come from the NVIDIA driver's ``/proc`` entries; where it has none,
    from NVML (``nvml``: a pynvml-like module; None loads pynvml once per
    process, and no NVML means no GPUs). The id changes when the machine
    does (new CPU, more memory, another GPU) and not between runs or
    processes. Never raises: unreadable files give fallbacks.
    """
    try:
        cpuinfo = (proc_root / "cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    model, physical = parse_cpuinfo(cpuinfo)
    cpu_model = model or platform.processor() or platform.machine() or "unknown CPU"
    logical = os.cpu_count() or 1
    mem_mb = _mem_total_mb(proc_root / "meminfo")
    gpus = proc_gpu_names(proc_root)
    if not gpus:
        if nvml is None:
            gpus = _loaded_nvml_gpu_names()
        else:
            from measure.devices.nvml import gpu_names

            gpus = gpu_names(nvml)
    return HostInfo(
        host_id=host_fingerprint(cpu_model, logical, mem_mb, gpus, machine_id(root)),
        hostname=socket.gethostname(),
        os=platform.platform(),
        cpu_model=cpu_model,
        cpu_cores_logical=logical,
        cpu_cores_physical=physical,
        mem_total_mb=mem_mb,
        python_version=platform.python_version(),
        gpus=gpus,
    )


def cpu_governor(sys_root: Path = Path("/sys")) -> str | None:
    """The cpufreq scaling governor of CPU 0 (e.g. ``performance``), or None where unreadable."""
    try:
        path = sys_root / "devices/system/cpu/cpu0/cpufreq/scaling_governor"
        return path.read_text().strip() or None
    except OSError:
        return None


def cpu_device(host: HostInfo) -> DeviceInfo:
    """The host's CPUs as one device, with id ``{host_id}:cpu``."""
    return DeviceInfo(
        device_id=f"{host.host_id}:cpu",
        host_id=host.host_id,
        kind="cpu",
        name=host.cpu_model,
        index=0,
        memory_mb=host.mem_total_mb,
    )


def cuda_devices(host: HostInfo, nvml: Any | None = None) -> list[DeviceInfo]:
    """The CUDA GPUs torch can see; [] when torch is not installed or has no CUDA.

    ``device_id`` is ``{host_id}:cuda:{uuid}`` where torch reports the GPU's
    UUID (stable when ``CUDA_VISIBLE_DEVICES`` reorders devices), else
    ``{host_id}:cuda:{index}``. Where NVML answers (``nvml``: a module with
    pynvml's functions; None loads pynvml) each device also gets the driver
    version and, in ``extra``, the driver's CUDA version, power limits and
    maximum clocks. Imports torch (seconds) on first call.
    """
    try:
        import torch
    except ImportError:
        return []
    try:
        if not torch.cuda.is_available():
            return []
        count = torch.cuda.device_count()
    except RuntimeError:  # a broken driver install reports here
        return []
    if nvml is None and count:
        from measure.devices.nvml import load_nvml

        nvml, _ = load_nvml()
    devices = []
    for index in range(count):
        props = torch.cuda.get_device_properties(index)
        uuid = str(getattr(props, "uuid", "") or "")
        facts = _nvml_facts(nvml, index, uuid)
        devices.append(
            DeviceInfo(
                device_id=f"{host.host_id}:cuda:{uuid or index}",
                host_id=host.host_id,
                kind="cuda",
                name=str(props.name),
                index=index,
                memory_mb=props.total_memory / _BYTES_PER_MB,
                compute_capability=f"{props.major}.{props.minor}",
                driver_version=facts.pop("driver_version", None),
                extra={"cuda_version": str(torch.version.cuda), **facts},
            )
        )
    return devices


def _nvml_facts(nvml: Any | None, index: int, uuid: str) -> dict[str, Any]:
    """Driver version and ``extra`` entries for one GPU from NVML; {} without NVML."""
    if nvml is None:
        return {}
    from measure.devices.nvml import device_extra, gpu_info, handle_for

    try:
        info = gpu_info(nvml, handle_for(nvml, index, uuid or None))
    except Exception:  # no such GPU for NVML: torch's facts stand alone
        return {}
    facts = device_extra(info)
    if "driver_version" in info:
        facts["driver_version"] = info["driver_version"]
    return facts


def device_for(spec_device: str, host: HostInfo) -> DeviceInfo:
    """The ``DeviceInfo`` a run on ``spec_device`` (``cpu`` or ``cuda:N``) uses.

    Raises ``InputError`` for a malformed device string and
    ``UnavailableError`` for a GPU this host does not have.
    """
    if spec_device == "cpu":
        return cpu_device(host)
    kind, _, index_text = spec_device.partition(":")
    if kind != "cuda" or not (index_text or "0").isdigit():
        raise InputError(f"unknown device {spec_device!r}; use 'cpu' or 'cuda:N'")
    index = int(index_text or "0")
    gpus = cuda_devices(host)
    if index >= len(gpus):
        seen = f"{len(gpus)} CUDA device(s)" if gpus else "no CUDA device (or a CPU-only torch)"
        raise UnavailableError(f"device {spec_device} requested but this host has {seen}")
    return gpus[index]
