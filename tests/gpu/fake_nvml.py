"""A stand-in for the ``pynvml`` module, with the same function names, for tests without a GPU.

Only the vendor boundary is faked: ``measure.devices.nvml`` and ``measure.energy.nvml`` receive this
object where they would receive ``pynvml`` and run their real code. These are test
fixtures, never shown to users as measurements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any


class FakeNvmlError(Exception):
    """What the fake raises where pynvml raises an ``NVMLError``."""


@dataclass
class FakeGpu:
    """One fake GPU: its facts and a power draw that drives the energy counter."""

    name: str = "NVIDIA H100 80GB HBM3"
    uuid: str = "GPU-11111111-2222-3333-4444-555555555555"
    memory_total: int = 85_520_809_984
    memory_used: int = 600_000_000
    power_w: float = 120.0
    power_limit_mw: int = 700_000
    # Seconds between updates of the energy counter.
    energy_period_s: float = 0.01
    has_energy: bool = True
    has_instant_power: bool = True
    processes: list[tuple[int, int]] = field(default_factory=list)  # (pid, bytes)


class FakeNvml:
    """The pynvml functions ``measure.devices.nvml`` calls, over fake GPUs and a fake clock.

    ``clock()`` and every read of the energy counter advance ``t`` by
    ``tick``, so polling loops terminate; tests move ``t`` to let time pass.
    """

    def __init__(self, *gpus: FakeGpu, tick: float = 0.001) -> None:
        self.gpus = list(gpus) or [FakeGpu()]
        self.t = 100.0
        self.tick = tick
        self.initialised = False

    def clock(self) -> float:
        self.t += self.tick
        return self.t

    def _gpu(self, handle: Any) -> FakeGpu:
        return self.gpus[int(handle)]

    # --- the pynvml surface -------------------------------------------------
    def nvmlInit(self) -> None:
        self.initialised = True

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:
        if not 0 <= index < len(self.gpus):
            raise FakeNvmlError("Invalid Argument")
        return index

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> int:
        for i, gpu in enumerate(self.gpus):
            if gpu.uuid == uuid:
                return i
        raise FakeNvmlError("Not Found")

    def nvmlDeviceGetName(self, handle: Any) -> str:
        return self._gpu(handle).name

    def nvmlDeviceGetUUID(self, handle: Any) -> str:
        return self._gpu(handle).uuid

    def nvmlDeviceGetMemoryInfo(self, handle: Any) -> SimpleNamespace:
        gpu = self._gpu(handle)
        free = gpu.memory_total - gpu.memory_used
        return SimpleNamespace(total=gpu.memory_total, used=gpu.memory_used, free=free)

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlSystemGetDriverVersion(self) -> str:
        return "580.159.04"

    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        return 13000

    def nvmlSystemGetNVMLVersion(self) -> str:
        return "13.580.159.04"

    def nvmlDeviceGetCudaComputeCapability(self, handle: Any) -> tuple[int, int]:
        return (9, 0)

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: Any) -> int:
        return self._gpu(handle).power_limit_mw

    def nvmlDeviceGetPowerManagementDefaultLimit(self, handle: Any) -> int:
        return self._gpu(handle).power_limit_mw

    def nvmlDeviceGetPowerManagementLimitConstraints(self, handle: Any) -> tuple[int, int]:
        return (200_000, self._gpu(handle).power_limit_mw)

    def nvmlDeviceGetMaxClockInfo(self, handle: Any, clock: int) -> int:
        return {0: 1980, 1: 1980, 2: 2619}[clock]

    def nvmlDeviceGetClockInfo(self, handle: Any, clock: int) -> int:
        return {0: 1755, 1: 1755, 2: 2619}[clock]

    def nvmlDeviceGetTemperature(self, handle: Any, sensor: int) -> int:
        return 41

    def nvmlDeviceGetPerformanceState(self, handle: Any) -> int:
        return 0

    def nvmlDeviceGetPowerUsage(self, handle: Any) -> int:
        return round(self._gpu(handle).power_w * 1000)

    def nvmlDeviceGetFieldValues(self, handle: Any, fields: list[int]) -> list[SimpleNamespace]:
        gpu = self._gpu(handle)
        ok = gpu.has_instant_power and fields == [186]
        value = SimpleNamespace(uiVal=round(gpu.power_w * 1000))
        return [SimpleNamespace(nvmlReturn=0 if ok else 3, valueType=1, value=value)]

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: Any) -> int:
        gpu = self._gpu(handle)
        if not gpu.has_energy:
            raise FakeNvmlError("Not Supported")
        self.t += self.tick
        steps = int(self.t / gpu.energy_period_s)
        return round(steps * gpu.energy_period_s * gpu.power_w * 1000)

    def nvmlDeviceGetComputeRunningProcesses(self, handle: Any) -> list[SimpleNamespace]:
        return [SimpleNamespace(pid=p, usedGpuMemory=b) for p, b in self._gpu(handle).processes]

    def nvmlDeviceGetGraphicsRunningProcesses(self, handle: Any) -> list[SimpleNamespace]:
        return []
