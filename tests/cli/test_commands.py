"""The command line's contract: forms, columns, and frontier = brute force over `runs`."""

from __future__ import annotations

import io
import itertools
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from paretoscope.analysis.frontier import pareto_mask_bruteforce
from paretoscope.cli import main
from paretoscope.core.metrics import METRICS, metric
from paretoscope.present.runtable import RUN_COLUMNS
from store import Store
from tests.factories import make_record


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "s.duckdb")
    rng = np.random.default_rng(7)
    recs = []
    for i, (rt, prec, bs) in enumerate(
        itertools.product(["ort", "torch"], ["fp32", "int8"], [1, 32])
    ):
        for j in range(3):
            recs.append(
                make_record(
                    model=f"m{j}",
                    runtime=rt,
                    precision=prec,
                    batch_size=bs,
                    latency_ms=float(rng.integers(1, 6)),
                    accuracy=float(rng.integers(90, 99)) / 100,
                    peak_mem_mb=float(rng.integers(50, 60)),
                    params=1000 * (j + 1),
                    model_size_mb=0.1 * (j + 1 + i % 2),
                )
            )
    recs.append(make_record(model="nan-acc", accuracy=None))
    recs.append(make_record(model="broken", status="failed", error="boom"))
    s.ingest_many(recs)
    return s


def test_runs_columns_and_formats(store: Store) -> None:
    code, out, _ = run_cli("runs", "--store", str(store.path), "--format", "csv")
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    assert list(frame.columns) == list(RUN_COLUMNS)
    assert len(frame) == 25  # failed runs are not listed
    assert set(frame["runtime"]) == {"ort", "torch"}
    code, out, _ = run_cli("runs", "--store", str(store.path), "--format", "json")
    rows = json.loads(out)
    assert len(rows) == 25 and rows[0]["run_id"]
    nan_row = next(r for r in rows if r["model"] == "nan-acc")
    assert nan_row["accuracy"] is None


def test_runs_all_includes_failures(store: Store) -> None:
    _, out, _ = run_cli("runs", "--store", str(store.path), "--all", "--format", "json")
    rows = json.loads(out)
    assert [r["error"] for r in rows if r["status"] == "failed"] == ["boom"]


def _brute_force(rows: pd.DataFrame, metrics: list[str]) -> set[str]:
    vals = rows[metrics].to_numpy(dtype=float)
    senses = [metric(m).sign for m in metrics]
    return set(rows["run_id"][pareto_mask_bruteforce(vals, senses)])


@pytest.mark.parametrize(
    "metrics",
    [
        ["latency_ms_p50", "accuracy"],
        ["peak_mem_mb", "accuracy"],
        ["throughput_per_s", "accuracy"],
        ["latency_ms_p99", "accuracy", "model_size_mb"],
        ["latency_ms_p50", "accuracy", "peak_mem_mb", "params"],
    ],
)
def test_frontier_equals_brute_force_over_runs(store: Store, metrics: list[str]) -> None:
    _, runs_out, _ = run_cli("runs", "--store", str(store.path), "--format", "csv")
    runs = pd.read_csv(io.StringIO(runs_out))
    z = [a for m in metrics[2:] for a in ("--z", m)]
    code, out, _ = run_cli(
        "frontier", "--x", metrics[0], "--y", metrics[1], *z, "--store", str(store.path)
    )
    assert code == 0
    front = pd.read_csv(io.StringIO(out))
    assert list(front.columns) == list(RUN_COLUMNS)
    assert set(front["run_id"]) == _brute_force(runs, metrics)


def test_frontier_by_field(store: Store) -> None:
    _, runs_out, _ = run_cli("runs", "--store", str(store.path))
    runs = pd.read_csv(io.StringIO(runs_out))
    _, out, _ = run_cli(
        "frontier", "--x", "latency_ms_p50", "--y", "accuracy", "--by", "runtime",
        "--store", str(store.path), "--format", "json",
    )  # fmt: skip
    got = {r["run_id"] for r in json.loads(out)}
    expected: set[str] = set()
    for _, group in runs.groupby("runtime"):
        expected |= _brute_force(group.reset_index(drop=True), ["latency_ms_p50", "accuracy"])
    assert got == expected


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["frontier", "--x", "speed", "--y", "accuracy"], "unknown metric 'speed'"),
        (["frontier", "--x", "accuracy", "--y", "accuracy"], "named once"),
        (["frontier", "--x", "params", "--y", "accuracy", "--by", "colour"], "cannot group by"),
    ],
)
def test_bad_input_is_one_clear_line(store: Store, argv: list[str], needle: str) -> None:
    code, out, err = run_cli(*argv, "--store", str(store.path))
    assert code == 2
    assert needle in err and "Traceback" not in err
    assert out == ""


def test_corrupt_store_is_a_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"\x00garbage" * 1000)
    code, _, err = run_cli("runs", "--store", str(bad))
    assert code == 1 and "cannot open the store" in err


def test_every_metric_key_is_a_run_column() -> None:
    assert set(METRICS) <= set(RUN_COLUMNS)


def _profile_json(db: str, model: Path, *extra: str) -> list[dict[str, Any]]:
    argv = ["profile", str(model), "--dim", "seq=8,16", "--store", db, "--quick", *extra]
    code, _, err = run_cli(*argv)
    assert code == 0, err
    assert "seq=8,16" in err  # the sweep's values are named when it starts
    _, out, _ = run_cli("runs", "--store", db, "--format", "json")
    rows: list[dict[str, Any]] = json.loads(out)
    return rows


def test_profile_repeats_gives_between_repeat_cis_in_separate_invocations(tmp_path: Path) -> None:
    from tests.profiling import onnx_models

    model = onnx_models.token_classifier(tmp_path / "tokens.onnx")
    db = str(tmp_path / "r.duckdb")
    _profile_json(db, model, "--repeats", "3")
    rows = _profile_json(db, model, "--repeats", "3")  # a second, separate invocation
    assert len(rows) == 4 and {r["repeats"] for r in rows} == {3}
    assert sorted(r["dim_seq"] for r in rows) == [8, 8, 16, 16]
    store = Store(Path(db))
    for record in store.records([str(r["run_id"]) for r in rows]):
        lat = record.latency
        assert lat is not None and lat.ci_scope == "between-repeats" and len(lat.repeats) == 3
        assert record.spec.repeats == 3
        medians = [r.p50_ms for r in lat.repeats]
        # The CI holds the repeats' centre (their median, the run's p50, and their mean)
        # and every repeat's own median.
        assert lat.p50_ms == float(np.median(medians))
        assert lat.ci_low_ms <= float(np.mean(medians)) <= lat.ci_high_ms
        assert lat.ci_low_ms <= min(medians) and max(medians) <= lat.ci_high_ms
        # Each repeat had a third of the quick budget's time.
        assert record.spec.budget.max_time_s == pytest.approx(0.2 / 3)


def test_quick_profiles_default_to_one_process_per_run(tmp_path: Path) -> None:
    from tests.profiling import onnx_models

    model = onnx_models.token_classifier(tmp_path / "tokens.onnx")
    rows = _profile_json(str(tmp_path / "q.duckdb"), model)
    assert {r["repeats"] for r in rows} == {1}
    (record, _) = Store(tmp_path / "q.duckdb").records([str(r["run_id"]) for r in rows])
    assert record.latency is not None and record.latency.ci_scope == "within-process"
    assert record.latency.repeats == ()


@pytest.mark.parametrize("command", [["demo"], ["profile", "model.onnx"]])
@pytest.mark.parametrize("value", ["0", str(21)])
def test_repeats_out_of_range_are_refused(tmp_path: Path, command: list[str], value: str) -> None:
    code, _, err = run_cli(*command, "--repeats", value, "--store", str(tmp_path / "s.duckdb"))
    assert code == 2
    assert "repeats must be from 1 to 20" in err
