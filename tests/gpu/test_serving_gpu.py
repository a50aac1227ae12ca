"""On a GPU, end-to-end latency pays the host-to-device input copy resident timing skips.

The model's input is 64 MiB of fp32 per batch (4 items of 4 Mi floats) and
its output is tiny, so the end-to-end p50 must exceed the device-resident p50
by at least the time to copy 64 MiB from host memory: a lower bound from the
bytes at a generous 64 GB/s (faster than PCIe 5.0 x16 and pageable copies).
The copy time torch measures with CUDA events is printed for the record.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from measure import testing
from measure.profile import profile_run
from paretoscope.core.records import ArtifactRef, RunRecord, TimingBudget
from tests.gpu.conftest import cuda_available, ort_has_cuda

pytestmark = pytest.mark.gpu

FEATURES = 4 * 1024 * 1024  # floats per item
BATCH = 4  # 4 items × 4 Mi floats × 4 bytes = 64 MiB per batch
INPUT_BYTES = BATCH * FEATURES * 4
BANDWIDTH_BYTES_PER_S = 64e9  # generous: no host-to-device copy of pageable memory is faster
BUDGET = TimingBudget(warmup_iters=5, min_iters=20, min_time_s=0.2, max_time_s=2.0)


@pytest.fixture(autouse=True)
def _needs_cuda() -> None:
    if not cuda_available():
        pytest.skip("no CUDA GPU here")


def _copy_ms() -> float:
    """Median time torch takes to copy a 64 MiB fp32 array from pageable host memory (ms)."""
    import torch

    host = torch.randn(BATCH, FEATURES)
    times = []
    for _ in range(10):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        host.to("cuda:0")
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return sorted(times)[len(times) // 2]


def _wide_onnx(path: Path) -> ArtifactRef:
    """``y = mean(x, axis=1)`` for ``x`` of shape [batch, 4 Mi]: a big input, a tiny output."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("ReduceMean", ["x"], ["y"], axes=[1], keepdims=0)],
        "wide",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", FEATURES])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch"])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return testing.artifact_ref(path, "onnx")


def _wide_state(path: Path) -> ArtifactRef:
    """A ``tiny_mlp`` with 4 Mi input features, one hidden unit and two classes."""
    kwargs = {"in_features": FEATURES, "hidden": 1, "classes": 2}
    testing.save_state(testing.tiny_mlp(**kwargs), path)
    return testing.artifact_ref(
        path, "torch-state", builder="measure.testing:tiny_mlp", builder_kwargs=kwargs
    )


def _check_gap(record: RunRecord) -> None:
    assert record.status == "ok" and record.latency is not None
    assert record.provenance is not None
    assert record.provenance.input_shapes == {
        name: [BATCH, FEATURES] for name in record.provenance.input_shapes
    }
    serving = record.serving
    assert serving is not None and serving.e2e is not None, serving
    assert serving.load_ms is not None and serving.load_ms > 0
    assert serving.first_run_ms is not None and serving.first_run_ms > 0
    gap_ms = serving.e2e.p50_ms - record.latency.p50_ms
    bound_ms = INPUT_BYTES / BANDWIDTH_BYTES_PER_S * 1000
    copy_ms = _copy_ms()
    print(
        f"{record.spec.runtime}: device-resident p50 {record.latency.p50_ms:.3f} ms, "
        f"end-to-end p50 {serving.e2e.p50_ms:.3f} ms, gap {gap_ms:.3f} ms; 64 MiB copy "
        f"{copy_ms:.3f} ms (torch, pageable), bound {bound_ms:.3f} ms; load "
        f"{serving.load_ms:.1f} ms, first run {serving.first_run_ms:.1f} ms"
    )
    assert gap_ms >= bound_ms


def test_torch_e2e_pays_the_input_copy(tmp_path: Path) -> None:
    spec = testing.make_spec(_wide_state(tmp_path / "wide.pt"), "torch", batch_size=BATCH)
    _check_gap(profile_run(dataclasses.replace(spec, device="cuda:0", budget=BUDGET)))


def test_ort_cuda_e2e_pays_the_input_copy(tmp_path: Path) -> None:
    if not ort_has_cuda():
        pytest.skip("onnxruntime here has no CUDA provider (install onnxruntime-gpu)")
    spec = testing.make_spec(_wide_onnx(tmp_path / "wide.onnx"), "ort", batch_size=BATCH)
    _check_gap(profile_run(dataclasses.replace(spec, device="cuda:0", budget=BUDGET)))
