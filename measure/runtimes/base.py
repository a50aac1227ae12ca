"""The runtime seam: a ``Runtime`` loads a ``RunSpec`` into a ``Session`` that runs batches.

A session hides its library: callers hand it NumPy arrays and get NumPy
arrays back, time it through ``step_fn`` and ``sync``, and read what it
reports about itself (version, execution provider, parameter count, inputs).
This module imports neither torch nor onnxruntime.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from paretoscope.core.errors import InputError
from paretoscope.core.records import RunSpec

__all__ = ["InputSpec", "Runtime", "Session", "concrete_shape", "random_batch"]

Dim = int | str | None


class StepClock(Protocol):
    """Times one call of a step, device work included, in nanoseconds."""

    #: Recorded as ``LatencyStats.timer``, e.g. ``cuda_event``.
    name: str

    def __call__(self, step: Callable[[], object]) -> int:
        """Run ``step`` once and return how long it took (ns), after its device work is done."""
        ...


@dataclass(frozen=True)
class InputSpec:
    """One model input: its name, declared shape and NumPy dtype name.

    A dimension is an int when fixed, a str when symbolic (``"batch"``), and
    None when the model does not say. Dimension 0 is the batch dimension.
    """

    name: str
    shape: tuple[Dim, ...]
    dtype: str

    @property
    def batch_fixed(self) -> int | None:
        """The fixed batch size the model was exported with, or None when it is dynamic."""
        if self.shape and isinstance(self.shape[0], int) and self.shape[0] > 0:
            return self.shape[0]
        return None


class Session(ABC):
    """A loaded model, ready to run. Subclasses fill in the attributes in ``__init__``."""

    #: The library's version string, e.g. ``1.20.1`` (onnxruntime) or ``2.5.1+cpu``.
    version: str
    #: What executes the graph, e.g. ``CPUExecutionProvider`` or ``eager:cpu``.
    execution_provider: str
    #: Number of weights and biases, when the runtime can count them.
    params: int | None
    #: The model's inputs, in the order its forward takes them.
    inputs: tuple[InputSpec, ...]
    #: Facts about how the model was prepared that a reader of the numbers should know.
    notes: tuple[str, ...] = ()
    #: Milliseconds from the start of session creation or model load to ready, when the
    #: runtime timed it (``measure.profile`` times ``Runtime.load`` otherwise).
    load_ms: float | None = None

    @property
    def input_shapes(self) -> dict[str, list[int]]:
        """Declared input shapes; dynamic or unknown dimensions are -1."""
        return {
            i.name: [d if isinstance(d, int) and d >= 0 else -1 for d in i.shape]
            for i in self.inputs
        }

    @property
    def needs_sync(self) -> bool:
        """Whether ``sync`` does anything; the harness skips calling it when not."""
        return False

    @abstractmethod
    def run(self, batch: Mapping[str, np.ndarray]) -> np.ndarray:
        """Run one batch (arrays keyed by input name) and return the first output as NumPy.

        Inputs are cast to the declared dtype. Raises ``InputError`` for
        missing inputs or wrong shapes and ``MeasurementError`` when the
        library fails.
        """

    @abstractmethod
    def step_fn(self, batch: Mapping[str, np.ndarray]) -> Callable[[], object]:
        """A zero-argument callable running ``batch`` with conversion done up front, for timing.

        The callable may return before device work is done; pair it with
        ``sync``. Call it inside ``timing_context()`` for the least overhead.
        """

    def e2e_step_fn(self, batch: Mapping[str, np.ndarray]) -> Callable[[], object]:
        """A zero-argument callable serving ``batch`` as an application would, for timing.

        Each call hands the NumPy arrays in host memory to the runtime and
        copies the outputs back to NumPy, so it includes what ``step_fn``
        leaves out: host-to-device input copies and device-to-host output
        copies (and, on a CPU, the handoff from NumPy). It returns after the
        outputs are in host memory. The default runs ``run`` (the first
        output); runtimes override it to copy every output.
        """
        run = self.run
        feed = dict(batch)

        def step() -> object:
            return run(feed)

        return step

    def sync(self) -> None:  # noqa: B027 - a deliberate no-op default for CPU sessions
        """Block until device work queued by ``step_fn`` is done. A no-op on CPU."""

    def step_clock(self) -> StepClock | None:
        """A device clock for the timed loop (CUDA events), or None to use the host clock."""
        return None

    def timing_context(self) -> AbstractContextManager[object]:
        """A context to enter around the timed loop (torch: inference mode); none by default."""
        return contextlib.nullcontext()

    def env(self) -> dict[str, str]:
        """Runtime settings that change the numbers (threads, engines), for provenance."""
        return {}

    def reset_peak_device_memory(self) -> None:  # noqa: B027 - nothing to reset on CPU
        """Start a new peak for ``peak_device_memory_mb`` (a no-op on CPU)."""

    def peak_device_memory_mb(self) -> tuple[float, float] | None:
        """Peak allocated and reserved device memory in MB since the last reset; None on CPU."""
        return None

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Release what the session holds."""

    def feed(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Feed one data array to a single-input model. Raises ``InputError`` otherwise."""
        if len(self.inputs) != 1:
            names = ", ".join(i.name for i in self.inputs)
            raise InputError(
                f"the model has {len(self.inputs)} inputs ({names}); a data set with one "
                "array `x` can only feed a model with one input"
            )
        return {self.inputs[0].name: x}


class Runtime(Protocol):
    """Loads models for one library (``ort``, ``torch``)."""

    name: str

    def load(self, spec: RunSpec) -> Session:
        """Load ``spec.artifact`` for ``spec.device``, ``spec.precision`` and ``spec.threads``.

        Raises ``InputError`` for an unusable artifact or spec,
        ``UnavailableError`` for a device or provider this host lacks, and
        ``MeasurementError`` when the library fails.
        """
        ...


def concrete_shape(inp: InputSpec, batch_size: int, dims: Mapping[str, int]) -> tuple[int, ...]:
    """``inp``'s shape with the batch dimension set to ``batch_size`` and named dims from ``dims``.

    Raises ``InputError`` when the model's batch is fixed at another size or
    a dimension has no value.
    """
    if not inp.shape:
        return ()
    out = []
    for axis, dim in enumerate(inp.shape):
        if axis == 0:
            if isinstance(dim, int) and dim > 0 and dim != batch_size:
                raise InputError(
                    f"input {inp.name!r} has a fixed batch of {dim}; it cannot run batch "
                    f"size {batch_size}"
                )
            out.append(batch_size)
        elif isinstance(dim, int) and dim > 0:
            out.append(dim)
        elif isinstance(dim, str) and dim in dims:
            out.append(int(dims[dim]))
        elif dim is None:
            raise InputError(
                f"the model does not declare the size of axis {axis} of input {inp.name!r}; "
                "measure it with a data set, whose items give the shape"
            )
        else:
            raise InputError(
                f"input {inp.name!r} has a dynamic dimension {dim!r} (axis {axis}) with no "
                f"value; give it in the run's dims, e.g. dims={{{dim!r}: 128}}"
            )
    return tuple(out)


def random_batch(
    inputs: tuple[InputSpec, ...], batch_size: int, dims: Mapping[str, int], seed: int = 0
) -> dict[str, np.ndarray]:
    """Random arrays of the right shapes and dtypes, for models measured without a data set.

    Floats are standard normal; integers are in [0, 100) (plausible token or
    class ids); booleans are fair coins. Raises ``InputError`` as
    ``concrete_shape`` does.
    """
    rng = np.random.default_rng(seed)
    batch: dict[str, np.ndarray] = {}
    for inp in inputs:
        shape = concrete_shape(inp, batch_size, dims)
        dtype = np.dtype(inp.dtype)
        if dtype.kind == "f":
            batch[inp.name] = rng.standard_normal(shape).astype(dtype)
        elif dtype.kind in "iu":
            batch[inp.name] = rng.integers(0, 100, size=shape).astype(dtype)
        elif dtype.kind == "b":
            batch[inp.name] = rng.random(shape) < 0.5
        else:
            raise InputError(f"cannot make random data for input {inp.name!r} of dtype {dtype}")
    return batch
