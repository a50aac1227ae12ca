"""Tests of the runtime adapters on tiny real models: outputs, metadata and mapped errors."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
import torch

from measure import testing
from measure.runtimes import InputSpec, concrete_shape, random_batch, runtime_for
from measure.runtimes.ort import onnx_param_count
from paretoscope.core.errors import InputError, MeasurementError, UnavailableError
from paretoscope.core.records import RunSpec

from .conftest import Zoo

MLP_PARAMS = 64 * 32 + 32 + 32 * 10 + 10


def _spec(zoo: Zoo, which: str, **changes: Any) -> RunSpec:
    spec = testing.make_spec(getattr(zoo, which), "ort" if "onnx" in which else "torch")
    return dataclasses.replace(spec, **changes)


# --- onnxruntime ---------------------------------------------------------------------------


def test_ort_session_matches_onnxruntime_called_directly(
    zoo: Zoo, reference_logits: Callable[[np.ndarray], np.ndarray]
) -> None:
    session = runtime_for("ort").load(_spec(zoo, "onnx"))
    assert session.inputs == (InputSpec("x", ("batch", 64), "float32"),)
    assert session.input_shapes == {"x": [-1, 64]}
    assert session.execution_provider == "CPUExecutionProvider"
    assert session.version == ort.__version__
    assert session.params == MLP_PARAMS
    x = zoo.x_eval[:7].astype(np.float64)  # cast to the declared float32 by the session
    out = session.run({"x": x})
    direct = ort.InferenceSession(zoo.onnx.path, providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(out, direct.run(None, {"x": x.astype(np.float32)})[0])
    np.testing.assert_allclose(out, reference_logits(x), rtol=1e-4, atol=1e-4)
    env = session.env()
    assert env["ort_intra_op_num_threads"] == "1" and env["ort_inter_op_num_threads"] == "1"
    assert env["ort_execution_mode"] == "ORT_SEQUENTIAL"


def test_ort_step_fn_runs_the_bound_batch(zoo: Zoo) -> None:
    session = runtime_for("ort").load(_spec(zoo, "onnx", threads=2))
    assert session.env()["ort_intra_op_num_threads"] == "2"
    step = session.step_fn({"x": zoo.x_eval[:4]})
    for _ in range(3):
        step()
    assert not session.needs_sync


def test_int8_params_count_weights_not_quantization_metadata(zoo: Zoo) -> None:
    # 2410 float weights become 2410 int8 weights plus scales and zero points.
    assert onnx_param_count(Path(zoo.onnx_int8.path)) == MLP_PARAMS
    session = runtime_for("ort").load(_spec(zoo, "onnx_int8"))
    assert session.params == MLP_PARAMS


def test_ort_refuses_a_precision_it_cannot_apply(zoo: Zoo) -> None:
    with pytest.raises(InputError, match="quantize the model offline"):
        runtime_for("ort").load(_spec(zoo, "onnx", precision="int8"))


def test_ort_maps_bad_files_and_inputs(zoo: Zoo, tmp_path: Path) -> None:
    ort_rt = runtime_for("ort")
    missing = dataclasses.replace(zoo.onnx, path=str(tmp_path / "nope.onnx"))
    with pytest.raises(InputError, match="model file not found"):
        ort_rt.load(_spec(zoo, "onnx", artifact=missing))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"this is not a protobuf")
    with pytest.raises(InputError, match="onnxruntime cannot load") as info:
        ort_rt.load(_spec(zoo, "onnx", artifact=dataclasses.replace(zoo.onnx, path=str(junk))))
    assert info.value.__cause__ is not None
    with pytest.raises(InputError, match="loads ONNX files"):
        ort_rt.load(_spec(zoo, "onnx", artifact=zoo.state))
    session = ort_rt.load(_spec(zoo, "onnx"))
    with pytest.raises(InputError, match="rejected the inputs"):
        session.run({"x": np.zeros((2, 5), np.float32)})
    with pytest.raises(InputError, match="missing model inputs: x"):
        session.run({"y": np.zeros((2, 64), np.float32)})


def test_ort_has_no_gpu_here(zoo: Zoo) -> None:
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    with pytest.raises(UnavailableError, match="onnxruntime-gpu"):
        runtime_for("ort").load(_spec(zoo, "onnx", device="cuda:0"))


# --- torch eager ---------------------------------------------------------------------------


def test_torch_state_session_matches_numpy(
    zoo: Zoo, reference_logits: Callable[[np.ndarray], np.ndarray]
) -> None:
    session = runtime_for("torch").load(_spec(zoo, "state"))
    assert session.inputs == (InputSpec("input", ("batch", 64), "float32"),)
    assert session.params == MLP_PARAMS
    assert session.execution_provider == "eager:cpu"
    assert session.version == torch.__version__
    x = zoo.x_eval[:9]
    out = session.run(session.feed(x))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, reference_logits(x), rtol=1e-4, atol=1e-4)
    assert session.env()["torch_num_threads"] == "1"
    step = session.step_fn(session.feed(x))
    with session.timing_context():
        step()
    step()  # outside the context the step enters inference mode itself


@pytest.mark.parametrize("precision", ["int8", "bf16", "fp16"])
def test_torch_precisions_run_and_stay_close(
    zoo: Zoo, reference_logits: Callable[[np.ndarray], np.ndarray], precision: str
) -> None:
    session = runtime_for("torch").load(_spec(zoo, "state", precision=precision))
    assert session.params == MLP_PARAMS  # counted before the transformation
    x = zoo.x_eval[:32]
    out = session.run(session.feed(x))
    ref = reference_logits(x)
    assert np.isfinite(out).all()
    # Same predictions on nearly all items; the logits move by the precision's error.
    assert (out.argmax(1) == ref.argmax(1)).mean() >= 0.9
    if precision == "int8":
        assert session.env()["torch_quantized_engine"]
        assert any("int8" in note for note in session.notes)


def test_pt2_program_declares_a_symbolic_batch(
    zoo: Zoo, reference_logits: Callable[[np.ndarray], np.ndarray]
) -> None:
    session = runtime_for("torch").load(_spec(zoo, "pt2"))
    (inp,) = session.inputs
    assert isinstance(inp.shape[0], str) and inp.shape[1:] == (64,)
    assert inp.batch_fixed is None
    assert session.params == MLP_PARAMS
    x = zoo.x_eval[:5]
    np.testing.assert_allclose(
        session.run(session.feed(x)), reference_logits(x), rtol=1e-4, atol=1e-4
    )


@pytest.mark.parametrize(
    ("builder", "kwargs", "match"),
    [
        ("nowhere.module:f", {}, "cannot import the builder module 'nowhere.module'"),
        ("measure.testing:no_such_function", {}, "has no function 'no_such_function'"),
        ("measure.testing", {}, "needs a builder 'module:function'"),
        ("measure.testing:failing_builder", {"message": "boom"}, "raised RuntimeError: boom"),
        ("measure.testing:digits_split", {"n_eval": 10}, "returned tuple, not an nn.Module"),
        ("measure.testing:tiny_mlp", {"hidden": 16}, "do not fit the builder's module"),
    ],
)
def test_torch_builder_problems_are_input_errors(
    zoo: Zoo, builder: str, kwargs: dict[str, object], match: str
) -> None:
    artifact = dataclasses.replace(zoo.state, builder=builder, builder_kwargs=kwargs)
    with pytest.raises(InputError, match=match):
        runtime_for("torch").load(_spec(zoo, "state", artifact=artifact))


def test_torch_refuses_unsafe_or_foreign_files(zoo: Zoo, tmp_path: Path) -> None:
    # A pickled module is refused by weights_only=True: a state file cannot run code.
    pickled = tmp_path / "module.pt"
    torch.save(testing.tiny_mlp(), pickled)
    artifact = dataclasses.replace(zoo.state, path=str(pickled))
    with pytest.raises(InputError, match="weights_only=True"):
        runtime_for("torch").load(_spec(zoo, "state", artifact=artifact))
    with pytest.raises(InputError, match="'torch-state' and 'pt2'"):
        runtime_for("torch").load(_spec(zoo, "state", artifact=zoo.onnx))
    with pytest.raises(InputError, match="needs a model quantized offline"):
        runtime_for("torch").load(_spec(zoo, "state", precision="int8-static"))


def test_torch_model_failures_are_measurement_errors(zoo: Zoo) -> None:
    session = runtime_for("torch").load(_spec(zoo, "state"))
    with pytest.raises(MeasurementError, match=r"failed on inputs of shape \[2, 5\]"):
        session.run({"input": np.zeros((2, 5), np.float32)})


def test_unknown_runtime() -> None:
    with pytest.raises(InputError, match="unknown runtime 'tvm'"):
        runtime_for("tvm")


# --- shapes --------------------------------------------------------------------------------


def test_concrete_shapes_and_random_batches() -> None:
    image = InputSpec("pixels", ("batch", 3, "size", "size"), "float32")
    ids = InputSpec("ids", ("batch", "seq"), "int64")
    mask = InputSpec("mask", (4, "seq"), "bool")
    assert concrete_shape(image, 2, {"size": 8}) == (2, 3, 8, 8)
    batch = random_batch((ids, mask), 4, {"seq": 16})
    assert batch["ids"].shape == (4, 16) and batch["ids"].dtype == np.int64
    assert batch["mask"].dtype == np.bool_
    with pytest.raises(InputError, match="fixed batch of 4"):
        concrete_shape(mask, 8, {"seq": 16})
    with pytest.raises(InputError, match=r"dims=\{'size': 128\}"):
        concrete_shape(image, 1, {})
    with pytest.raises(InputError, match="does not declare the size of axis 1"):
        concrete_shape(InputSpec("input", ("batch", None), "float32"), 1, {})
