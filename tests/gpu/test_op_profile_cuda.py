"""Operator profiles on a CUDA GPU: torch's kernels by device time, ONNX Runtime's CUDA nodes.

Marked ``gpu``; each test skips where no GPU (or no CUDA onnxruntime) is present.
"""

from __future__ import annotations

import dataclasses
import math

import pytest

from measure import testing
from measure.opprofile import profile_ops
from measure.worker import run_in_worker
from tests.gpu.conftest import GpuZoo, cuda_available, ort_has_cuda

pytestmark = pytest.mark.gpu


@pytest.fixture(autouse=True)
def _needs_cuda() -> None:
    if not cuda_available():
        pytest.skip("no CUDA GPU here")


def test_torch_on_cuda_profiles_gpu_kernels_by_device_time(gpu_zoo: GpuZoo) -> None:
    spec = dataclasses.replace(
        testing.make_spec(gpu_zoo.state, "torch", batch_size=32, precision="fp32"),
        device="cuda:0",
        op_profile=True,
    )
    prof = profile_ops(spec, latency_ms=0.1)
    assert prof.profiler == "torch.profiler: self device (GPU kernel) time"
    assert prof.ops and math.isclose(sum(op.share for op in prof.ops), 1.0)
    assert all(op.total_ms > 0 and op.calls >= 1 for op in prof.ops)


def test_ort_on_cuda_names_the_provider_of_each_node(gpu_zoo: GpuZoo) -> None:
    if not ort_has_cuda():
        pytest.skip("onnxruntime here has no CUDAExecutionProvider (install onnxruntime-gpu)")
    spec = dataclasses.replace(
        testing.make_spec(gpu_zoo.onnx, "ort", batch_size=32), device="cuda:0", op_profile=True
    )
    record = run_in_worker(spec)
    assert record.status == "ok", record.error
    prof = record.op_profile
    assert prof is not None and prof.ops, record.provenance
    assert "host-side" in prof.profiler
    assert any("(CUDAExecutionProvider)" in op.op for op in prof.ops), prof.ops
    assert math.isclose(sum(op.share for op in prof.ops), 1.0)
