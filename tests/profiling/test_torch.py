"""Trusted local PyTorch models on the command line: ``module:function`` and ``.pt2`` files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from measure import testing
from paretoscope.core.errors import InputError
from paretoscope.profiling import plan_profile, run_profile
from store import Store

from .conftest import Models, request_for

pytestmark = pytest.mark.slow  # torch.export and the ONNX exporter take seconds each


def test_module_function_runs_on_torch_and_its_onnx_export_with_variants(
    models: Models, store: Store
) -> None:
    request = request_for(
        Path("tests.profiling.torch_models:classifier"),
        data_path=str(models.eval_npz),
        runtimes=("torch", "ort"),
        precisions=("fp32", "int8"),
    )
    plan = plan_profile(store, request)
    assert any("skipped torch × int8" in n for n in plan.notes)
    assert plan.torch_artifact is not None and plan.torch_artifact.format == "pt2"
    assert plan.artifact.format == "onnx"
    summary = run_profile(store, plan)
    assert summary.ok and summary.n_ok == 3
    rows = {(r["runtime"], r["precision"]): r for r in store.runs_frame().to_dict("records")}
    assert set(rows) == {("torch", "fp32"), ("ort", "fp32"), ("ort", "int8")}
    # The same weights measured by two runtimes agree on accuracy.
    assert rows[("torch", "fp32")]["accuracy"] == pytest.approx(
        rows[("ort", "fp32")]["accuracy"], abs=1 / 200
    )
    assert rows[("ort", "int8")]["parent_model_id"] == rows[("ort", "fp32")]["model_id"]


def test_a_pt2_file_is_trusted_on_the_command_line_only(
    store: Store, unchanged: Callable[[], None], tmp_path: Path
) -> None:
    pt2 = testing.export_pt2(testing.tiny_mlp(), tmp_path / "mlp.pt2", np.zeros((2, 64)))
    with pytest.raises(InputError, match="PARETOSCOPE_ALLOW_TORCH_UPLOADS=1"):
        plan_profile(store, request_for(pt2, runtimes=("torch",), source="upload"))
    unchanged()
    summary = run_profile(store, request_for(pt2, runtimes=("torch",), batches=(1, 4)))
    assert summary.ok and summary.n_ok == 2
    assert {r.spec.artifact.format for r in store.records(summary.run_ids)} == {"pt2"}
    assert all(r.accuracy == () for r in store.records(summary.run_ids))
