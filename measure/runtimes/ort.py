"""ONNX Runtime sessions: pinned threads, sequential execution, inputs bound once for timing.

The session runs with ``intra_op_num_threads = spec.threads``,
``inter_op_num_threads = 1`` and sequential execution, so the thread count
recorded with a run is the thread count that ran it. Parameter counting reads
the ONNX file's initializers (see ``onnx_param_count``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from measure.runtimes.base import InputSpec, Session
from paretoscope.errors import InputError, MeasurementError, UnavailableError
from paretoscope.records import RunSpec

__all__ = ["OrtRuntime", "OrtSession", "onnx_param_count"]

# onnxruntime's tensor type strings → NumPy dtype names.
_ORT_DTYPES: dict[str, str] = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(float16)": "float16",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(int16)": "int16",
    "tensor(int8)": "int8",
    "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
}
# Errors onnxruntime raises for a bad file or bad inputs, as opposed to its own failures.
_USER_ERRORS: tuple[type[BaseException], ...] = (
    ort_state.InvalidArgument,
    ort_state.InvalidGraph,
    ort_state.InvalidProtobuf,
    ort_state.NoSuchFile,
    ort_state.NotImplemented,
)
# Inputs of quantization operators that carry scales and zero points, by op type.
_QUANT_META_INPUTS: dict[str, tuple[int, ...]] = {
    "QuantizeLinear": (1, 2),
    "DequantizeLinear": (1, 2),
    "MatMulInteger": (2, 3),
    "ConvInteger": (2, 3),
    "QLinearMatMul": (1, 2, 4, 5, 6, 7),
    "QLinearConv": (1, 2, 4, 5, 6, 7),
    "MatMulIntegerToFloat": (2, 3, 4, 5),
    "DynamicQuantizeMatMul": (2, 3),
    "QAttention": (3, 4, 6, 7),
}


def onnx_param_count(path: Path) -> int | None:
    """Number of weights and biases in the ONNX model at ``path``; None if onnx is absent.

    Counts the elements of initializers holding floats or 8-bit integers
    (weights quantized to int8 count once each, like the floats they
    replace), and 32-bit integers only where they are dequantized (int32
    biases of static quantization). Left out: quantization metadata, that
    is, initializers used as scales or zero points of quantization operators
    or named ``*_scale`` / ``*_zero_point`` (onnxruntime's dynamic
    quantization multiplies its weight scales in separate ``Mul`` nodes),
    and int64 initializers, which are shapes and indices. External data is
    not read: sizes come from the tensor dims.
    """
    try:
        import onnx
    except ImportError:
        return None
    model = onnx.load(str(path), load_external_data=False)
    graph = model.graph
    meta: set[str] = set()
    dequantized: set[str] = set()
    for node in graph.node:
        for pos in _QUANT_META_INPUTS.get(node.op_type, ()):
            if pos < len(node.input):
                meta.add(node.input[pos])
        if node.op_type == "DequantizeLinear" and node.input:
            dequantized.add(node.input[0])
    counted_types = {
        onnx.TensorProto.FLOAT,
        onnx.TensorProto.DOUBLE,
        onnx.TensorProto.FLOAT16,
        onnx.TensorProto.BFLOAT16,
        onnx.TensorProto.INT8,
        onnx.TensorProto.UINT8,
    }
    total = 0
    for init in graph.initializer:
        name = init.name
        if name in meta or name.endswith(("_scale", "_zero_point")):
            continue
        dtype_ok = init.data_type in counted_types or (
            init.data_type == onnx.TensorProto.INT32 and name in dequantized
        )
        if dtype_ok:
            total += int(np.prod(init.dims, dtype=np.int64)) if init.dims else 1
    return total


def _providers(device: str) -> list[str | tuple[str, dict[str, str]]]:
    available = ort.get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    kind, _, index = device.partition(":")
    if kind == "cuda" and (index or "0").isdigit():
        if "CUDAExecutionProvider" not in available:
            raise UnavailableError(
                f"onnxruntime {ort.__version__} here has no CUDAExecutionProvider (it has "
                f"{', '.join(available)}); install onnxruntime-gpu to run on {device}"
            )
        return [("CUDAExecutionProvider", {"device_id": index or "0"})]
    raise InputError(f"unknown device {device!r}; use 'cpu' or 'cuda:N'")


def _input_spec(arg: ort.NodeArg) -> InputSpec:
    dtype = _ORT_DTYPES.get(arg.type)
    if dtype is None:
        raise InputError(f"input {arg.name!r} has type {arg.type}, which is not supported yet")
    shape = tuple(d if isinstance(d, int | str) else None for d in arg.shape)
    return InputSpec(arg.name, shape, dtype)


def _enum_name(value: object) -> str:
    return str(value).rsplit(".", 1)[-1]


class OrtSession(Session):
    """An ``onnxruntime.InferenceSession`` behind the ``Session`` interface."""

    def __init__(self, session: ort.InferenceSession, params: int | None) -> None:
        self._session = session
        self._output_names = [o.name for o in session.get_outputs()]
        self.version = ort.__version__
        self.execution_provider = session.get_providers()[0]
        self.params = params
        self.inputs = tuple(_input_spec(i) for i in session.get_inputs())

    def _cast(self, batch: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        missing = [i.name for i in self.inputs if i.name not in batch]
        if missing:
            raise InputError(f"missing model inputs: {', '.join(missing)}")
        return {i.name: np.ascontiguousarray(batch[i.name], dtype=i.dtype) for i in self.inputs}

    def run(self, batch: Mapping[str, np.ndarray]) -> np.ndarray:
        """Run one batch and return the first output. See ``Session.run``."""
        feed = self._cast(batch)
        try:
            outputs = self._session.run(self._output_names[:1], feed)
        except _USER_ERRORS as err:
            raise InputError(f"onnxruntime rejected the inputs: {err}") from err
        except Exception as err:
            raise MeasurementError(f"onnxruntime failed running the model: {err}") from err
        return np.asarray(outputs[0])

    def step_fn(self, batch: Mapping[str, np.ndarray]) -> Callable[[], object]:
        """Inputs bound once through an IOBinding; each call only runs the graph.

        Outputs stay in onnxruntime's memory (no copy to NumPy per call).
        """
        feed = self._cast(batch)
        self.run(feed)  # fail here, with a mapped error, rather than inside the timed loop
        binding = self._session.io_binding()
        for name, array in feed.items():
            binding.bind_cpu_input(name, array)
        for name in self._output_names:
            binding.bind_output(name, "cpu")
        run_with_iobinding = self._session.run_with_iobinding
        # The closure keeps ``feed`` alive: the binding points into its buffers.
        arrays = tuple(feed.values())

        def step() -> object:
            run_with_iobinding(binding)
            return arrays

        return step

    def env(self) -> dict[str, str]:
        """Thread settings of the session."""
        options = self._session.get_session_options()
        return {
            "ort_intra_op_num_threads": str(options.intra_op_num_threads),
            "ort_inter_op_num_threads": str(options.inter_op_num_threads),
            "ort_execution_mode": _enum_name(options.execution_mode),
            "ort_graph_optimization_level": _enum_name(options.graph_optimization_level),
        }


class OrtRuntime:
    """Loads ``.onnx`` artifacts with onnxruntime."""

    name = "ort"

    def load(self, spec: RunSpec) -> OrtSession:
        """Open ``spec.artifact`` as an ``InferenceSession``. See ``Runtime.load`` for errors."""
        artifact = spec.artifact
        if artifact.format != "onnx":
            raise InputError(
                f"the ort runtime loads ONNX files; artifact {artifact.path} is {artifact.format!r}"
            )
        path = Path(artifact.path)
        if not path.is_file():
            raise InputError(f"model file not found: {path}")
        if spec.precision != artifact.precision:
            raise InputError(
                f"onnxruntime runs a model at the precision it was saved in: {path.name} is "
                f"{artifact.precision} but the run asks for {spec.precision}; convert or "
                "quantize the model offline and measure that file"
            )
        if spec.threads < 1:
            raise InputError(f"threads must be >= 1, got {spec.threads}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = spec.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: warnings go to stderr, not the record
        providers = _providers(spec.device)
        try:
            session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        except _USER_ERRORS as err:
            raise InputError(f"onnxruntime cannot load {path}: {err}") from err
        except Exception as err:
            raise MeasurementError(f"onnxruntime failed loading {path}: {err}") from err
        try:
            params = onnx_param_count(path)
        except Exception:
            # Counting is a courtesy; a model onnxruntime runs but onnx cannot
            # parse (newer opset, say) is still measured.
            params = None
        return OrtSession(session, params)
