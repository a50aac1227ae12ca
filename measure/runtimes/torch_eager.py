"""PyTorch eager sessions: a module built from code plus a state dict, or a saved ExportedProgram.

``torch-state`` artifacts name a builder (``module:function``) that returns
an ``nn.Module``; the weights are loaded with ``torch.load(weights_only=True)``,
so a state file cannot run code. ``pt2`` artifacts are loaded with
``torch.export.load``, which trusts the file: use it for files you made.

Precision is a transformation applied at load: ``int8`` is dynamic
quantization of ``nn.Linear`` layers (qint8 weights, activations quantized
on the fly; CPU only), ``fp16``/``bf16`` cast the module and its float inputs.
This is the one module of ``measure`` that imports torch at import time.
"""

from __future__ import annotations

import contextlib
import importlib
import time
import warnings
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from measure.runtimes.base import Dim, InputSpec, Session
from paretoscope.core.errors import InputError, MeasurementError, UnavailableError
from paretoscope.core.records import RunSpec

__all__ = ["CudaEventClock", "TorchEagerRuntime", "TorchSession"]

_FLOAT_DTYPES: dict[str, torch.dtype] = {
    "fp32": torch.float32,
    "fp16": torch.float16,
    "bf16": torch.bfloat16,
    "int8": torch.float32,  # dynamic quantization keeps float activations
}
# torch dtypes → NumPy dtype names for declared inputs (floats are fed as
# float32 and cast on the device, because NumPy has no bfloat16).
_NUMPY_NAMES: dict[torch.dtype, str] = {
    torch.float32: "float32",
    torch.float16: "float32",
    torch.bfloat16: "float32",
    torch.float64: "float64",
    torch.int64: "int64",
    torch.int32: "int32",
    torch.int8: "int8",
    torch.uint8: "uint8",
    torch.bool: "bool",
}


def _torch_device(device: str) -> torch.device:
    if device == "cpu":
        return torch.device("cpu")
    kind, _, index_text = device.partition(":")
    if kind != "cuda" or not (index_text or "0").isdigit():
        raise InputError(f"unknown device {device!r}; use 'cpu' or 'cuda:N'")
    index = int(index_text or "0")
    if not torch.cuda.is_available():
        raise UnavailableError(
            f"device {device} requested but torch {torch.__version__} sees no CUDA device"
        )
    if index >= torch.cuda.device_count():
        raise UnavailableError(
            f"device {device} requested but torch sees {torch.cuda.device_count()} CUDA device(s)"
        )
    return torch.device("cuda", index)


def _set_threads(threads: int) -> None:
    if threads < 1:
        raise InputError(f"threads must be >= 1, got {threads}")
    torch.set_num_threads(threads)
    # torch allows this only before its first parallel work; in a fresh
    # worker that always holds, in-process it may not. The value in use is
    # recorded in provenance either way.
    with contextlib.suppress(RuntimeError):
        torch.set_num_interop_threads(1)


def _build_module(builder: str | None, kwargs: Mapping[str, Any]) -> torch.nn.Module:
    if not builder or ":" not in builder:
        raise InputError(
            f"a torch-state artifact needs a builder 'module:function', got {builder!r}"
        )
    module_name, _, func_name = builder.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise InputError(f"cannot import the builder module {module_name!r}: {err}") from err
    func = getattr(module, func_name, None)
    if not callable(func):
        raise InputError(f"builder {builder!r}: {module_name} has no function {func_name!r}")
    try:
        model = func(**kwargs)
    except Exception as err:
        raise InputError(f"builder {builder} raised {type(err).__name__}: {err}") from err
    if not isinstance(model, torch.nn.Module):
        raise InputError(f"builder {builder} returned {type(model).__name__}, not an nn.Module")
    return model


def _load_state(model: torch.nn.Module, path: Path, device: torch.device) -> None:
    try:
        state = torch.load(path, weights_only=True, map_location=device)
    except Exception as err:
        # weights_only refuses anything but tensors and plain containers.
        raise InputError(
            f"cannot load {path} as a state dict with weights_only=True: {err}"
        ) from err
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise InputError(f"{path} holds a {type(state).__name__}, not a state dict")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()[:3]
        raise InputError(
            f"the weights in {path} do not fit the builder's module: {' '.join(first)}"
        ) from err


def _declared_inputs(model: torch.nn.Module) -> tuple[InputSpec, ...]:
    # An nn.Module does not declare its input: use an explicit `input_shape`
    # attribute (per item, without the batch) when the builder set one, else
    # the first layer's in_features when it is a Linear.
    shape = getattr(model, "input_shape", None)
    if isinstance(shape, tuple | list) and all(isinstance(d, int) for d in shape):
        dtype = str(getattr(model, "input_dtype", "float32"))
        return (InputSpec("input", ("batch", *shape), dtype),)
    for layer in model.modules():
        if isinstance(layer, torch.nn.Linear):
            return (InputSpec("input", ("batch", layer.in_features), "float32"),)
        if any(True for _ in layer.parameters(recurse=False)):
            break
    return (InputSpec("input", ("batch", None), "float32"),)


def _exported_inputs(program: Any) -> tuple[InputSpec, ...]:
    user_inputs = set(program.graph_signature.user_inputs)
    specs = []
    for node in program.graph.nodes:
        if node.op != "placeholder" or node.name not in user_inputs:
            continue
        val = node.meta.get("val")
        if not isinstance(val, torch.Tensor):
            raise InputError(f"exported input {node.name!r} is not a tensor; not supported")
        shape: tuple[Dim, ...] = tuple(d if isinstance(d, int) else str(d) for d in val.shape)
        dtype = _NUMPY_NAMES.get(val.dtype)
        if dtype is None:
            raise InputError(f"exported input {node.name!r} has unsupported dtype {val.dtype}")
        specs.append(InputSpec(node.name, shape, dtype))
    return tuple(specs)


def _quantize_int8(model: torch.nn.Module) -> torch.nn.Module:
    if not any(isinstance(m, torch.nn.Linear) for m in model.modules()):
        raise InputError(
            "int8 dynamic quantization found no nn.Linear layer in the model; it would run "
            "in fp32, so it is refused rather than mislabelled"
        )
    with warnings.catch_warnings():
        # torch.ao.quantization is deprecated in favour of torchao, which is
        # not a dependency; quantize_dynamic is still torch's eager int8 path.
        warnings.filterwarnings("ignore", category=DeprecationWarning, message=".*quantiz")
        warnings.filterwarnings("ignore", category=UserWarning, message=".*quantiz")
        quantized: torch.nn.Module = torch.ao.quantization.quantize_dynamic(
            model, {torch.nn.Linear}, dtype=torch.qint8
        )
    return quantized


def _output_tensors(out: Any) -> list[torch.Tensor]:
    """Every tensor a forward pass returned: a tensor, a sequence or mapping of them, or
    ``_first_output``'s pick of anything else."""
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, tuple | list) and all(isinstance(t, torch.Tensor) for t in out):
        return list(out)
    if isinstance(out, Mapping) and all(isinstance(t, torch.Tensor) for t in out.values()):
        return list(out.values())
    return [_first_output(out)]


def _to_numpy(tensor: torch.Tensor) -> np.ndarray:
    # NumPy has no bfloat16: such an output is widened on the device, as ``run`` does.
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.float()
    return np.asarray(tensor.detach().cpu().numpy())


def _first_output(out: Any) -> torch.Tensor:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, Mapping):
        out = out.get("logits", next(iter(out.values()), None))
    elif hasattr(out, "logits"):
        out = out.logits
    elif isinstance(out, tuple | list) and out:
        out = out[0]
    if not isinstance(out, torch.Tensor):
        raise MeasurementError(f"the model returned {type(out).__name__}, not a tensor")
    return out


class CudaEventClock:
    """Times one step with a pair of CUDA events on the device's current stream.

    The start event is recorded before the step's kernels are queued and the
    end event after; waiting on the end event makes the step synchronous. The
    elapsed time is the GPU's, which includes gaps where it waited for the
    host to launch the next kernel (resolution about 0.5 µs).
    """

    name = "cuda_event"

    def __init__(self, device: torch.device) -> None:
        self._stream = torch.cuda.current_stream(device)
        self._start = torch.cuda.Event(enable_timing=True)
        self._end = torch.cuda.Event(enable_timing=True)

    def __call__(self, step: Callable[[], object]) -> int:
        """Run ``step`` once; nanoseconds between the events."""
        self._start.record(self._stream)
        step()
        self._end.record(self._stream)
        self._end.synchronize()
        return round(self._start.elapsed_time(self._end) * 1e6)


class TorchSession(Session):
    """An eager ``nn.Module`` (or exported program's module) behind the ``Session`` interface."""

    def __init__(
        self,
        model: torch.nn.Module,
        device: torch.device,
        float_dtype: torch.dtype,
        inputs: tuple[InputSpec, ...],
        params: int | None,
        notes: tuple[str, ...] = (),
        quantized: bool = False,
    ) -> None:
        self._model = model
        self._device = device
        self._float_dtype = float_dtype
        self._quantized = quantized
        self.version = torch.__version__
        self.execution_provider = f"eager:{device}"
        self.params = params
        self.inputs = inputs
        self.notes = notes

    @property
    def needs_sync(self) -> bool:
        """True on CUDA, where kernels return before they finish."""
        return self._device.type == "cuda"

    def sync(self) -> None:
        """Wait for the GPU (a no-op on CPU)."""
        if self._device.type == "cuda":
            torch.cuda.synchronize(self._device)

    def step_clock(self) -> CudaEventClock | None:
        """CUDA events on CUDA; None (the host clock) on CPU."""
        if self._device.type == "cuda":
            return CudaEventClock(self._device)
        return None

    def timing_context(self) -> AbstractContextManager[object]:
        """Inference mode: no autograd bookkeeping, entered once for the whole timed loop."""
        return torch.inference_mode()

    def _tensors(self, batch: Mapping[str, np.ndarray]) -> tuple[torch.Tensor, ...]:
        missing = [i.name for i in self.inputs if i.name not in batch]
        if missing:
            raise InputError(f"missing model inputs: {', '.join(missing)}")
        tensors = []
        for inp in self.inputs:
            array = np.ascontiguousarray(batch[inp.name], dtype=inp.dtype)
            tensor = torch.from_numpy(array).to(self._device)
            if tensor.is_floating_point():
                tensor = tensor.to(self._float_dtype)
            tensors.append(tensor)
        return tuple(tensors)

    def _forward(self, args: tuple[torch.Tensor, ...]) -> torch.Tensor:
        try:
            with torch.inference_mode():
                return _first_output(self._model(*args))
        except MeasurementError:
            raise
        except Exception as err:
            shapes = ", ".join(str(list(a.shape)) for a in args)
            first = str(err).strip().splitlines()[0] if str(err).strip() else ""
            raise MeasurementError(
                f"the torch model failed on inputs of shape {shapes}: {type(err).__name__}: {first}"
            ) from err

    def run(self, batch: Mapping[str, np.ndarray]) -> np.ndarray:
        """Run one batch and return the first output (floats as float32). See ``Session.run``."""
        out = self._forward(self._tensors(batch)).detach()
        if out.is_floating_point():
            out = out.float()
        return np.asarray(out.cpu().numpy())

    def step_fn(self, batch: Mapping[str, np.ndarray]) -> Callable[[], object]:
        """Tensors made and moved once; each call is one forward pass.

        Inside ``timing_context()`` the call is just ``model(*tensors)``;
        outside it the call enters inference mode itself (about 2 µs more).
        """
        args = self._tensors(batch)
        self._forward(args)  # fail here, with a mapped error, rather than inside the timed loop
        model = self._model
        in_inference = torch.is_inference_mode_enabled
        inference_mode = torch.inference_mode

        def step() -> object:
            if in_inference():
                return model(*args)
            with inference_mode():
                return model(*args)

        return step

    def e2e_step_fn(self, batch: Mapping[str, np.ndarray]) -> Callable[[], object]:
        """Each call: ``torch.from_numpy(...).to(device)`` per input, forward, ``.cpu().numpy()``.

        Inputs are taken from NumPy arrays in host memory (cast to the
        declared NumPy dtype once, up front) and every output tensor is
        copied back to NumPy, so on a GPU the call includes both copies and
        returns after the device is done.
        """
        missing = [i.name for i in self.inputs if i.name not in batch]
        if missing:
            raise InputError(f"missing model inputs: {', '.join(missing)}")
        arrays = [np.ascontiguousarray(batch[i.name], dtype=i.dtype) for i in self.inputs]
        model, device, float_dtype = self._model, self._device, self._float_dtype
        in_inference = torch.is_inference_mode_enabled
        inference_mode = torch.inference_mode

        def forward() -> object:
            args = []
            for array in arrays:
                tensor = torch.from_numpy(array).to(device)
                args.append(tensor.to(float_dtype) if tensor.is_floating_point() else tensor)
            return [_to_numpy(t) for t in _output_tensors(model(*args))]

        def step() -> object:
            if in_inference():
                return forward()
            with inference_mode():
                return forward()

        return step

    def reset_peak_device_memory(self) -> None:
        """Make the current allocation (the weights) the starting peak, on CUDA."""
        if self._device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self._device)

    def peak_device_memory_mb(self) -> tuple[float, float] | None:
        """Peak allocated and reserved CUDA memory in MB (10^6 bytes); None on CPU."""
        if self._device.type != "cuda":
            return None
        return (
            torch.cuda.max_memory_allocated(self._device) / 1e6,
            torch.cuda.max_memory_reserved(self._device) / 1e6,
        )

    def env(self) -> dict[str, str]:
        """Thread counts, float dtype and (for int8) the quantized engine."""
        out = {
            "torch_num_threads": str(torch.get_num_threads()),
            "torch_num_interop_threads": str(torch.get_num_interop_threads()),
            "torch_float_dtype": str(self._float_dtype).removeprefix("torch."),
        }
        if self._quantized:
            out["torch_quantized_engine"] = str(torch.backends.quantized.engine)
        return out


class TorchEagerRuntime:
    """Loads ``torch-state`` and ``pt2`` artifacts into eager PyTorch."""

    name = "torch"

    def load(self, spec: RunSpec) -> TorchSession:
        """Build, load and prepare the model. See ``Runtime.load`` for errors."""
        artifact = spec.artifact
        path = Path(artifact.path)
        if not path.is_file():
            raise InputError(f"model file not found: {path}")
        if spec.precision not in _FLOAT_DTYPES:
            raise InputError(
                f"the torch runtime runs precisions {', '.join(_FLOAT_DTYPES)} "
                f"(int8 = dynamic quantization); {spec.precision!r} needs a model "
                "quantized offline"
            )
        _set_threads(spec.threads)
        device = _torch_device(spec.device)
        float_dtype = _FLOAT_DTYPES[spec.precision]
        notes: list[str] = []
        # Load time: build or load, precision, and the move to the device.
        started_ns = time.perf_counter_ns()
        if artifact.format == "torch-state":
            model = _build_module(artifact.builder, artifact.builder_kwargs)
            _load_state(model, path, device)
            inputs = _declared_inputs(model)
            # Counted before quantization, which hides the packed weights
            # from .parameters(): an int8 model has as many weights as its parent.
            params = sum(p.numel() for p in model.parameters())
            model.eval()
        elif artifact.format == "pt2":
            # An fp32 program can be cast to fp16/bf16 (below); nothing else changes precision.
            castable = artifact.precision == "fp32" and spec.precision in ("fp16", "bf16")
            if spec.precision != artifact.precision and not castable:
                raise InputError(
                    f"a pt2 program runs at the precision it was exported in "
                    f"({artifact.precision}), or fp16/bf16 cast from fp32; the run asks for "
                    f"{spec.precision}"
                )
            try:
                with warnings.catch_warnings():
                    # torch.export's loader warns about its own deprecated internals.
                    warnings.simplefilter("ignore", FutureWarning)
                    program = torch.export.load(path)
            except Exception as err:
                raise InputError(f"cannot load {path} as a torch.export program: {err}") from err
            inputs = _exported_inputs(program)
            # An exported program is already in the mode it was exported in;
            # its module refuses .eval().
            model = program.module()
            params = sum(p.numel() for p in model.parameters())
        else:
            raise InputError(
                "the torch runtime loads 'torch-state' and 'pt2' artifacts, "
                f"not {artifact.format!r}"
            )

        if spec.precision == "int8":
            if device.type != "cpu":
                raise UnavailableError("int8 dynamic quantization in torch runs on CPU only")
            model = _quantize_int8(model)
            notes.append("int8: torch dynamic quantization of nn.Linear (qint8 weights)")
        elif spec.precision in ("fp16", "bf16"):
            model = model.to(float_dtype)
        model = model.to(device)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        session = TorchSession(
            model,
            device,
            float_dtype,
            inputs,
            params,
            notes=tuple(notes),
            quantized=spec.precision == "int8",
        )
        session.load_ms = (time.perf_counter_ns() - started_ns) / 1e6
        return session
