"""ONNX Runtime sessions: pinned threads, sequential execution, inputs bound once for timing.

The session runs with ``intra_op_num_threads = spec.threads``,
``inter_op_num_threads = 1`` and sequential execution, so the thread count
recorded with a run is the thread count that ran it. Parameter counting reads
the ONNX file's initializers (see ``onnx_param_count``).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

from measure.runtimes.base import InputSpec, Session
from paretoscope.core.errors import InputError, MeasurementError, UnavailableError
from paretoscope.core.records import RunSpec

__all__ = [
    "ASSIGNMENT_CONFIG_KEY",
    "OrtRuntime",
    "OrtSession",
    "node_placement",
    "onnx_param_count",
    "placement_notes",
]

# Session option (onnxruntime >= 1.23) that makes it keep which execution
# provider each node was assigned to, for get_provider_graph_assignment_info().
ASSIGNMENT_CONFIG_KEY = "session.record_ep_graph_assignment_info"

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
    """Number of weights and biases in the ONNX model at ``path``; None if it cannot be read.

    Counts the elements of initializers holding floats or 8-bit integers
    (weights quantized to int8 count once each, like the floats they
    replace), and 32-bit integers only where they are dequantized (int32
    biases of static quantization). Left out: quantization metadata, that
    is, initializers used as scales or zero points of quantization operators
    or named ``*_scale`` / ``*_zero_point`` (onnxruntime's dynamic
    quantization multiplies its weight scales in separate ``Mul`` nodes),
    and int64 initializers, which are shapes and indices. External data is
    not read: sizes come from the tensor dims.

    The file is read by ``measure.runtimes.onnx_wire`` (no ``import onnx``,
    which costs most of a second); ``onnx`` is the fallback for a file that
    reader cannot parse (``_onnx_param_count``).
    """
    from measure.runtimes.onnx_wire import WireError, read_graph_summary, wire_param_count

    try:
        return wire_param_count(read_graph_summary(path), _QUANT_META_INPUTS)
    except WireError:
        return _onnx_param_count(path)


def _onnx_param_count(path: Path) -> int | None:
    """``onnx_param_count`` by ``onnx`` itself (the reference the wire reader is tested against)."""
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
        preload = getattr(ort, "preload_dlls", None)
        if callable(preload):
            # Loads CUDA and cuDNN from the nvidia-* wheels (torch's) when the
            # system has none; a no-op where they are already found.
            with contextlib.suppress(Exception):
                preload()
        # CPU stays in the list: onnxruntime assigns nodes the CUDA provider
        # has no kernel for to it, and we record which (node_placement).
        return [("CUDAExecutionProvider", {"device_id": index or "0"}), "CPUExecutionProvider"]
    raise InputError(f"unknown device {device!r}; use 'cpu' or 'cuda:N'")


def _input_spec(arg: ort.NodeArg) -> InputSpec:
    dtype = _ORT_DTYPES.get(arg.type)
    if dtype is None:
        raise InputError(f"input {arg.name!r} has type {arg.type}, which is not supported yet")
    shape = tuple(d if isinstance(d, int | str) else None for d in arg.shape)
    return InputSpec(arg.name, shape, dtype)


def _enum_name(value: object) -> str:
    return str(value).rsplit(".", 1)[-1]


def node_placement(session: object) -> dict[str, list[str]] | None:
    """Op types of the nodes onnxruntime assigned to each execution provider, or None.

    Needs the session created with ``ASSIGNMENT_CONFIG_KEY`` set and an
    onnxruntime that has ``get_provider_graph_assignment_info``; None
    otherwise. The assignment is the one made after basic optimisations.
    """
    get = getattr(session, "get_provider_graph_assignment_info", None)
    if get is None:
        return None
    try:
        subgraphs = get()
    except Exception:
        return None
    out: dict[str, list[str]] = {}
    for sub in subgraphs:
        ops = out.setdefault(str(sub.ep_name), [])
        ops.extend(str(node.op_type) for node in sub.get_nodes())
    return out


def placement_notes(
    placement: dict[str, list[str]] | None, preferred: str
) -> tuple[dict[str, str], list[str]]:
    """Provenance ``env`` entries and notes for a node placement, when ``preferred`` is a GPU EP.

    A note is written when any node runs on another provider (usually the
    CPU): how many, and of which op types.
    """
    if placement is None:
        return {"ort_node_placement": "not recorded by this onnxruntime"}, [
            "node placement not recorded: this onnxruntime cannot report it, so nodes "
            "it ran on the CPU would go unnoticed"
        ]
    env = {f"ort_nodes_{ep}": str(len(ops)) for ep, ops in sorted(placement.items())}
    total = sum(len(ops) for ops in placement.values())
    notes = []
    for ep, ops in sorted(placement.items()):
        if ep == preferred or not ops:
            continue
        counts: dict[str, int] = {}
        for op in ops:
            counts[op] = counts.get(op, 0) + 1
        kinds = ", ".join(f"{op} ×{n}" if n > 1 else op for op, n in sorted(counts.items()))
        notes.append(
            f"onnxruntime placed {len(ops)} of {total} nodes on {ep}, not {preferred}: {kinds}"
        )
    return env, notes


class OrtSession(Session):
    """An ``onnxruntime.InferenceSession`` behind the ``Session`` interface."""

    def __init__(
        self, session: ort.InferenceSession, params: int | None, device: str = "cpu"
    ) -> None:
        self._session = session
        self._output_names = [o.name for o in session.get_outputs()]
        self.version = ort.__version__
        self.execution_provider = session.get_providers()[0]
        self.params = params
        self.inputs = tuple(_input_spec(i) for i in session.get_inputs())
        self._device = device
        self._placement_env: dict[str, str] = {}
        if device != "cpu":
            self._placement_env, notes = placement_notes(
                node_placement(session), self.execution_provider
            )
            self.notes = (
                *notes,
                "timed with inputs and outputs bound on the GPU; each run waits for the GPU",
            )

    @property
    def inference_session(self) -> ort.InferenceSession:
        """The wrapped ``InferenceSession`` (its options and providers make a profiled twin)."""
        return self._session

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
        # The closure keeps the bound buffers alive: the binding points into them.
        keep: list[object] = list(feed.values())
        if self._device == "cpu":
            for name, array in feed.items():
                binding.bind_cpu_input(name, array)
            for name in self._output_names:
                binding.bind_output(name, "cpu")
        else:
            # Inputs copied to the GPU once, outputs left there: the timed
            # run is the model, as torch's is, without host transfers.
            index = int(self._device.partition(":")[2] or "0")
            on_gpu = {
                name: ort.OrtValue.ortvalue_from_numpy(array, "cuda", index)
                for name, array in feed.items()
            }
            for name, value in on_gpu.items():
                binding.bind_ortvalue_input(name, value)
            for name in self._output_names:
                binding.bind_output(name, "cuda", index)
            keep.extend(on_gpu.values())
        run_with_iobinding = self._session.run_with_iobinding
        arrays = tuple(keep)

        def step() -> object:
            run_with_iobinding(binding)
            return arrays

        return step

    def e2e_step_fn(self, batch: Mapping[str, np.ndarray]) -> Callable[[], object]:
        """``InferenceSession.run`` with a NumPy feed and every output fetched, no IOBinding.

        onnxruntime copies the inputs from host memory to the device (on a
        GPU) and every output back into new NumPy arrays on each call, as an
        application calling ``run`` pays. Inputs are cast to the declared
        dtypes once, up front.
        """
        feed = self._cast(batch)
        run = self._session.run
        names = list(self._output_names)

        def step() -> object:
            return run(names, feed)

        return step

    def env(self) -> dict[str, str]:
        """Thread settings of the session."""
        options = self._session.get_session_options()
        return {
            "ort_intra_op_num_threads": str(options.intra_op_num_threads),
            "ort_inter_op_num_threads": str(options.inter_op_num_threads),
            "ort_execution_mode": _enum_name(options.execution_mode),
            "ort_graph_optimization_level": _enum_name(options.graph_optimization_level),
            "ort_providers": ",".join(self._session.get_providers()),
            **self._placement_env,
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
        options.add_session_config_entry(ASSIGNMENT_CONFIG_KEY, "1")
        providers = _providers(spec.device)
        started_ns = time.perf_counter_ns()
        try:
            session = ort.InferenceSession(str(path), sess_options=options, providers=providers)
        except _USER_ERRORS as err:
            raise InputError(f"onnxruntime cannot load {path}: {err}") from err
        except Exception as err:
            raise MeasurementError(f"onnxruntime failed loading {path}: {err}") from err
        load_ms = (time.perf_counter_ns() - started_ns) / 1e6
        try:
            params = onnx_param_count(path)
        except Exception:
            # Counting is a courtesy; a model onnxruntime runs but onnx cannot
            # parse (newer opset, say) is still measured.
            params = None
        if spec.device != "cpu" and session.get_providers()[0] != "CUDAExecutionProvider":
            raise UnavailableError(
                f"onnxruntime {ort.__version__} could not start its CUDA execution provider on "
                f"{spec.device} (the session has only {', '.join(session.get_providers())}); "
                "check that the CUDA and cuDNN libraries onnxruntime-gpu needs are installed"
            )
        out = OrtSession(session, params, spec.device)
        out.load_ms = load_ms
        return out
