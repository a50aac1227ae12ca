"""What a measuring run needs from an ONNX file, read from its protobuf bytes without ``onnx``.

``import onnx`` costs 0.7–0.9 s (mostly ``ml_dtypes``) in every worker that
only needs a parameter count and the names of external data files. This
module walks the top-level graph's nodes and initializers with a minimal
reader of the protobuf wire format (varints and length-delimited fields;
nothing is executed) and gives the same answers as
``measure.runtimes.ort.onnx_param_count`` and the ``onnx``-based external
file listing. Field numbers are those of onnx.proto: ModelProto.graph = 7;
GraphProto.node = 1, .initializer = 5; NodeProto.input = 1, .op_type = 4;
TensorProto.dims = 1, .data_type = 2, .name = 8, .external_data = 13,
.data_location = 14; StringStringEntryProto.key = 1, .value = 2.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = ["OnnxGraphSummary", "WireError", "read_graph_summary", "wire_param_count"]

# TensorProto.DataType values.
_FLOAT, _UINT8, _INT8, _INT32, _FLOAT16, _DOUBLE, _BFLOAT16 = 1, 2, 3, 6, 10, 11, 16
_COUNTED = {_FLOAT, _DOUBLE, _FLOAT16, _BFLOAT16, _INT8, _UINT8}
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


@dataclass(frozen=True)
class _Tensor:
    name: str
    data_type: int
    dims: tuple[int, ...]
    external_location: str | None


@dataclass(frozen=True)
class OnnxGraphSummary:
    """The top-level graph's initializers and node inputs, as far as counting needs them."""

    initializers: tuple[_Tensor, ...]
    nodes: tuple[tuple[str, tuple[str, ...]], ...]  # (op_type, inputs)

    def external_files(self) -> tuple[str, ...]:
        """Locations (relative names) of the external data files initializers refer to."""
        return tuple(
            sorted({t.external_location for t in self.initializers if t.external_location})
        )


def _varint(buf: memoryview | bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise WireError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise WireError("varint too long")


def _fields(buf: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value): an int for varints and fixed, bytes for the rest."""
    pos, end = 0, len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
            yield number, wire, value
        elif wire == 1:
            pos += 8
            yield number, wire, 0
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > end:
                raise WireError("field runs past the end of its message")
            yield number, wire, buf[pos : pos + size]
            pos += size
        elif wire == 5:
            pos += 4
            yield number, wire, 0
        else:
            raise WireError(f"unsupported wire type {wire}")
        if pos > end:
            raise WireError("truncated field")


def _text(value: int | memoryview) -> str:
    return bytes(value).decode("utf-8", errors="replace") if isinstance(value, memoryview) else ""


def _tensor(buf: memoryview) -> _Tensor:
    name, data_type, dims, location, external = "", 0, [], 0, None
    for number, wire, value in _fields(buf):
        if number == 1 and wire == 0 and isinstance(value, int):
            dims.append(value - (1 << 64) if value >= 1 << 63 else value)
        elif number == 1 and wire == 2 and isinstance(value, memoryview):  # packed dims
            pos = 0
            while pos < len(value):
                dim, pos = _varint(value, pos)
                dims.append(dim - (1 << 64) if dim >= 1 << 63 else dim)
        elif number == 2 and isinstance(value, int):
            data_type = value
        elif number == 8:
            name = _text(value)
        elif number == 14 and isinstance(value, int):
            location = value
        elif number == 13 and isinstance(value, memoryview):
            entry = {n: _text(v) for n, _, v in _fields(value)}
            if entry.get(1) == "location":
                external = entry.get(2, "")
    return _Tensor(name, data_type, tuple(dims), external if location == _EXTERNAL else None)


def _node(buf: memoryview) -> tuple[str, tuple[str, ...]]:
    inputs: list[str] = []
    op_type = ""
    for number, _, value in _fields(buf):
        if number == 1:
            inputs.append(_text(value))
        elif number == 4:
            op_type = _text(value)
    return op_type, tuple(inputs)


def read_graph_summary(path: Path) -> OnnxGraphSummary:
    """The top-level graph of the ONNX file at ``path``. Raises ``WireError`` or ``OSError``."""
    view = memoryview(path.read_bytes())
    if not len(view):
        raise WireError("empty file")
    initializers: list[_Tensor] = []
    nodes: list[tuple[str, tuple[str, ...]]] = []
    for number, _, value in _fields(view):
        if number != 7 or not isinstance(value, memoryview):
            continue
        for g_number, _, g_value in _fields(value):
            if g_number == 5 and isinstance(g_value, memoryview):
                initializers.append(_tensor(g_value))
            elif g_number == 1 and isinstance(g_value, memoryview):
                nodes.append(_node(g_value))
    return OnnxGraphSummary(tuple(initializers), tuple(nodes))


def wire_param_count(
    summary: OnnxGraphSummary, quant_meta_inputs: dict[str, tuple[int, ...]]
) -> int:
    """Weights and biases in the graph, by the rules of ``ort.onnx_param_count``."""
    meta: set[str] = set()
    dequantized: set[str] = set()
    for op_type, inputs in summary.nodes:
        for pos in quant_meta_inputs.get(op_type, ()):
            if pos < len(inputs):
                meta.add(inputs[pos])
        if op_type == "DequantizeLinear" and inputs:
            dequantized.add(inputs[0])
    total = 0
    for init in summary.initializers:
        if init.name in meta or init.name.endswith(("_scale", "_zero_point")):
            continue
        if init.data_type in _COUNTED or (init.data_type == _INT32 and init.name in dequantized):
            count = 1
            for dim in init.dims:
                count *= dim
            total += count
    return total
