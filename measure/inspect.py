"""Inspect an ONNX file before anything runs: inputs, outputs, opsets, size, external data.

``inspect_onnx(path)`` parses the file with ``onnx`` (external data not
loaded), refuses external-data locations that are absolute or leave the
model's folder, counts parameters, and asks onnxruntime to create a session
(so an operator it cannot run is found now, not in the middle of a sweep).
Parsing a hostile file could crash the process: callers outside a worker use
``paretoscope.profiling.inspect_in_worker``, which runs
``python -m measure.inspect PATH --result FILE`` and reads FILE (JSON: a
``ModelInfo``, or ``{"error": message}``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paretoscope.errors import InputError
from paretoscope.profiling import ModelInfo, TensorInfo
from paretoscope.records import to_dict
from paretoscope.safety import refuse_untrusted

__all__ = ["ModelInfo", "TensorInfo", "external_data_files", "inspect_onnx", "main"]

# The standard operator domains onnxruntime's CPU provider implements.
_STANDARD_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "com.microsoft", "ai.onnx.preview.training"}


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _dtype_name(elem_type: int) -> str:
    import numpy as np
    import onnx

    try:
        return str(np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type)))
    except Exception:
        return f"<{onnx.TensorProto.DataType.Name(elem_type).lower()}>"


def _tensor_info(value: Any) -> TensorInfo:
    if not value.type.HasField("tensor_type"):
        return TensorInfo(value.name, f"<{value.type.WhichOneof('value')}>", ())
    tt = value.type.tensor_type
    shape: list[int | str | None] = []
    if tt.HasField("shape"):
        for d in tt.shape.dim:
            if d.HasField("dim_value"):
                shape.append(int(d.dim_value))
            elif d.HasField("dim_param") and d.dim_param:
                shape.append(str(d.dim_param))
            else:
                shape.append(None)
    return TensorInfo(value.name, _dtype_name(tt.elem_type), tuple(shape))


def external_data_files(model: Any, folder: Path) -> tuple[str, ...]:
    """Relative names of the external data files ``model`` refers to, all inside ``folder``.

    Raises ``InputError`` when a location is absolute, leaves ``folder``
    (``..``, a symlink out) or names a file that does not exist.
    """
    import onnx

    folder = folder.resolve()
    names: dict[str, None] = {}
    tensors = list(model.graph.initializer)
    for node in model.graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                tensors.append(attr.t)
    for init in tensors:
        if init.data_location != onnx.TensorProto.EXTERNAL:
            continue
        location = next((e.value for e in init.external_data if e.key == "location"), "")
        if not location:
            raise InputError(
                f"not a valid ONNX model: tensor {init.name!r} has external data without a location"
            )
        if os.path.isabs(location) or location.startswith(("/", "\\")) or ":" in location[:3]:
            raise InputError(
                f"refused: the model's external data for tensor {init.name!r} is at the absolute "
                f"path {location!r}; external data must sit in the model's own folder"
            )
        target = (folder / location).resolve()
        if folder != target.parent and folder not in target.parents:
            raise InputError(
                f"refused: the model's external data for tensor {init.name!r} points outside "
                f"its folder ({location!r}); external data must sit in the model's own folder"
            )
        if not target.is_file():
            raise InputError(
                f"the model's external data file {location!r} (tensor {init.name!r}) is missing; "
                "put it beside the .onnx file"
            )
        names.setdefault(os.path.relpath(target, folder), None)
    return tuple(names)


def _ort_error(path: Path) -> str | None:
    """Why onnxruntime cannot create a CPU session for ``path``, or None when it can."""
    try:
        import onnxruntime as ort
    except ImportError:
        return None
    options = ort.SessionOptions()
    options.log_severity_level = 4
    options.intra_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    try:
        ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as err:
        text = str(err).strip().replace("\n", " ")
        return text[:600]
    return None


def inspect_onnx(path: str | Path, *, check_runtime: bool = True) -> ModelInfo:
    """What the ONNX file at ``path`` declares, and whether onnxruntime can run it.

    Never loads external data into memory and never unpickles anything.
    ``check_runtime`` creates (and drops) an onnxruntime session to fill
    ``ort_error``. Raises ``InputError`` for a pickle, a file that is not a
    valid ONNX model (``not a valid ONNX model: …``), and external data that
    is absolute, outside the model's folder or missing.
    """
    import onnx
    from google.protobuf.message import DecodeError

    path = Path(path)
    refuse_untrusted(path, {"onnx-candidate"})
    try:
        model = onnx.load(str(path), load_external_data=False)
    except (DecodeError, ValueError, RuntimeError, OSError) as err:
        raise InputError(f"not a valid ONNX model: {path.name} cannot be parsed ({err})") from err
    except Exception as err:  # protobuf raises assorted types on garbage
        raise InputError(f"not a valid ONNX model: {path.name} cannot be parsed ({err})") from err
    graph = model.graph
    if model.ir_version <= 0 or (not graph.node and not graph.output):
        raise InputError(
            f"not a valid ONNX model: {path.name} parses but holds no graph (ir_version "
            f"{model.ir_version}, {len(graph.node)} nodes); it may be truncated or another format"
        )
    external = external_data_files(model, path.parent)
    try:
        # With external data the checker must know the model's folder: give it the path.
        onnx.checker.check_model(str(path) if external else model, full_check=False)
    except onnx.checker.ValidationError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise InputError(
            f"not a valid ONNX model: {path.name} fails onnx's checker: {first}"
        ) from err
    initializer_names = {i.name for i in graph.initializer}
    inputs = tuple(_tensor_info(v) for v in graph.input if v.name not in initializer_names)
    outputs = tuple(_tensor_info(v) for v in graph.output)
    opsets = {o.domain: int(o.version) for o in model.opset_import}
    custom = sorted(
        {f"{n.domain}::{n.op_type}" for n in graph.node if n.domain not in _STANDARD_DOMAINS}
    )
    try:
        from measure.runtimes.ort import onnx_param_count

        params = onnx_param_count(path)
    except Exception:
        params = None
    size = path.stat().st_size + sum((path.parent / n).stat().st_size for n in external)
    return ModelInfo(
        path=str(path),
        sha256=_sha256(path),
        size_bytes=size,
        inputs=inputs,
        outputs=outputs,
        opsets=opsets,
        ir_version=int(model.ir_version),
        producer=" ".join(p for p in (model.producer_name, model.producer_version) if p),
        params=params,
        external_data=external,
        custom_ops=tuple(custom),
        n_nodes=len(graph.node),
        ort_error=_ort_error(path) if check_runtime else None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Child entry: inspect PATH, write ``ModelInfo`` JSON (or ``{"error": …}``) to ``--result``."""
    parser = argparse.ArgumentParser(prog="python -m measure.inspect")
    parser.add_argument("path", type=Path)
    parser.add_argument("--result", required=True, type=Path)
    args = parser.parse_args(argv)
    try:
        payload: Any = to_dict(inspect_onnx(args.path))
    except InputError as err:
        payload = {"error": str(err)}
    tmp = args.result.with_name(args.result.name + ".partial")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, args.result)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
