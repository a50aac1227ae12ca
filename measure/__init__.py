"""Measurement: run a model under a pinned configuration and produce a ``RunRecord``.

Layers depend one way: devices, memory, energy and timing (no ML library)
→ runtimes (onnxruntime, torch, imported only when a run needs them) →
evaluate and profile (one run, in this process) → worker (one run, in a
child process) → executor (many runs). Records are the frozen dataclasses of
``paretoscope.records``; this package never touches the store.

Names are loaded on first use, so ``import measure`` is cheap and imports
neither torch nor onnxruntime, and ``python -m measure.worker`` does not
import the worker module twice.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from measure.devices import cpu_device, cuda_devices, host_info
    from measure.energy import EnergyMeter, NullMeter, RaplMeter, cpu_energy_meter
    from measure.evaluate import evaluate_classification
    from measure.executor import Executor, LocalExecutor, Progress
    from measure.memory import current_rss_mb, peak_rss_mb
    from measure.profile import profile_run
    from measure.runtimes import InputSpec, Runtime, Session, runtime_for
    from measure.timing import latency_stats, measure_latency, median_ci
    from measure.worker import WorkerProgress, run_in_worker

__all__ = [
    "EnergyMeter",
    "Executor",
    "InputSpec",
    "LocalExecutor",
    "NullMeter",
    "Progress",
    "RaplMeter",
    "Runtime",
    "Session",
    "WorkerProgress",
    "cpu_device",
    "cpu_energy_meter",
    "cuda_devices",
    "current_rss_mb",
    "evaluate_classification",
    "host_info",
    "latency_stats",
    "measure_latency",
    "median_ci",
    "peak_rss_mb",
    "profile_run",
    "run_in_worker",
    "runtime_for",
]

_HOMES: dict[str, str] = {
    "cpu_device": "measure.devices",
    "cuda_devices": "measure.devices",
    "host_info": "measure.devices",
    "EnergyMeter": "measure.energy",
    "NullMeter": "measure.energy",
    "RaplMeter": "measure.energy",
    "cpu_energy_meter": "measure.energy",
    "evaluate_classification": "measure.evaluate",
    "Executor": "measure.executor",
    "LocalExecutor": "measure.executor",
    "Progress": "measure.executor",
    "current_rss_mb": "measure.memory",
    "peak_rss_mb": "measure.memory",
    "profile_run": "measure.profile",
    "InputSpec": "measure.runtimes",
    "Runtime": "measure.runtimes",
    "Session": "measure.runtimes",
    "runtime_for": "measure.runtimes",
    "latency_stats": "measure.timing",
    "measure_latency": "measure.timing",
    "median_ci": "measure.timing",
    "WorkerProgress": "measure.worker",
    "run_in_worker": "measure.worker",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'measure' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
