"""A shipped test seam: tiny real models, misbehaving builders, artifact and spec helpers.

The builders are importable by name from a worker process
(``measure.testing:sleepy_mlp``), which is what lets tests drive real
workers into timeouts, kills, memory overruns and exceptions. Nothing here
is used by measurement itself; torch is imported inside the functions that
need it, so importing this module stays cheap.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from paretoscope.core.hashing import file_sha256
from paretoscope.core.records import (
    ArtifactRef,
    DatasetRef,
    ModelRef,
    RunSpec,
    TimingBudget,
    new_run_id,
)

if TYPE_CHECKING:
    import torch

__all__ = [
    "QUICK_BUDGET",
    "aborting_builder",
    "artifact_ref",
    "dataset_ref",
    "digits_split",
    "export_onnx",
    "export_pt2",
    "failing_builder",
    "failing_on_call",
    "make_spec",
    "memory_hog",
    "nan_mlp",
    "quantize_onnx_int8",
    "save_state",
    "sleepy_mlp",
    "tiny_mlp",
    "train_mlp",
    "write_dataset",
]

#: A timing budget for tests: a few hundred ms at most per run.
QUICK_BUDGET = TimingBudget(
    warmup_iters=3, min_iters=10, max_iters=5000, min_time_s=0.02, max_time_s=0.2
)


def tiny_mlp(in_features: int = 64, hidden: int = 32, classes: int = 10) -> torch.nn.Module:
    """Builder: ``Linear → ReLU → Linear``, the model most tests measure."""
    import torch

    return torch.nn.Sequential(
        torch.nn.Linear(in_features, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, classes),
    )


def sleepy_mlp(
    seconds: float, where: str = "forward", in_features: int = 64, classes: int = 10
) -> torch.nn.Module:
    """Builder whose model hangs: it sleeps ``seconds`` in every forward, or once while building."""
    import torch

    if where == "build":
        time.sleep(seconds)

    class Sleepy(torch.nn.Sequential):
        # A Sequential of tiny_mlp's layers, so tiny_mlp's state dict loads into it.
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if where == "forward":
                time.sleep(seconds)
            out: torch.Tensor = super().forward(x)
            return out

    return Sleepy(*tiny_mlp(in_features, 32, classes).children())


def nan_mlp(in_features: int = 64, classes: int = 10) -> torch.nn.Module:
    """Builder of a ``tiny_mlp`` whose outputs are NaN for items with a negative first feature."""
    import torch

    class NanOnNegative(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = tiny_mlp(in_features, 32, classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # sqrt of a negative is NaN, and NaN times 0 stays NaN.
            out: torch.Tensor = self.body(x) + 0.0 * torch.sqrt(x[:, :1])
            return out

    return NanOnNegative()


# Memory held by memory_hog, kept alive for the life of the worker.
_HOARD: list[np.ndarray] = []


def memory_hog(mb: int, hold_s: float = 30.0) -> torch.nn.Module:
    """Builder that makes ``mb`` MB resident (touched pages), then waits ``hold_s`` seconds."""
    block = np.ones(mb * 1_000_000 // 8, dtype=np.float64)  # np.ones writes every page
    _HOARD.append(block)
    time.sleep(hold_s)
    return tiny_mlp()


def failing_builder(message: str = "the builder failed on purpose") -> torch.nn.Module:
    """Builder that raises ``RuntimeError(message)``."""
    raise RuntimeError(message)


def failing_on_call(
    counter: str, fail_on: int, message: str = "failed on purpose"
) -> torch.nn.Module:
    """Builder of a ``tiny_mlp`` that raises ``RuntimeError(message)`` on its ``fail_on``-th call.

    Calls are counted in the file ``counter`` (one line per call), across
    processes: the builder of a run's second repeat can fail after the first
    succeeded.
    """
    with open(counter, "a+", encoding="utf-8") as f:
        f.write("call\n")
        f.seek(0)
        calls = len(f.read().splitlines())
    if calls == fail_on:
        raise RuntimeError(message)
    return tiny_mlp()


def aborting_builder() -> torch.nn.Module:
    """Builder that aborts the process (SIGABRT), as a native crash would."""
    os.abort()


def train_mlp(
    x: np.ndarray, labels: np.ndarray, hidden: int = 32, epochs: int = 60, seed: int = 0
) -> torch.nn.Module:
    """A ``tiny_mlp`` trained briefly (full-batch Adam) to a plausible accuracy; in eval mode."""
    import torch

    torch.manual_seed(seed)
    classes = int(labels.max()) + 1
    model = tiny_mlp(x.shape[1], hidden, classes)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    xt = torch.from_numpy(np.asarray(x, dtype=np.float32))
    yt = torch.from_numpy(np.asarray(labels, dtype=np.int64))
    for _ in range(epochs):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
    return model.eval()


def digits_split(n_eval: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """scikit-learn's digits (8×8, 10 classes) in [0, 1]: train x, labels, eval x, labels."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    return x[:-n_eval], y[:-n_eval], x[-n_eval:], y[-n_eval:]


def write_dataset(path: Path, x: np.ndarray, labels: np.ndarray) -> Path:
    """Save ``x`` and ``labels`` as the ``.npz`` layout ``evaluate`` reads."""
    np.savez(path, x=x, labels=labels)
    return path


def save_state(model: torch.nn.Module, path: Path) -> Path:
    """Save ``model``'s state dict for a ``torch-state`` artifact."""
    import torch

    torch.save(model.state_dict(), path)
    return path


def export_onnx(model: torch.nn.Module, path: Path, example: np.ndarray) -> Path:
    """Export ``model`` to a single ONNX file with the torch.export-based exporter, batch dynamic.

    The exporter's progress lines are swallowed and its warnings (torch
    internals' deprecations) silenced: they are not ours to fix.
    """
    import torch

    example_t = torch.from_numpy(np.asarray(example, dtype=np.float32))
    with (
        warnings.catch_warnings(),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example_t,),
            str(path),
            input_names=["x"],
            output_names=["logits"],
            dynamic_shapes=({0: torch.export.Dim("batch")},),
            dynamo=True,
            external_data=False,
        )
    return path


def export_pt2(model: torch.nn.Module, path: Path, example: np.ndarray) -> Path:
    """Save ``torch.export.export(model)`` with a dynamic batch to ``path`` (a ``pt2`` artifact)."""
    import torch

    example_t = torch.from_numpy(np.asarray(example, dtype=np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.export.export(
            model, (example_t,), dynamic_shapes=({0: torch.export.Dim("batch")},)
        )
        torch.export.save(program, str(path))
    return path


def quantize_onnx_int8(src: Path, dst: Path) -> Path:
    """onnxruntime dynamic quantization of ``src`` (int8 weights) into ``dst``."""
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    from measure.variants import without_value_info

    # onnxruntime logs a pre-processing suggestion on the root logger.
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with tempfile.TemporaryDirectory(prefix="paretoscope-quant-") as tmp:
            bare = without_value_info(src, Path(tmp) / src.name)
            quantize_dynamic(str(bare), str(dst), weight_type=QuantType.QInt8)
    finally:
        root.setLevel(level)
    return dst


def artifact_ref(
    path: Path,
    format: str,
    *,
    precision: str = "fp32",
    builder: str | None = None,
    builder_kwargs: dict[str, Any] | None = None,
) -> ArtifactRef:
    """An ``ArtifactRef`` for the file at ``path`` with its real hash and size."""
    return ArtifactRef(
        sha256=file_sha256(path),
        format=format,  # type: ignore[arg-type]
        path=str(path),
        size_bytes=path.stat().st_size,
        precision=precision,
        builder=builder,
        builder_kwargs=dict(builder_kwargs or {}),
    )


def dataset_ref(path: Path, name: str = "digits-eval") -> DatasetRef:
    """A ``DatasetRef`` for the ``.npz`` at ``path``."""
    with np.load(path, allow_pickle=False) as data:
        n = len(data["labels"])
    return DatasetRef(
        dataset_id=f"test-{name}",
        name=name,
        split="eval",
        path=str(path),
        n_samples=n,
        sha256=file_sha256(path),
        source="test",
    )


def make_spec(
    artifact: ArtifactRef,
    runtime: str,
    *,
    dataset: DatasetRef | None = None,
    precision: str | None = None,
    batch_size: int = 1,
    threads: int = 1,
    budget: TimingBudget = QUICK_BUDGET,
    timeout_s: float = 60.0,
    mem_limit_mb: float | None = None,
    name: str = "tiny-mlp",
) -> RunSpec:
    """A ``RunSpec`` with a fresh run id and a quick budget (precision: the artifact's)."""
    return RunSpec(
        run_id=new_run_id(),
        model=ModelRef(model_id=f"test-{name}", name=name, family="mlp", source="cli"),
        artifact=artifact,
        runtime=runtime,  # type: ignore[arg-type]
        precision=precision or artifact.precision,
        batch_size=batch_size,
        threads=threads,
        dataset=dataset,
        budget=budget,
        timeout_s=timeout_s,
        mem_limit_mb=mem_limit_mb,
    )


def millisecond_mlp_onnx(path: Path) -> ArtifactRef:
    """``tiny_mlp(1024, 4096)`` exported to ONNX at ``path``: about 1 ms a pass on one CPU thread.

    Random weights (efficiency only): the serving-scenario test and benchmark use it.
    """
    import torch

    torch.manual_seed(0)
    export_onnx(tiny_mlp(1024, 4096), path, np.zeros((2, 1024), np.float32))
    return artifact_ref(path, "onnx")
