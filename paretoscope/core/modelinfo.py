"""What a model is before anything runs (inputs, outputs, opsets), and the built-in data sets.

Shared by ``measure`` (inspection, evaluation data) and ``profiling`` (planning).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    pass


Task = Literal["classification", "regression", "causal-lm"]


TASKS: tuple[str, ...] = ("classification", "regression")


Dim = int | str | None


@dataclass(frozen=True)
class TensorInfo:
    """One input or output of a model.

    ``dtype`` is a NumPy dtype name (``float32``, ``int64``) or, for types
    NumPy lacks, the ONNX type name in angle brackets (``<bfloat16>``).
    ``shape`` has an int per fixed dimension, the name of a symbolic one as
    a str, and None where the model says nothing.
    """

    name: str
    dtype: str
    shape: tuple[Dim, ...]

    @property
    def symbolic_dims(self) -> tuple[str, ...]:
        """Names of this tensor's symbolic dimensions, in axis order."""
        return tuple(d for d in self.shape if isinstance(d, str))


@dataclass(frozen=True)
class ModelInfo:
    """What inspection found in an ONNX file, before anything runs. Sizes in bytes.

    ``size_bytes`` counts the model file and its external data files;
    ``opsets`` maps each operator domain (``""`` = the default ONNX domain)
    to its version; ``custom_ops`` lists ``domain::OpType`` of operators
    outside the standard domains; ``ort_error`` is why onnxruntime could not
    create a session for the model (None when it could).
    """

    path: str
    sha256: str
    size_bytes: int
    inputs: tuple[TensorInfo, ...]
    outputs: tuple[TensorInfo, ...]
    opsets: dict[str, int]
    ir_version: int
    producer: str
    params: int | None
    external_data: tuple[str, ...] = ()
    custom_ops: tuple[str, ...] = ()
    n_nodes: int = 0
    ort_error: str | None = None
    format: str = "onnx"

    @property
    def opset(self) -> int | None:
        """The default-domain opset version, or None when the model imports none."""
        return self.opsets.get("", self.opsets.get("ai.onnx"))

    @property
    def symbolic_dims(self) -> tuple[str, ...]:
        """Every symbolic dimension name over all inputs, in first-seen order."""
        seen: dict[str, None] = {}
        for t in self.inputs:
            for d in t.symbolic_dims:
                seen.setdefault(d, None)
        return tuple(seen)

    @property
    def batch_dims(self) -> tuple[str, ...]:
        """Names of symbolic first dimensions (set by ``--batch``)."""
        seen: dict[str, None] = {}
        for t in self.inputs:
            if t.shape and isinstance(t.shape[0], str):
                seen.setdefault(t.shape[0], None)
        return tuple(seen)

    @property
    def other_dims(self) -> tuple[str, ...]:
        """Symbolic dimensions that are not a batch dimension: each needs a value (``--dim``)."""
        batch = set(self.batch_dims)
        return tuple(d for d in self.symbolic_dims if d not in batch)


@dataclass(frozen=True)
class BuiltinDataset:
    """A labelled set that ships inside scikit-learn (nothing is downloaded)."""

    name: str
    n_features: int
    task: Task
    n_classes: int | None
    description: str


BUILTIN_DATASETS: dict[str, BuiltinDataset] = {
    d.name: d
    for d in (
        BuiltinDataset(
            "digits",
            64,
            "classification",
            10,
            "scikit-learn digits: 8×8 grey images in [0, 1], 10 classes; fits inputs of "
            "64 features or 1×8×8 / 8×8 images",
        ),
        BuiltinDataset(
            "breast_cancer",
            30,
            "classification",
            2,
            "scikit-learn breast cancer: 30 standardised features, 2 classes",
        ),
        BuiltinDataset(
            "iris", 4, "classification", 3, "scikit-learn iris: 4 standardised features, 3 classes"
        ),
        BuiltinDataset(
            "wine",
            13,
            "classification",
            3,
            "scikit-learn wine: 13 standardised features, 3 classes",
        ),
        BuiltinDataset(
            "diabetes",
            10,
            "regression",
            None,
            "scikit-learn diabetes: 10 features (already scaled), a float target (regression)",
        ),
    )
}
