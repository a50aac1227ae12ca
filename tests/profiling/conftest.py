"""Fixtures for the profiling tests: tiny real ONNX models, their data, and store snapshots."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from measure import testing
from paretoscope.profiling import ProfileRequest
from store import Store

from . import onnx_models


@dataclass(frozen=True)
class Models:
    """The session's models and data files (read-only: tests copy before changing)."""

    root: Path
    x_eval: np.ndarray
    y_eval: np.ndarray
    weights: dict[str, np.ndarray]
    classifier: Path
    eval_npz: Path
    two_inputs: Path
    tokens: Path
    custom_op: Path
    nan: Path
    hanging: Path
    memory_hog: Path


@pytest.fixture(scope="session")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    root = tmp_path_factory.mktemp("profiling-models")
    x_train, y_train, x_eval, y_eval = testing.digits_split(n_eval=200)
    weights = onnx_models.mlp_weights(x_train, y_train)
    np.savez(root / "digits-eval.npz", x=x_eval, labels=y_eval)
    return Models(
        root=root,
        x_eval=x_eval,
        y_eval=y_eval,
        weights=weights,
        classifier=onnx_models.mlp(root / "classifier.onnx", weights),
        eval_npz=root / "digits-eval.npz",
        two_inputs=onnx_models.two_inputs(root / "two-inputs.onnx"),
        tokens=onnx_models.token_classifier(root / "tokens.onnx"),
        custom_op=onnx_models.custom_op(root / "custom-op.onnx"),
        nan=onnx_models.mlp(root / "nan.onnx", weights, nan=True),
        hanging=onnx_models.hanging(root / "hanging.onnx"),
        memory_hog=onnx_models.memory_hog(root / "memory-hog.onnx"),
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "store" / "paretoscope.duckdb")


def request_for(model: Path, **kw: Any) -> ProfileRequest:
    """A request with the quick timing budget, so a run takes well under a second of timing.

    One process per run unless ``repeats`` is given: repeats have tests of their own.
    """
    kw.setdefault("budget", testing.QUICK_BUDGET)
    kw.setdefault("repeats", 1)
    kw.setdefault("timeout_s", 60.0)
    return ProfileRequest(model_path=str(model), **kw)


def snapshot(store: Store) -> tuple[int, frozenset[str]]:
    """What a refusal must leave unchanged: the run count and every file in the store's folder."""
    files = frozenset(
        str(p.relative_to(store.files_dir)) for p in store.files_dir.rglob("*") if p.is_file()
    )
    return store.run_count(), files


@pytest.fixture
def unchanged(store: Store) -> Callable[[], None]:
    """Call at the end of a test: asserts the store is as it was when the fixture was made."""
    before = snapshot(store)

    def check() -> None:
        assert snapshot(store) == before

    return check
