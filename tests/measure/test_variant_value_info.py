"""An int8 variant of a file whose exporter left stale shape annotations (seen with torch 2.11)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from measure import testing
from measure.variants import make_variant, without_value_info


def _stale(tmp_path: Path) -> Path:
    """A tiny MLP's ONNX file with a wrong ``value_info`` shape on an intermediate tensor."""
    src = testing.export_onnx(
        testing.tiny_mlp(), tmp_path / "mlp.onnx", np.zeros((1, 64), dtype=np.float32)
    )
    model = onnx.load(str(src))
    del model.graph.value_info[:]
    inner = model.graph.node[0].output[0]  # the first layer's output: (batch, 32)
    model.graph.value_info.append(
        onnx.helper.make_tensor_value_info(inner, onnx.TensorProto.FLOAT, [1, 7])
    )
    stale = tmp_path / "stale.onnx"
    onnx.save(model, str(stale))
    return stale


def test_the_quantizer_alone_rejects_the_stale_annotation(tmp_path: Path) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with pytest.raises(Exception, match=r"(?i)shape"):
        quantize_dynamic(
            str(_stale(tmp_path)), str(tmp_path / "q.onnx"), weight_type=QuantType.QInt8
        )


def test_the_int8_variant_is_made_without_it(tmp_path: Path) -> None:
    out = make_variant(_stale(tmp_path), "int8", tmp_path / "int8.onnx")
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert ops & {"MatMulInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul"}


def test_a_file_without_annotations_is_used_as_it_is(tmp_path: Path) -> None:
    src = _stale(tmp_path)
    bare = without_value_info(src, tmp_path / "bare.onnx")
    assert bare == tmp_path / "bare.onnx" and not onnx.load(str(bare)).graph.value_info
    assert without_value_info(bare, tmp_path / "again.onnx") == bare
