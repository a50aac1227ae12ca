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
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paretoscope.core.errors import InputError
from paretoscope.core.hashing import file_sha256
from paretoscope.core.launcher import exit_child, write_result
from paretoscope.core.modelinfo import ModelInfo, TensorInfo
from paretoscope.core.records import to_dict
from paretoscope.core.safety import refuse_untrusted

__all__ = [
    "ModelInfo",
    "TensorInfo",
    "export_torch",
    "external_data_files",
    "inspect_onnx",
    "main",
]

# The standard operator domains onnxruntime's CPU provider implements.
_NUMPY_DTYPES = {
    "float32",
    "float64",
    "float16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
}
_STANDARD_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "com.microsoft", "ai.onnx.preview.training"}


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
        sha256=file_sha256(path),
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


def _torch_tensor_info(name: str, val: Any) -> TensorInfo:
    import torch

    if not isinstance(val, torch.Tensor):
        raise InputError(f"the program's input or output {name!r} is not a tensor; not supported")
    shape = tuple(d if isinstance(d, int) else str(d) for d in val.shape)
    dtype = str(val.dtype).removeprefix("torch.")
    return TensorInfo(name, dtype if dtype in _NUMPY_DTYPES else f"<{dtype}>", shape)


def _program_info(program: Any, path: Path) -> ModelInfo:
    user_inputs = set(program.graph_signature.user_inputs)
    inputs: list[TensorInfo] = []
    outputs: list[TensorInfo] = []
    for node in program.graph.nodes:
        if node.op == "placeholder" and node.name in user_inputs:
            inputs.append(_torch_tensor_info(node.name, node.meta.get("val")))
        elif node.op == "output":
            args = node.args[0] if node.args else ()
            for i, arg in enumerate(args if isinstance(args, tuple | list) else (args,)):
                meta = getattr(arg, "meta", {})
                outputs.append(_torch_tensor_info(f"output{i}", meta.get("val")))
    state = program.state_dict
    params = sum(int(state[n].numel()) for n in program.graph_signature.parameters if n in state)
    return ModelInfo(
        path=str(path),
        sha256=file_sha256(path),
        size_bytes=path.stat().st_size,
        inputs=tuple(inputs),
        outputs=tuple(outputs),
        opsets={},
        ir_version=0,
        producer="torch.export",
        params=params,
        n_nodes=len(program.graph.nodes),
        format="pt2",
    )


def export_torch(target: str, out_dir: Path, *, onnx_export: bool) -> dict[str, Any]:
    """Load a trusted PyTorch model and describe it; optionally export it to ONNX.

    ``target`` is a ``.pt2`` file (torch.export) or ``module:function``
    returning ``(module, example_inputs)``; the latter is exported with a
    dynamic first dimension (static when torch.export cannot) to
    ``out_dir/model.pt2``. With ``onnx_export`` the program is also exported
    to ``out_dir/model.onnx``. Loading PyTorch files and importing modules
    runs their code: only for trusted local models. Returns
    ``{"info": ModelInfo dict, "onnx": path or None, "notes": [...]}``.
    Raises ``InputError`` when the target cannot be loaded or exported.
    """
    import contextlib
    import importlib
    import io
    import warnings

    import torch

    notes: list[str] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        path = Path(target)
        if path.is_file():
            try:
                program = torch.export.load(str(path))
            except Exception as err:
                raise InputError(
                    f"cannot load {path.name} as a torch.export program: {err}"
                ) from err
            pt2 = path
        else:
            module_name, _, func_name = target.partition(":")
            # The user's module is found in the working directory, after our
            # packages: the launcher starts children without it on sys.path.
            if os.getcwd() not in sys.path:
                sys.path.append(os.getcwd())
            try:
                func = getattr(importlib.import_module(module_name), func_name)
                built = func()
                module, example = built
            except Exception as err:
                raise InputError(
                    f"cannot build the model from {target}: {type(err).__name__}: {err}; the "
                    "function must return (torch.nn.Module, example_inputs)"
                ) from err
            example = (example,) if isinstance(example, torch.Tensor) else tuple(example)
            module = module.eval()
            try:
                dynamic = tuple({0: torch.export.Dim("batch")} for _ in example)
                program = torch.export.export(module, example, dynamic_shapes=dynamic)
            except Exception:
                program = torch.export.export(module, example)
                notes.append("torch.export could not make the batch dynamic: it is fixed")
            pt2 = out_dir / "model.pt2"
            torch.export.save(program, str(pt2))
        onnx_path = None
        if onnx_export:
            onnx_path = out_dir / "model.onnx"
            try:
                torch.onnx.export(program, (), str(onnx_path), dynamo=True, external_data=False)
            except Exception as err:
                raise InputError(
                    f"cannot export {target} to ONNX for the ort runtime: "
                    f"{type(err).__name__}: {err}; profile it with --runtime torch only"
                ) from err
    info = _program_info(program, pt2)
    return {"info": to_dict(info), "onnx": str(onnx_path) if onnx_path else None, "notes": notes}


def main(argv: Sequence[str] | None = None) -> int:
    """Child entry: inspect PATH, write ``ModelInfo`` JSON (or ``{"error": …}``) to ``--result``.

    With ``--torch OUT_DIR`` PATH is a trusted PyTorch target (see
    ``export_torch``) and the JSON is ``export_torch``'s answer.
    """
    parser = argparse.ArgumentParser(prog="python -m measure.inspect")
    parser.add_argument("path")
    parser.add_argument("--result", required=True, type=Path)
    parser.add_argument("--torch", type=Path, metavar="OUT_DIR", help="a PyTorch target")
    parser.add_argument("--onnx", action="store_true", help="with --torch: export to ONNX too")
    args = parser.parse_args(argv)
    try:
        if args.torch is not None:
            payload: Any = export_torch(args.path, args.torch, onnx_export=args.onnx)
        else:
            payload = to_dict(inspect_onnx(args.path))
    except InputError as err:
        payload = {"error": str(err)}
    write_result(args.result, payload)
    return 0


if __name__ == "__main__":
    exit_child(main)
