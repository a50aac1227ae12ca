"""A machine's devices as Dask worker resources: ``cpu``, ``gpu`` and ``gpu-<model>``."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence

from paretoscope.core.errors import InputError, UnavailableError

__all__ = [
    "DEVICES_ENV",
    "GENERIC_GPU",
    "device_map",
    "local_device_map",
    "resource_name",
    "worker_resources",
]

#: JSON ``{resource: [local device, ...]}`` of a worker, set by the worker entry.
DEVICES_ENV = "PARETOSCOPE_CLUSTER_DEVICES"
#: The resource every GPU is also offered under, whatever its model.
GENERIC_GPU = "gpu"


def resource_name(kind: str, name: str = "") -> str:
    """The Dask resource a device is advertised as: ``cpu``, or ``gpu-<model>`` for a GPU.

    The model name is lower-cased, a leading vendor word dropped and every run
    of other characters made one ``-``: ``NVIDIA H100 80GB HBM3`` gives
    ``gpu-h100-80gb-hbm3``.
    """
    if kind == "cpu":
        return "cpu"
    model = re.sub(r"^(nvidia|amd|intel)\s+", "", name.strip().lower())
    model = re.sub(r"[^a-z0-9]+", "-", model).strip("-")
    return f"gpu-{model}" if model else GENERIC_GPU


def device_map(
    devices: Sequence[str] | None = None, aliases: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    """``{resource: [local device, ...]}`` this machine offers, e.g. ``{"cpu": ["cpu"]}``.

    ``devices`` (``cpu``, ``cuda:N``) limits it to those; default: the CPU and
    every CUDA GPU torch sees (which imports torch). GPUs are listed under
    their model's resource and under ``gpu``. ``aliases`` maps further
    resource names to local devices (``{"dev-a": "cpu"}``), to label a device
    by hand. Raises ``InputError`` for a device string that is not
    ``cpu``/``cuda:N`` and ``UnavailableError`` for a GPU this host lacks.
    """
    from measure.devices import cuda_devices, host_info

    host = host_info()
    wanted = list(devices) if devices is not None else None
    result: dict[str, list[str]] = {}
    if wanted is None or "cpu" in wanted:
        result["cpu"] = ["cpu"]
    cuda_wanted = None if wanted is None else [d for d in wanted if d != "cpu"]
    for d in cuda_wanted or []:
        kind, _, index = d.partition(":")
        if kind != "cuda" or not index.isdigit():
            raise InputError(f"unknown device {d!r}; use 'cpu' or 'cuda:N'")
    if cuda_wanted is None or cuda_wanted:
        gpus = cuda_devices(host)
        for gpu in gpus:
            local = f"cuda:{gpu.index}"
            if cuda_wanted is not None and local not in cuda_wanted:
                continue
            result.setdefault(resource_name("cuda", gpu.name), []).append(local)
            result.setdefault(GENERIC_GPU, []).append(local)
        missing = [d for d in cuda_wanted or [] if d not in result.get(GENERIC_GPU, [])]
        if missing:
            raise UnavailableError(
                f"this host has {len(gpus)} CUDA device(s) visible to torch; "
                f"cannot offer {', '.join(missing)}"
            )
    for alias, local in (aliases or {}).items():
        result.setdefault(alias, []).append(local)
    return result


def worker_resources(devices: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Dask resources for a device map: how many devices of each resource."""
    return {name: float(len(locals_)) for name, locals_ in devices.items() if locals_}


def local_device_map() -> dict[str, list[str]]:
    """The device map of the worker this runs in: ``$PARETOSCOPE_CLUSTER_DEVICES``, else detected.

    Raises ``ValueError`` (bad JSON) or ``TypeError`` for an unreadable
    variable, and what ``device_map`` raises when detecting.
    """
    text = os.environ.get(DEVICES_ENV)
    if text:
        data = json.loads(text)
        return {str(k): [str(d) for d in v] for k, v in data.items()}
    return device_map()  # a plain `dask worker`: detect
