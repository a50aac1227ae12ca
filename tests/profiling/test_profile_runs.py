"""Profiles that run: measured accuracy, variants and lineage, sweeps, odd inputs, failed runs."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest

from paretoscope import cli
from paretoscope.core.records import from_dict, to_dict
from paretoscope.profiling import ProfileProgress, plan_profile, run_profile
from store import Store

from . import onnx_models
from .conftest import Models, request_for


def test_cli_profile_fp32_and_int8_at_two_batches_gives_four_measured_runs(
    models: Models, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "cli.duckdb")
    argv = ["profile", str(models.classifier), "--data", str(models.eval_npz)]
    argv += ["--precision", "fp32,int8", "--batch", "1,8", "--store", db, "--quick"]
    assert cli.main(argv) == 0
    assert "4 of 4 run(s) ok" in capsys.readouterr().err
    out = io.StringIO()
    with redirect_stdout(out):
        assert cli.main(["runs", "--store", db, "--format", "json"]) == 0
    rows = json.loads(out.getvalue())
    assert sorted((r["runtime"], r["precision"], r["batch_size"]) for r in rows) == [
        ("ort", "fp32", 1),
        ("ort", "fp32", 8),
        ("ort", "int8", 1),
        ("ort", "int8", 8),
    ]
    assert all(r["accuracy_origin"] == "measured" and 0.5 < r["accuracy"] <= 1 for r in rows)
    assert all(r["accuracy_top5"] >= r["accuracy"] for r in rows)
    int8 = [r for r in rows if r["precision"] == "int8"]
    fp32 = [r for r in rows if r["precision"] == "fp32"]
    assert {r["parent_model_id"] for r in int8} == {fp32[0]["model_id"]}
    assert "quantize_dynamic" in int8[0]["transformation"]


def test_fp32_accuracy_equals_an_independent_onnxruntime_and_numpy_computation(
    models: Models, store: Store
) -> None:
    summary = run_profile(store, request_for(models.classifier, data_path=str(models.eval_npz)))
    assert summary.ok
    (record,) = store.records(summary.run_ids)
    measured = {a.metric: a.value for a in record.accuracy}
    session = ort.InferenceSession(str(models.classifier), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"x": models.x_eval.astype(np.float32)})
    expected = float((np.argmax(logits, axis=1) == models.y_eval).mean())
    assert measured["top1"] == expected
    numpy_only = onnx_models.mlp_reference(models.weights, models.x_eval)
    assert measured["top1"] == pytest.approx(
        float((numpy_only.argmax(axis=1) == models.y_eval).mean()), abs=1 / 200
    )
    top5 = np.argsort(-logits, axis=1)[:, :5]
    assert measured["top5"] == float((top5 == models.y_eval[:, None]).any(axis=1).mean())
    assert record.accuracy[0].n_samples == 200


def test_every_variant_is_linked_to_its_parent_and_measured_again(
    models: Models, store: Store
) -> None:
    seen: list[ProfileProgress] = []
    request = request_for(
        models.classifier,
        data_path=str(models.eval_npz),
        precisions=("fp32", "fp16", "int8-static"),
        calib_items=64,
    )
    summary = run_profile(store, request, on_progress=seen.append)
    assert summary.ok and summary.n_ok == 3
    rows = {r["precision"]: r for r in store.runs_frame().to_dict("records")}
    parent = rows["fp32"]["model_id"]
    for precision in ("fp16", "int8-static"):
        assert rows[precision]["parent_model_id"] == parent
        assert rows[precision]["accuracy"] == pytest.approx(rows["fp32"]["accuracy"], abs=0.05)
    assert "calibration on 64 items" in str(rows["int8-static"]["transformation"])
    assert [p.phase for p in seen][:1] == ["variants"] and seen[-1].phase == "done"
    assert seen[-1].done == seen[-1].total == 5
    assert any(p.eta_s is not None for p in seen)


def test_the_same_file_twice_is_stored_once(models: Models, store: Store) -> None:
    first = plan_profile(store, request_for(models.classifier, data_path=str(models.eval_npz)))
    second = plan_profile(store, request_for(models.classifier, data_path=str(models.eval_npz)))
    assert first.model.model_id == second.model.model_id
    assert first.artifact.path == second.artifact.path
    assert Path(first.artifact.path).parent == store.files_dir / "artifacts"
    assert len(list((store.files_dir / "artifacts").iterdir())) == 1
    assert len(list((store.files_dir / "datasets").iterdir())) == 1
    assert from_dict(type(first.info), json.loads(json.dumps(to_dict(first.info)))) == first.info


def test_two_inputs_profile_with_named_arrays(models: Models, store: Store, tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((40, 4)), rng.standard_normal((40, 3))
    np.savez(tmp_path / "ab.npz", a=a, b=b, labels=np.arange(40) % 3)
    summary = run_profile(
        store, request_for(models.two_inputs, data_path=str(tmp_path / "ab.npz"), batches=(1, 4))
    )
    assert summary.ok and summary.n_ok == 2
    (record, _) = store.records(summary.run_ids)
    assert record.provenance is not None
    assert set(record.provenance.input_shapes) == {"a", "b"}
    session = ort.InferenceSession(str(models.two_inputs), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"a": a.astype(np.float32), "b": b.astype(np.float32)})
    top1 = next(x.value for x in record.accuracy if x.metric == "top1")
    assert top1 == float((logits.argmax(axis=1) == np.arange(40) % 3).mean())


def test_int64_token_ids_with_a_symbolic_sequence_length(
    models: Models, store: Store, tmp_path: Path
) -> None:
    ids = np.random.default_rng(0).integers(0, 50, (30, 12))
    np.savez(tmp_path / "ids.npz", ids=ids, labels=np.arange(30) % 4)
    with_data = run_profile(store, request_for(models.tokens, data_path=str(tmp_path / "ids.npz")))
    assert with_data.ok
    (record,) = store.records(with_data.run_ids)
    assert record.spec.dims == {"seq": 12}
    assert record.provenance is not None and record.provenance.input_shapes == {"ids": [1, 12]}
    sweep = run_profile(store, request_for(models.tokens, dims={"seq": (8, 32)}, batches=(2,)))
    assert sweep.ok and sweep.n_ok == 2
    shapes = sorted(
        r.provenance.input_shapes["ids"] for r in store.records(sweep.run_ids) if r.provenance
    )
    assert shapes == [[2, 8], [2, 32]]
    assert all(r.accuracy == () for r in store.records(sweep.run_ids))


def test_regression_from_csv_reports_mae_and_rmse(store: Store, tmp_path: Path) -> None:
    import pandas as pd

    rng = np.random.default_rng(5)
    w = rng.standard_normal((3, 1))
    x = rng.standard_normal((50, 3))
    y = (x @ w)[:, 0] + rng.normal(0, 0.1, 50)
    model = onnx_models.regressor(tmp_path / "reg.onnx", w)
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "target": y}).to_csv(
        tmp_path / "reg.csv", index=False
    )
    summary = run_profile(
        store, request_for(model, data_path=str(tmp_path / "reg.csv"), task="regression")
    )
    assert summary.ok
    row = store.runs_frame().iloc[0]
    err = (x.astype(np.float32) @ w.astype(np.float32))[:, 0] - y
    assert row["mae"] == pytest.approx(float(np.abs(err).mean()), rel=1e-5)
    assert row["rmse"] == pytest.approx(float(np.sqrt((err**2).mean())), rel=1e-5)
    assert pd.isna(row["accuracy"])


def test_reported_accuracy_is_stored_as_reported_and_nothing_is_measured(
    models: Models, store: Store
) -> None:
    summary = run_profile(
        store, request_for(models.classifier, reported_accuracy=0.91, precisions=("fp32", "int8"))
    )
    assert summary.ok
    rows = {r["precision"]: r for r in store.runs_frame().to_dict("records")}
    assert rows["fp32"]["accuracy"] == pytest.approx(0.91)
    assert rows["fp32"]["accuracy_origin"] == "reported"
    # The variant's accuracy is unknown: the fp32 number is not copied onto it.
    assert np.isnan(float(rows["int8"]["accuracy"]))


def test_builtin_digits_fits_a_64_feature_model(models: Models, store: Store) -> None:
    summary = run_profile(store, request_for(models.classifier, builtin_data="digits"))
    assert summary.ok
    row = store.runs_frame().iloc[0]
    assert row["accuracy_n"] == 1797 and row["accuracy"] > 0.5


def test_nan_outputs_fail_the_run_with_the_reason(models: Models, store: Store) -> None:
    summary = run_profile(store, request_for(models.nan, data_path=str(models.eval_npz)))
    assert summary.n_failed == 1 and not summary.ok
    (record,) = store.records(summary.run_ids)
    assert record.status == "failed" and record.accuracy == ()
    assert record.error is not None and "non-finite outputs on" in record.error


def test_hang_and_memory_overrun_are_failed_runs_and_earlier_runs_stay(
    models: Models, store: Store
) -> None:
    good = run_profile(store, request_for(models.classifier, data_path=str(models.eval_npz)))
    hang = run_profile(store, request_for(models.hanging, timeout_s=6.0))
    hog = run_profile(store, request_for(models.memory_hog, mem_limit_mb=400.0))
    (hung,) = store.records(hang.run_ids)
    (hogged,) = store.records(hog.run_ids)
    assert hung.status == "failed" and hung.error == "timed out after 6 s"
    assert hogged.status == "failed" and hogged.error is not None
    assert "exceeded the memory limit of 400 MB" in hogged.error
    assert [r.status for r in store.records(good.run_ids)] == ["ok"]
    assert store.run_count(status="ok") == 1 and store.run_count() == 3


def test_cancel_stops_between_runs_and_keeps_what_was_stored(models: Models, store: Store) -> None:
    stored: list[int] = []

    def should_cancel() -> bool:
        stored.append(store.run_count())
        return store.run_count() >= 1

    summary = run_profile(
        store, request_for(models.classifier, batches=(1, 2, 4)), should_cancel=should_cancel
    )
    assert summary.cancelled and summary.n_ok == 1 and summary.n_planned == 3
    assert store.run_count() == 1
    assert "cancelled" in str(summary)


def test_external_data_is_stored_beside_its_model_and_runs(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "upload"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(np.ones((4, 2), dtype=np.float32).tobytes())
    model = onnx_models.with_external_data(folder / "ext.onnx", "weights.bin")
    summary = run_profile(store, request_for(model))
    assert summary.ok
    (record,) = store.records(summary.run_ids)
    stored = Path(record.spec.artifact.path)
    assert stored.parent.parent == store.files_dir / "artifacts"
    assert (stored.parent / "weights.bin").read_bytes() == (folder / "weights.bin").read_bytes()
    assert record.model_size_mb == pytest.approx((stored.stat().st_size + 32) / 1e6)


def test_progress_counts_each_repeat_as_a_step(models: Models, store: Store) -> None:
    events: list[ProfileProgress] = []
    request = request_for(models.classifier, data_path=str(models.eval_npz), repeats=2)
    summary = run_profile(store, request, on_progress=events.append)
    assert summary.ok and summary.n_planned == 1
    assert {e.total for e in events} == {2}  # one run, two repeats
    dones = [e.done for e in events]
    assert dones == sorted(dones) and dones[-1] == 2
    # The first repeat's end moves the count before the run is done.
    assert any(e.done == 1 and "repeat 2/2" in e.stage for e in events)
    assert any(e.stage == "timing · repeat 1/2" for e in events)
    (record,) = store.records(summary.run_ids)
    assert record.latency is not None and record.latency.ci_scope == "between-repeats"
    assert [a.metric for a in record.accuracy] == ["top1", "top5"]
