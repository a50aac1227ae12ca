"""Real runs on a CUDA GPU: torch at fp32/fp16/bf16 and ONNX Runtime's CUDA provider.

Marked ``gpu``; each test skips where no GPU (or no CUDA onnxruntime) is
present, so CI, which has no GPU, skips them. On a GPU machine they check
CUDA-event timing, device memory, NVML energy against NVML's own power
samples, GPU state in provenance, and node placement.
"""

from __future__ import annotations

import dataclasses

import pytest

from measure import testing
from measure.profile import profile_run
from paretoscope.core.records import RunRecord, TimingBudget
from tests.gpu.conftest import GpuZoo, cuda_available, ort_has_cuda

pytestmark = pytest.mark.gpu

BUDGET = TimingBudget(warmup_iters=20, min_iters=30, min_time_s=0.2, max_time_s=2.0)


@pytest.fixture(autouse=True)
def _needs_cuda() -> None:
    if not cuda_available():
        pytest.skip("no CUDA GPU here")


def _check_energy(record: RunRecord) -> None:
    """Energy from NVML over a window of >= 1 s, agreeing with NVML's sampled power within 10%."""
    assert record.energy is not None and record.provenance is not None
    energy, env = record.energy, record.provenance.env
    assert energy.source == "nvml", energy.unavailable_reason
    assert energy.energy_j is not None and energy.energy_j > 0
    assert energy.window_s is not None and energy.window_s >= 0.9
    assert energy.avg_power_w is not None
    limit = float(env["gpu_power_limit_w"])
    assert 20.0 < energy.avg_power_w < limit
    sampled = float(env["nvml_power_mean_w"])
    assert int(env["nvml_power_samples"]) >= 10
    assert energy.avg_power_w == pytest.approx(sampled, rel=0.10)


@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_torch_on_cuda(gpu_zoo: GpuZoo, precision: str) -> None:
    spec = dataclasses.replace(
        testing.make_spec(
            gpu_zoo.state,
            "torch",
            dataset=gpu_zoo.dataset,
            batch_size=32,
            precision=precision,
            budget=BUDGET,
        ),
        device="cuda:0",
    )
    record = profile_run(spec)
    assert record.status == "ok"
    assert record.device is not None and record.device.kind == "cuda"
    assert record.device.driver_version  # from NVML
    assert "power_limit_w" in record.device.extra
    assert record.latency is not None and record.latency.timer == "cuda_event"
    assert record.latency.total_time_s >= 0.9  # stretched for the energy counter
    # NVML names the process: torch runs report the same quantity as ONNX Runtime runs.
    assert record.memory is not None and record.memory.source == "nvml-process"
    assert record.memory.peak_mem_mb is not None and record.memory.device_peak_reserved_mb
    assert record.memory.peak_mem_mb >= record.memory.device_peak_reserved_mb
    assert any("caching allocator" in n for n in record.provenance.notes)  # type: ignore[union-attr]
    assert record.accuracy and record.accuracy[0].value > 0.8
    assert record.provenance is not None
    env = record.provenance.env
    assert (
        env["torch_float_dtype"]
        == {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}[precision]
    )
    for key in ("gpu_sm_clock_mhz", "gpu_temperature_c", "gpu_other_processes"):
        assert key in env
    _check_energy(record)


@pytest.mark.parametrize("which", ["fp32", "int8"])
def test_ort_on_cuda(gpu_zoo: GpuZoo, which: str) -> None:
    if not ort_has_cuda():
        pytest.skip("this onnxruntime has no CUDA execution provider")
    artifact = gpu_zoo.onnx if which == "fp32" else gpu_zoo.onnx_int8
    spec = dataclasses.replace(
        testing.make_spec(artifact, "ort", dataset=gpu_zoo.dataset, batch_size=32, budget=BUDGET),
        device="cuda:0",
    )
    record = profile_run(spec)
    assert record.status == "ok"
    assert record.provenance is not None
    assert record.provenance.execution_provider == "CUDAExecutionProvider"
    env = record.provenance.env
    assert "CUDAExecutionProvider" in env["ort_providers"]
    assert record.accuracy and record.accuracy[0].value > 0.8
    if which == "int8":
        # Dynamic quantization's integer ops have no CUDA kernels: they run on
        # the CPU, and the record says so.
        assert int(env.get("ort_nodes_CPUExecutionProvider", "0")) > 0
        assert any("on CPUExecutionProvider" in n for n in record.provenance.notes)
    _check_energy(record)


def test_ort_on_cuda_reports_device_memory_not_host_memory(gpu_zoo: GpuZoo) -> None:
    """ONNX Runtime's CUDA provider: device memory from NVML (or the free-memory drop)."""
    if not ort_has_cuda():
        pytest.skip("this onnxruntime has no CUDA execution provider")
    spec = dataclasses.replace(
        testing.make_spec(gpu_zoo.onnx, "ort", dataset=gpu_zoo.dataset, batch_size=32),
        device="cuda:0",
    )
    record = profile_run(spec)
    memory = record.memory
    assert memory is not None and memory.source in ("nvml-process", "cuda-meminfo"), memory
    assert memory.peak_mem_mb is not None and memory.unavailable_reason is None
    assert record.host is not None and record.device is not None
    # The session's device memory: more than nothing (its arena holds the
    # weights and a batch), less than the whole card.
    assert 0 < memory.peak_mem_mb < (record.device.memory_mb or float("inf"))
    assert memory.peak_host_mem_mb is not None and memory.peak_host_mem_mb > 50
    assert memory.peak_mem_mb != memory.peak_host_mem_mb
    assert record.device.name in record.host.gpus


def test_nvml_lists_the_measuring_process_on_a_real_gpu() -> None:
    """The per-process figure reads this process's own CUDA context, as profile_run does."""
    import os

    import torch

    from measure.devices import cuda_devices, host_info
    from measure.devices.nvml import handle_for, load_nvml, process_memory_mb

    nvml, reason = load_nvml()
    if nvml is None:
        pytest.skip(reason or "no NVML")
    device = cuda_devices(host_info())[0]
    block = torch.ones(64_000_000, device="cuda:0")  # 256 MB on the GPU
    handle = handle_for(nvml, 0, device.device_id.rpartition(":cuda:")[2])
    used = process_memory_mb(nvml, handle, os.getpid())
    if used is None:
        pytest.skip("NVML does not list this process (a container with its own process ids)")
    assert used >= 256
    del block
