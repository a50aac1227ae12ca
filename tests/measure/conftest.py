"""Fixtures for the measure tests: tiny real models and a labelled set, built once per session."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from measure import testing
from measure.profile import THREAD_ENV_VARS
from paretoscope.core.records import ArtifactRef, DatasetRef


@dataclass(frozen=True)
class Zoo:
    """The session's models and data: one trained MLP in every artifact format."""

    root: Path
    x_eval: np.ndarray
    y_eval: np.ndarray
    weights: dict[str, np.ndarray]  # the trained MLP's state dict as NumPy
    onnx: ArtifactRef
    onnx_int8: ArtifactRef
    state: ArtifactRef
    pt2: ArtifactRef
    dataset: DatasetRef


@pytest.fixture(scope="session")
def zoo(tmp_path_factory: pytest.TempPathFactory) -> Zoo:
    root = tmp_path_factory.mktemp("zoo")
    x_train, y_train, x_eval, y_eval = testing.digits_split()
    model = testing.train_mlp(x_train, y_train)
    weights = {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}
    testing.save_state(model, root / "mlp.pt")
    testing.export_onnx(model, root / "mlp.onnx", x_eval[:2])
    testing.quantize_onnx_int8(root / "mlp.onnx", root / "mlp-int8.onnx")
    testing.export_pt2(model, root / "mlp.pt2", x_eval[:2])
    testing.write_dataset(root / "digits-eval.npz", x_eval, y_eval)
    return Zoo(
        root=root,
        x_eval=x_eval,
        y_eval=y_eval,
        weights=weights,
        onnx=testing.artifact_ref(root / "mlp.onnx", "onnx"),
        onnx_int8=testing.artifact_ref(root / "mlp-int8.onnx", "onnx", precision="int8"),
        state=testing.artifact_ref(
            root / "mlp.pt", "torch-state", builder="measure.testing:tiny_mlp"
        ),
        pt2=testing.artifact_ref(root / "mlp.pt2", "pt2"),
        dataset=testing.dataset_ref(root / "digits-eval.npz"),
    )


@pytest.fixture(autouse=True)
def _restore_thread_settings() -> Iterator[None]:
    # profile_run pins threads for the process it runs in; in-process tests
    # must not leave that behind for the rest of the suite.
    saved = {var: os.environ.get(var) for var in THREAD_ENV_VARS}
    torch_threads = None
    if "torch" in sys.modules:
        import torch

        torch_threads = torch.get_num_threads()
    yield
    for var, value in saved.items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value
    if torch_threads is not None:
        import torch

        torch.set_num_threads(torch_threads)


@pytest.fixture(scope="session")
def reference_logits(zoo: Zoo) -> Callable[[np.ndarray], np.ndarray]:
    """The trained MLP's forward pass in NumPy (float64): an independent reference."""
    w = {k: v.astype(np.float64) for k, v in zoo.weights.items()}

    def forward(x: np.ndarray) -> np.ndarray:
        h = np.maximum(x @ w["0.weight"].T + w["0.bias"], 0.0)
        out: np.ndarray = h @ w["2.weight"].T + w["2.bias"]
        return out

    return forward
