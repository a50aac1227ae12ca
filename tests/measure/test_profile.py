"""Tests of one in-process measurement: every field of the record is plausible and consistent."""

from __future__ import annotations

import dataclasses
import platform
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from measure import testing
from measure.profile import STAGES, profile_run
from paretoscope.core.errors import InputError, MeasurementError
from paretoscope.core.records import RunRecord, from_dict, to_dict

from .conftest import Zoo


def _check_record(record: RunRecord, zoo: Zoo, batch_size: int) -> None:
    assert record.status == "ok" and record.error is None
    assert record.started_at <= record.finished_at and record.started_at.endswith("+00:00")
    lat = record.latency
    assert lat is not None
    assert 0 < lat.min_ms <= lat.p50_ms <= lat.p90_ms <= lat.p99_ms <= lat.max_ms < 1000
    assert lat.ci_low_ms <= lat.p50_ms <= lat.ci_high_ms
    assert lat.n_iter >= testing.QUICK_BUDGET.min_iters or lat.stop_reason == "max_time"
    assert lat.warmup_iter == testing.QUICK_BUDGET.warmup_iters
    assert record.throughput_per_s == pytest.approx(batch_size / (lat.p50_ms / 1000))
    assert record.memory is not None and record.memory.source == "vmhwm"
    assert record.memory.baseline_mem_mb is not None and record.memory.peak_mem_mb is not None
    assert record.memory.peak_mem_mb >= record.memory.baseline_mem_mb > 10
    assert record.energy is not None
    if record.energy.energy_j is None:
        assert record.energy.unavailable_reason
    else:
        assert record.energy.energy_j > 0 and record.energy.source == "rapl"
    assert record.params == 64 * 32 + 32 + 32 * 10 + 10
    assert record.host is not None and record.device is not None
    assert record.device.device_id == f"{record.host.host_id}:cpu"
    prov = record.provenance
    assert prov is not None
    assert prov.library_versions["python"] == platform.python_version()
    assert prov.library_versions["numpy"] == np.__version__
    assert prov.env["OMP_NUM_THREADS"] == "1" and prov.env["threads"] == "1"
    # The record crosses process boundaries as JSON: it must come back equal.
    assert from_dict(RunRecord, to_dict(record)) == record


def _accuracy(record: RunRecord) -> dict[str, float]:
    return {a.metric: a.value for a in record.accuracy}


def _top1(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(axis=1) == labels).mean())


@pytest.mark.parametrize("batch_size", [1, 8])
def test_ort_fp32(
    zoo: Zoo, reference_logits: Callable[[np.ndarray], np.ndarray], batch_size: int
) -> None:
    stages: list[str] = []
    spec = testing.make_spec(zoo.onnx, "ort", dataset=zoo.dataset, batch_size=batch_size)
    record = profile_run(spec, on_stage=stages.append)
    _check_record(record, zoo, batch_size)
    assert stages == list(STAGES)
    assert record.model_size_mb == Path(zoo.onnx.path).stat().st_size / 1e6
    assert record.provenance is not None
    assert record.provenance.execution_provider == "CPUExecutionProvider"
    assert record.provenance.runtime_version == ort.__version__
    assert record.provenance.input_shapes == {"x": [batch_size, 64]}
    assert record.provenance.env["ort_intra_op_num_threads"] == "1"
    assert _accuracy(record)["top1"] == pytest.approx(
        _top1(reference_logits(zoo.x_eval), zoo.y_eval), abs=1 / 300
    )


def test_ort_int8_accuracy_is_measured_not_copied(zoo: Zoo) -> None:
    record = profile_run(testing.make_spec(zoo.onnx_int8, "ort", dataset=zoo.dataset))
    _check_record(record, zoo, 1)
    # Dynamic int8 quantizes each input tensor with its own scale, so the
    # reference must see the same batches as the run: batch 1, one thread.
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    direct = ort.InferenceSession(zoo.onnx_int8.path, options, providers=["CPUExecutionProvider"])
    logits = np.concatenate([direct.run(None, {"x": x[None]})[0] for x in zoo.x_eval])
    assert _accuracy(record)["top1"] == _top1(logits, zoo.y_eval)
    assert (
        record.model_size_mb is not None
        and record.model_size_mb < Path(zoo.onnx.path).stat().st_size / 1e6
    )


@pytest.mark.parametrize("precision", ["fp32", "int8"])
def test_torch_state(
    zoo: Zoo, reference_logits: Callable[[np.ndarray], np.ndarray], precision: str
) -> None:
    spec = testing.make_spec(zoo.state, "torch", dataset=zoo.dataset, precision=precision)
    record = profile_run(spec)
    _check_record(record, zoo, 1)
    assert record.provenance is not None
    assert record.provenance.execution_provider == "eager:cpu"
    assert record.provenance.input_shapes == {"input": [1, 64]}
    assert record.provenance.env["torch_num_threads"] == "1"
    expected = _top1(reference_logits(zoo.x_eval), zoo.y_eval)
    assert _accuracy(record)["top1"] == pytest.approx(
        expected, abs=0.02 if precision == "int8" else 1 / 300
    )
    if precision == "int8":
        assert any("int8" in n for n in record.provenance.notes)


def test_torch_pt2(zoo: Zoo) -> None:
    record = profile_run(testing.make_spec(zoo.pt2, "torch", dataset=zoo.dataset, batch_size=4))
    _check_record(record, zoo, 4)


def test_without_a_data_set_times_random_inputs(zoo: Zoo) -> None:
    record = profile_run(testing.make_spec(zoo.onnx, "ort", batch_size=3))
    assert record.status == "ok" and record.accuracy == ()
    assert record.provenance is not None
    assert record.provenance.input_shapes == {"x": [3, 64]}
    assert "timed on random inputs (no data set)" in record.provenance.notes


def test_a_batch_larger_than_the_data_set_repeats_items(zoo: Zoo, tmp_path: Path) -> None:
    small = testing.write_dataset(tmp_path / "small.npz", zoo.x_eval[:5], zoo.y_eval[:5])
    spec = testing.make_spec(zoo.onnx, "ort", dataset=testing.dataset_ref(small), batch_size=12)
    record = profile_run(spec)
    assert record.provenance is not None
    assert record.provenance.input_shapes == {"x": [12, 64]}
    assert any("repeats" in n for n in record.provenance.notes)
    assert record.accuracy[0].n_samples == 5


def test_invalid_specs_raise_input_errors(zoo: Zoo) -> None:
    spec = testing.make_spec(zoo.onnx, "ort")
    with pytest.raises(InputError, match="batch_size must be >= 1"):
        profile_run(dataclasses.replace(spec, batch_size=0))
    with pytest.raises(InputError, match="threads must be >= 1"):
        profile_run(dataclasses.replace(spec, threads=0))


@pytest.mark.gpu
def test_torch_on_cuda_reports_device_memory(zoo: Zoo) -> None:
    import torch

    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU here")
    spec = dataclasses.replace(
        testing.make_spec(zoo.state, "torch", dataset=zoo.dataset, batch_size=32), device="cuda:0"
    )
    record = profile_run(spec)
    assert record.status == "ok"
    assert record.host is not None and record.device is not None
    assert record.device.kind == "cuda"
    assert record.device.device_id.startswith(f"{record.host.host_id}:cuda:")
    assert record.memory is not None
    # With NVML (as on an NVIDIA host) the process's device memory, else the allocator's peak.
    assert record.memory.source in ("nvml-process", "torch-allocator")
    assert record.memory.device_peak_reserved_mb is not None
    assert record.memory.peak_mem_mb is not None and record.memory.peak_mem_mb > 0
    assert record.memory.peak_host_mem_mb is not None and record.memory.peak_host_mem_mb > 0
    assert record.provenance is not None
    assert record.provenance.execution_provider == "eager:cuda:0"


def _all_nan_onnx(path: Path, value: float = float("nan")) -> Path:
    """``y = x * value``: with NaN (or infinity) every output is non-finite, whatever the input."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "c"], ["y"])],
        "non-finite",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
        [numpy_helper.from_array(np.array([value], dtype=np.float32), "c")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.mark.parametrize(("value", "counts"), [(float("nan"), "8 NaN and 0"), (np.inf, "0 NaN")])
def test_non_finite_outputs_without_data_fail_the_run(
    tmp_path: Path, value: float, counts: str
) -> None:
    model = _all_nan_onnx(tmp_path / "bad.onnx", value)
    spec = testing.make_spec(testing.artifact_ref(model, "onnx"), "ort", batch_size=2)
    assert spec.dataset is None
    with pytest.raises(MeasurementError, match="non-finite outputs on 2 of 2 items") as err:
        profile_run(spec)
    assert counts in str(err.value) and "NaN or infinity" in str(err.value)
