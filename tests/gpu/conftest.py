"""Fixtures for the GPU tests: one tiny trained MLP in each artifact format, and its data set."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from measure import testing
from paretoscope.core.records import ArtifactRef, DatasetRef


@dataclass(frozen=True)
class GpuZoo:
    onnx: ArtifactRef
    onnx_int8: ArtifactRef
    state: ArtifactRef
    dataset: DatasetRef


@pytest.fixture(scope="session")
def gpu_zoo(tmp_path_factory: pytest.TempPathFactory) -> GpuZoo:
    root: Path = tmp_path_factory.mktemp("gpu-zoo")
    x_train, y_train, x_eval, y_eval = testing.digits_split()
    model = testing.train_mlp(x_train, y_train)
    testing.save_state(model, root / "mlp.pt")
    testing.export_onnx(model, root / "mlp.onnx", x_eval[:2])
    testing.quantize_onnx_int8(root / "mlp.onnx", root / "mlp-int8.onnx")
    testing.write_dataset(root / "digits-eval.npz", x_eval, y_eval)
    return GpuZoo(
        onnx=testing.artifact_ref(root / "mlp.onnx", "onnx"),
        onnx_int8=testing.artifact_ref(root / "mlp-int8.onnx", "onnx", precision="int8"),
        state=testing.artifact_ref(
            root / "mlp.pt", "torch-state", builder="measure.testing:tiny_mlp"
        ),
        dataset=testing.dataset_ref(root / "digits-eval.npz"),
    )


def cuda_available() -> bool:
    """Whether torch sees a CUDA GPU (False where torch is CPU-only)."""
    import torch

    return bool(torch.cuda.is_available())


def ort_has_cuda() -> bool:
    """Whether the installed onnxruntime offers its CUDA execution provider."""
    import onnxruntime

    return "CUDAExecutionProvider" in onnxruntime.get_available_providers()
