"""Which devices a profile runs on, and which runtime × precision a device cannot run, and why.

``offered_devices`` lists this host's devices without importing torch (the
NVIDIA driver's ``/proc`` entries, else NVML), so the dashboard's server can
call it. ``resolve_devices`` turns ``--device cpu,cuda:0`` or ``all`` into the
list to measure on, refusing a device the host lacks before anything is
stored. ``unavailable_reason`` says why a combination cannot run on a device
(ONNX Runtime without its CUDA provider, torch's CPU-only int8, bf16 in
ONNX Runtime); the plan makes each such combination one failed run with
that reason, never a silent skip.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from paretoscope.core.errors import InputError
from paretoscope.profiling.request import device_name

__all__ = [
    "ALL_DEVICES",
    "CUDA_PROVIDER",
    "SCHEDULER_ENV",
    "cluster_configured",
    "offered_devices",
    "ort_providers",
    "resolve_devices",
    "unavailable_reason",
    "visible_gpu_count",
]

#: ``--device all``: every device this host offers.
ALL_DEVICES = "all"
#: The setting that sends runs to a Dask cluster (``measure.cluster.executor.SCHEDULER_ENV``).
SCHEDULER_ENV = "PARETOSCOPE_DASK_SCHEDULER"
#: ONNX Runtime's CUDA execution provider.
CUDA_PROVIDER = "CUDAExecutionProvider"


def visible_gpu_count(listed: int, env: Mapping[str, str] | None = None) -> int:
    """How many of ``listed`` GPUs a process sees, after ``CUDA_VISIBLE_DEVICES``.

    Unset: all of them. Empty or ``-1``: none. A list: its entries up to the
    first invalid one (as CUDA reads it), at most ``listed``.
    """
    value = (env if env is not None else os.environ).get("CUDA_VISIBLE_DEVICES")
    if value is None:
        return listed
    count = 0
    for item in value.split(","):
        item = item.strip()
        if not item or item.startswith("-"):
            break
        count += 1
    return min(count, listed)


def offered_devices(
    gpus: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> tuple[str, ...]:
    """This host's devices: ``cpu`` and ``cuda:N`` for each GPU a process here can see.

    ``gpus`` are the GPU model names (default: ``measure.devices.host_info``'s,
    read from the NVIDIA driver's ``/proc`` entries or NVML: torch is not
    imported). Never raises: no driver means ``("cpu",)``.
    """
    if gpus is None:
        from measure.devices import host_info

        gpus = host_info().gpus
    n = visible_gpu_count(len(gpus), env)
    return ("cpu", *(f"cuda:{i}" for i in range(n)))


def cluster_configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether runs go to a Dask cluster (``PARETOSCOPE_DASK_SCHEDULER`` is set)."""
    return bool((env if env is not None else os.environ).get(SCHEDULER_ENV, "").strip())


def resolve_devices(
    requested: Sequence[str], offered: Sequence[str], *, cluster: bool = False
) -> tuple[str, ...]:
    """The devices to measure on, in the order asked, each once; ``all`` is every offered one.

    ``cluster``: runs go to a cluster's workers, whose devices are not known
    here; any ``cuda:N`` is accepted (a run no worker can take becomes a
    failed run with the reason, at placement). Raises ``InputError`` for an
    unknown device name or one this host does not offer, naming what it does offer.
    """
    if not requested:
        raise InputError("give at least one device (cpu, cuda:N or all)")
    out: list[str] = []
    for d in requested:
        name = device_name(d)
        names = list(offered) if name == ALL_DEVICES else [name]
        out.extend(n for n in names if n not in out)
    missing = [d for d in out if d not in offered and not (cluster and d != "cpu")]
    if missing:
        gpus = [d for d in offered if d != "cpu"]
        has = f"its devices are {', '.join(offered)}" if gpus else "it has no CUDA GPU, only cpu"
        raise InputError(
            f"cannot profile on {', '.join(missing)}: this host does not offer "
            f"{'it' if len(missing) == 1 else 'them'} ({has}); use --device "
            f"{','.join(offered)} or --device all"
        )
    return tuple(out)


def ort_providers() -> tuple[str, ...] | None:
    """ONNX Runtime's execution providers in this environment; None without onnxruntime.

    The hardware boundary of the plan (tests replace it).
    """
    try:
        import onnxruntime
    except ImportError:
        return None
    return tuple(onnxruntime.get_available_providers())


def unavailable_reason(
    runtime: str, precision: str, device: str, providers: Sequence[str] | None
) -> str | None:
    """Why ``runtime`` cannot run ``precision`` on ``device`` here; None when it can be tried.

    ``providers`` are ONNX Runtime's execution providers (``ort_providers``).
    What only the measuring worker can know (torch seeing the GPU, a kernel
    missing for an operator) is left to it: its failure is recorded too.
    """
    gpu = device != "cpu"
    if runtime == "ort":
        if precision == "bf16":
            return "bf16 runs in torch only: onnxruntime variants are fp32, fp16 and int8"
        if gpu and providers is not None and CUDA_PROVIDER not in providers:
            return (
                f"onnxruntime has no CUDA provider here (it has {', '.join(providers)}): "
                f"install onnxruntime-gpu to run ort on {device}"
            )
        if gpu and providers is None:
            return f"onnxruntime is not installed here: install onnxruntime-gpu to run on {device}"
    if runtime == "torch":
        if precision == "int8-static":
            return "int8-static is an ONNX Runtime variant (static quantization of the ONNX model)"
        if precision == "int8" and gpu:
            return "torch's int8 (dynamic quantization) runs on the CPU only"
    return None
