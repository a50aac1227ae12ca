"""Tiny real ONNX models built with ``onnx.helper`` for the profiling tests, well-behaved and not.

Each builder writes one ``.onnx`` file and returns its path. Weights are
NumPy arrays fixed by a seed, so an independent NumPy computation can check
what onnxruntime measured.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8


def _save(
    graph: onnx.GraphProto, path: Path, extra_opsets: tuple[tuple[str, int], ...] = ()
) -> Path:
    opsets = [helper.make_opsetid("", OPSET), *(helper.make_opsetid(d, v) for d, v in extra_opsets)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="paretoscope-tests")
    model.ir_version = IR_VERSION
    onnx.save(model, str(path))
    return path


def mlp_weights(
    x: np.ndarray, labels: np.ndarray, hidden: int = 48, seed: int = 0
) -> dict[str, np.ndarray]:
    """Random ReLU features plus a least-squares read-out: a plausible classifier, fitted in ms."""
    rng = np.random.default_rng(seed)
    w1 = (rng.standard_normal((x.shape[1], hidden)) / np.sqrt(x.shape[1])).astype(np.float32)
    b1 = rng.standard_normal(hidden).astype(np.float32) * 0.1
    h = np.maximum(x @ w1 + b1, 0)
    classes = int(labels.max()) + 1
    onehot = np.eye(classes)[labels]
    hb = np.hstack([h, np.ones((len(h), 1))])
    # Ridge, not plain least squares: small read-out weights quantize well.
    sol = np.linalg.solve(hb.T @ hb + 1.0 * np.eye(hb.shape[1]), hb.T @ onehot)
    return {
        "w1": w1,
        "b1": b1,
        "w2": sol[:-1].astype(np.float32),
        "b2": sol[-1].astype(np.float32),
    }


def mlp_reference(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """The MLP's logits computed with NumPy alone (float64)."""
    h = np.maximum(x.astype(np.float64) @ weights["w1"] + weights["b1"], 0)
    out: np.ndarray = h @ weights["w2"] + weights["b2"]
    return out


def mlp(
    path: Path, weights: dict[str, np.ndarray], *, batch: int | str = "batch", nan: bool = False
) -> Path:
    """``x [batch, F] → MatMul → Add → Relu → MatMul → Add → logits [batch, C]``.

    With ``nan``, the logits pass through ``Sqrt``: negative logits become NaN.
    """
    f = weights["w1"].shape[0]
    c = weights["w2"].shape[1]
    inits = [numpy_helper.from_array(v, k) for k, v in weights.items()]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h0"]),
        helper.make_node("Add", ["h0", "b1"], ["h1"]),
        helper.make_node("Relu", ["h1"], ["h2"]),
        helper.make_node("MatMul", ["h2", "w2"], ["o0"]),
        helper.make_node("Add", ["o0", "b2"], ["o1" if nan else "logits"]),
    ]
    if nan:
        nodes.append(helper.make_node("Sqrt", ["o1"], ["logits"]))
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, f])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, c])],
        inits,
    )
    return _save(graph, path)


def regressor(path: Path, w: np.ndarray) -> Path:
    """``x [batch, F] → MatMul(w [F, 1]) → y [batch, 1]``."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "regressor",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", w.shape[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 1])],
        [numpy_helper.from_array(w.astype(np.float32), "w")],
    )
    return _save(graph, path)


def two_inputs(path: Path, seed: int = 0) -> Path:
    """Inputs ``a [batch, 4]`` and ``b [batch, 3]``, concatenated, → ``logits [batch, 3]``."""
    w = np.random.default_rng(seed).standard_normal((7, 3)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Concat", ["a", "b"], ["ab"], axis=1),
            helper.make_node("MatMul", ["ab", "w"], ["logits"]),
        ],
        "two_inputs",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", 4]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, ["batch", 3]),
        ],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(w, "w")],
    )
    return _save(graph, path)


def token_classifier(path: Path, vocab: int = 100, dim: int = 8, classes: int = 4) -> Path:
    """``ids int64 [batch, seq] → Gather(embedding) → ReduceMean(seq) → MatMul → [batch, C]``.

    ``vocab`` is at least 100: random inputs (no data) draw token ids from [0, 100).
    """
    rng = np.random.default_rng(1)
    emb = rng.standard_normal((vocab, dim)).astype(np.float32)
    w = rng.standard_normal((dim, classes)).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["emb", "ids"], ["e"], axis=0),
            helper.make_node("ReduceMean", ["e"], ["m"], axes=[1], keepdims=0),
            helper.make_node("MatMul", ["m", "w"], ["logits"]),
        ],
        "tokens",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", classes])],
        [numpy_helper.from_array(emb, "emb"), numpy_helper.from_array(w, "w")],
    )
    return _save(graph, path)


def custom_op(path: Path) -> Path:
    """A model whose one node is ``com.example::FancyOp``, which onnxruntime does not have."""
    graph = helper.make_graph(
        [helper.make_node("FancyOp", ["x"], ["y"], domain="com.example")],
        "custom",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 4])],
    )
    return _save(graph, path, (("com.example", 1),))


def hanging(path: Path, features: int = 4) -> Path:
    """A ``Loop`` of 10^12 iterations before the output: it never finishes in a test."""
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Add", ["acc_in", "one"], ["acc_out"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_in", TensorProto.FLOAT, ["batch", features]),
        ],
        [
            helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
            helper.make_tensor_value_info("acc_out", TensorProto.FLOAT, ["batch", features]),
        ],
        [numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one")],
    )
    graph = helper.make_graph(
        [helper.make_node("Loop", ["trips", "cond", "x"], ["y"], body=body)],
        "hang",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", features])],
        [
            numpy_helper.from_array(np.array(10**12, dtype=np.int64), "trips"),
            numpy_helper.from_array(np.array(True), "cond"),
        ],
    )
    return _save(graph, path)


def memory_hog(path: Path, mb: int = 800, features: int = 4) -> Path:
    """Each run materialises an ``mb`` MB float tensor (shape taken from the input, not folded)."""
    n = mb * 1_000_000 // 4
    graph = helper.make_graph(
        [
            helper.make_node("Shape", ["x"], ["s"]),
            helper.make_node("Gather", ["s", "zero"], ["b"], axis=0),  # the batch, as [1]
            helper.make_node("Mul", ["b", "n"], ["len"]),
            helper.make_node(
                "ConstantOfShape",
                ["len"],
                ["big"],
                value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0]),
            ),
            helper.make_node("ReduceSum", ["big"], ["total"], keepdims=1),
            helper.make_node("Add", ["x", "total"], ["y"]),
        ],
        "hog",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", features])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", features])],
        [
            numpy_helper.from_array(np.array([0], dtype=np.int64), "zero"),
            numpy_helper.from_array(np.array([n], dtype=np.int64), "n"),
        ],
    )
    return _save(graph, path)


def with_external_data(path: Path, location: str) -> Path:
    """A one-node model whose weight claims to live in the external file ``location``."""
    w = numpy_helper.from_array(np.ones((4, 2), dtype=np.float32), "w")
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    entry = w.external_data.add()
    entry.key, entry.value = "location", location
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "external",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 2])],
        [w],
    )
    return _save(graph, path)


class FileCreator:
    """Unpickling this creates ``marker``: proof that a pickle was (or was not) executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.marker), "w"))


def pickle_payload(path: Path, marker: Path, *, as_torch_zip: bool = False) -> Path:
    """A pickle that would create ``marker`` when loaded, bare or inside a torch-style zip."""
    data = pickle.dumps(FileCreator(marker), protocol=4)
    if as_torch_zip:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("archive/data.pkl", data)
            zf.writestr("archive/version", "3\n")
    else:
        path.write_bytes(data)
    return path
