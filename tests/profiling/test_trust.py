"""Profiles whose numbers can be trusted (issue 11): int8-static scored apart from its calibration
items, and non-finite outputs failing a run with or without data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from measure.variants import MIN_SCORED_ITEMS
from paretoscope.core.errors import InputError
from paretoscope.profiling import plan_profile, run_profile
from store import Store

from . import onnx_models
from .conftest import Models, request_for


def test_int8_static_never_scores_its_calibration_items(models: Models, store: Store) -> None:
    request = request_for(
        models.classifier,
        data_path=str(models.eval_npz),
        precisions=("fp32", "int8-static"),
        calib_items=64,
    )
    plan = plan_profile(store, request)
    assert plan.calib_items == 64 and plan.dataset is not None and plan.dataset.items == "64:200"
    assert any("calibrated on items 0:64" in note for note in plan.notes)
    summary = run_profile(store, plan)
    assert summary.ok and summary.n_ok == 2
    records = {r.spec.precision: r for r in store.records(summary.run_ids)}
    reference = onnx_models.mlp_reference(models.weights, models.x_eval).argmax(axis=1)
    for precision in ("fp32", "int8-static"):
        top1 = records[precision].accuracy[0]
        # Both runs are scored on the same items, none of them a calibration item.
        assert (top1.items, top1.n_samples) == ("64:200", 136)
        assert top1.item_correct is not None and len(top1.item_correct) == 136
    fp32 = records["fp32"].accuracy[0]
    expected = reference[64:] == models.y_eval[64:]
    assert fp32.item_correct == "".join("1" if c else "0" for c in expected)
    rows = {r["precision"]: r for r in store.runs_frame().to_dict("records")}
    text = str(rows["int8-static"]["transformation"])
    assert "calibration on 64 items" in text and "items 0:64" in text and "items 64:200" in text
    assert rows["fp32"]["accuracy_items"] == rows["int8-static"]["accuracy_items"] == "64:200"
    assert "136 items 64:200" in str(rows["int8-static"]["dataset"])


def test_without_int8_static_every_item_is_scored(models: Models, store: Store) -> None:
    request = request_for(
        models.classifier, data_path=str(models.eval_npz), precisions=("fp32", "int8")
    )
    plan = plan_profile(store, request)
    assert plan.calib_items == 0 and plan.dataset is not None and plan.dataset.items is None
    summary = run_profile(store, plan)
    assert summary.ok
    for record in store.records(summary.run_ids):
        assert (record.accuracy[0].items, record.accuracy[0].n_samples) == ("0:200", 200)


def test_calibration_takes_at_most_half_of_small_data(
    models: Models, store: Store, tmp_path: Path
) -> None:
    small = tmp_path / "small.npz"
    np.savez(small, x=models.x_eval[:100], labels=models.y_eval[:100])
    request = request_for(
        models.classifier, data_path=str(small), precisions=("fp32", "int8-static")
    )
    plan = plan_profile(store, request)  # calib_items is 128 by default
    assert plan.calib_items == 50 and plan.dataset is not None and plan.dataset.items == "50:100"
    assert any("the first 50 items, not 128" in note for note in plan.notes)
    assert "items 0:50" in plan.variants[0].transformation


def test_too_little_data_to_calibrate_and_score_apart_is_refused(
    models: Models, store: Store, tmp_path: Path, unchanged: Callable[[], None]
) -> None:
    tiny = tmp_path / "tiny.npz"
    n = 2 * MIN_SCORED_ITEMS - 2  # half calibrates, leaving one item too few to score
    np.savez(tiny, x=models.x_eval[:n], labels=models.y_eval[:n])
    request = request_for(
        models.classifier, data_path=str(tiny), precisions=("fp32", "int8-static")
    )
    with pytest.raises(
        InputError, match=r"58 item\(s\), and calibrating on 29 would leave 29 to score"
    ):
        run_profile(store, request)
    unchanged()


def _non_finite_model(path: Path) -> Path:
    """``y = x @ W`` with every weight NaN: every output is NaN whatever the input."""
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "all-nan",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])],
        [numpy_helper.from_array(np.full((4, 3), np.nan, dtype=np.float32), "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", onnx_models.OPSET)])
    model.ir_version = onnx_models.IR_VERSION
    onnx.save(model, str(path))
    return path


def test_nan_outputs_fail_the_run_without_data(store: Store, tmp_path: Path) -> None:
    model = _non_finite_model(tmp_path / "all-nan.onnx")
    summary = run_profile(store, request_for(model))
    assert summary.n_failed == 1 and summary.n_ok == 0 and not summary.ok
    (record,) = store.records(summary.run_ids)
    assert record.status == "failed" and record.accuracy == ()
    assert record.error is not None
    assert "non-finite outputs on 1 of 1 items" in record.error and "NaN" in record.error
    row = store.runs_frame(status=None).iloc[0]
    assert row["status"] == "failed" and "NaN or infinity" in str(row["error"])
