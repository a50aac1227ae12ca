"""The regression gate's matching and statistics, on small frames with known answers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

from paretoscope.analysis.configs import config_history, config_keys, match_newest, previous_runs
from paretoscope.analysis.gate import check_runs, paired_p_values
from paretoscope.analysis.regression import (
    Tolerance,
    default_tolerance,
    metric_changes,
    parse_tolerance,
)
from paretoscope.core.errors import InputError


def run(run_id: str, p50: float = 1.0, half: float = 0.01, **fields: object) -> dict[str, object]:
    row: dict[str, object] = {
        "run_id": run_id, "status": "ok", "model": "m", "model_id": "cli-aaaa",
        "runtime": "ort", "device": "cpu", "device_name": "CPU X", "precision": "fp32",
        "batch_size": 1, "threads": 1, "dataset_name": "digits", "dataset_sha256": "d" * 64,
        "started_at": pd.Timestamp("2026-11-01"), "latency_ms_p50": p50,
        "latency_ms_p50_ci_low": p50 * (1 - half), "latency_ms_p50_ci_high": p50 * (1 + half),
        "throughput_per_s": 1000.0 / p50, "model_size_mb": 1.0,
    }  # fmt: skip
    row.update(fields)
    return row


def frame(*rows: dict[str, object]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def test_keys_ignore_run_id_host_time_and_versions() -> None:
    a = frame(run("a", host="h1", runtime_version="1.0", started_at=pd.Timestamp("2026-01-01")))
    b = frame(run("b", host="h2", runtime_version="2.0", started_at=pd.Timestamp("2026-02-01")))
    assert config_keys(a).iloc[0] == config_keys(b).iloc[0]


@pytest.mark.parametrize(
    "change",
    [{"threads": 2}, {"batch_size": 8}, {"precision": "int8"}, {"device_name": "CPU Y"},
     {"runtime": "torch"}, {"dataset_sha256": "e" * 64}, {"model": "other"}, {"dim_seq": 128}],
)  # fmt: skip
def test_every_configuration_field_separates(change: dict[str, Any]) -> None:
    a, b = frame(run("a")), frame(run("b", **change))
    dims = [c for c in b.columns if c.startswith("dim_")]
    assert config_keys(a, dims=dims).iloc[0] != config_keys(b, dims=dims).iloc[0]


def test_a_missing_dimension_column_matches_an_empty_one() -> None:
    a = frame(run("a"))
    b = frame(run("b", dim_seq=pd.NA))
    assert config_keys(a, dims=["dim_seq"]).iloc[0] == config_keys(b, dims=["dim_seq"]).iloc[0]


def test_match_by_content_separates_a_changed_model_file_by_name_does_not() -> None:
    base, cur = frame(run("a")), frame(run("b", model_id="cli-bbbb"))
    assert len(match_newest(base, cur, "name").baseline) == 1
    m = match_newest(base, cur, "content")
    assert len(m.baseline) == 0 and len(m.only_baseline) == 1 and len(m.only_current) == 1


def test_newest_run_of_each_side_is_compared_and_failures_skipped() -> None:
    base = frame(run("old", started_at=pd.Timestamp("2026-01-01")),
                 run("new", started_at=pd.Timestamp("2026-01-02")))  # fmt: skip
    cur = frame(run("c1", started_at=pd.Timestamp("2026-02-01")),
                run("c2", started_at=pd.Timestamp("2026-02-03"), status="failed"))  # fmt: skip
    m = match_newest(base, cur)
    assert m.baseline["run_id"].tolist() == ["new"] and m.current["run_id"].tolist() == ["c1"]


def test_unchanged_within_intervals_passes_and_slowdown_fails() -> None:
    base = frame(run("a", p50=1.0, half=0.05))
    same = check_runs(base, frame(run("b", p50=1.03, half=0.05)))
    assert same.exit_code == 0
    p50 = same.changes.set_index("metric").loc["latency_ms_p50"]
    assert p50["verdict"] == "no significant change" and p50["ci_low_pct"] < 0 < p50["ci_high_pct"]
    slow = check_runs(base, frame(run("b", p50=3.0, half=0.05)))
    assert slow.exit_code == 1
    assert set(slow.regressions["metric"]) == {"latency_ms_p50", "throughput_per_s"}


def test_ratio_interval_is_the_log_scale_combination() -> None:
    b = frame(run("a", p50=1.0, latency_ms_p50_ci_low=0.9, latency_ms_p50_ci_high=1.1))
    c = frame(run("b", p50=2.0, latency_ms_p50_ci_low=1.8, latency_ms_p50_ci_high=2.2))
    row = metric_changes(b, c, "latency_ms_p50").iloc[0]
    se = (math.log(1.1) - math.log(0.9)) / (2 * 1.959963984540054)
    s = math.sqrt(2) * se
    assert row["ci_low_pct"] == pytest.approx((2 * math.exp(-1.959963984540054 * s) - 1) * 100)
    assert row["ci_high_pct"] == pytest.approx((2 * math.exp(1.959963984540054 * s) - 1) * 100)
    assert row["change_pct"] == pytest.approx(100.0) and bool(row["significant"])


def test_significant_but_within_tolerance_is_not_a_regression() -> None:
    base, cur = frame(run("a", p50=1.0, half=0.001)), frame(run("b", p50=1.03, half=0.001))
    row = metric_changes(base, cur, "latency_ms_p50").iloc[0]
    assert row["verdict"] == "worse within tolerance"
    row = metric_changes(base, cur, "latency_ms_p50", Tolerance(0.0, given=True)).iloc[0]
    assert row["verdict"] == "regression"
    row = metric_changes(cur, base, "latency_ms_p50").iloc[0]
    assert row["verdict"] == "improvement"


def test_absolute_tolerance_in_the_metric_unit() -> None:
    base, cur = frame(run("a", p50=1.0, half=0.001)), frame(run("b", p50=1.3, half=0.001))
    key, tol = parse_tolerance("latency_ms_p50=+0.5")
    assert metric_changes(base, cur, key, tol).iloc[0]["verdict"] == "worse within tolerance"


def test_accuracy_newcombe_and_paired_mcnemar() -> None:
    def acc(run_id: str, value: float, correct: str | None) -> dict[str, object]:
        n = 400
        from paretoscope.core.intervals import wilson_interval

        lo, hi = wilson_interval(round(value * n), n)
        return run(run_id, accuracy=value, accuracy_ci_low=lo, accuracy_ci_high=hi,
                   item_correct=correct, accuracy_items=None)  # fmt: skip

    base_items = "1" * 360 + "0" * 40
    worse_items = "1" * 340 + "0" * 60  # 20 items lost, none gained: McNemar p ~ 2e-6
    b, c = frame(acc("a", 0.9, base_items)), frame(acc("b", 0.85, worse_items))
    p = paired_p_values(b, c)
    assert p[0] < 1e-4
    row = metric_changes(b, c, "accuracy", paired_p=p).iloc[0]
    assert row["test"] == "mcnemar (paired)" and row["verdict"] == "regression"
    unpaired = metric_changes(b, c, "accuracy").iloc[0]
    assert unpaired["test"] == "newcombe" and unpaired["ci_low_pct"] < 0
    assert default_tolerance("accuracy").value == 0.0


def test_metric_without_an_interval_gates_only_when_named() -> None:
    base = frame(run("a", peak_mem_mb=100.0))
    cur = frame(run("b", peak_mem_mb=150.0))
    row = metric_changes(base, cur, "peak_mem_mb").iloc[0]
    assert row["verdict"] == "not tested (no interval)" and pd.isna(row["significant"])
    _, tol = parse_tolerance("peak_mem_mb=+20%")
    assert metric_changes(base, cur, "peak_mem_mb", tol).iloc[0]["verdict"] == "regression"


def test_model_size_is_exact() -> None:
    row = metric_changes(frame(run("a")), frame(run("b", model_size_mb=2.0)), "model_size_mb")
    assert row.iloc[0]["test"] == "exact" and row.iloc[0]["verdict"] == "regression"


def test_a_metric_missing_on_one_side_is_not_compared() -> None:
    out = metric_changes(frame(run("a")), frame(run("b", latency_ms_p50=np.nan)), "latency_ms_p50")
    assert out.empty


@pytest.mark.parametrize(
    ("text", "needle"),
    [("latency_ms_p50", "METRIC=AMOUNT"), ("bogus=5%", "unknown metric"),
     ("latency_ms_p50=x%", "not a number"), ("latency_ms_p50=-5%", "allowed increase"),
     ("throughput_per_s=+5%", "allowed decrease"), ("latency_ms_p50=nan", "finite")],
)  # fmt: skip
def test_bad_tolerances(text: str, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        parse_tolerance(text)


def test_tolerance_forms() -> None:
    assert parse_tolerance("latency_ms_p50=+5%") == ("latency_ms_p50", Tolerance(0.05, True, True))
    assert parse_tolerance("latency_ms_p50=5%")[1].value == pytest.approx(0.05)
    assert parse_tolerance("accuracy=-0.01") == ("accuracy", Tolerance(0.01, False, True))


def test_previous_runs_and_history_follow_time_within_a_configuration() -> None:
    rows = frame(
        run("b", started_at=pd.Timestamp("2026-01-02")),
        run("a", started_at=pd.Timestamp("2026-01-01")),
        run("x", threads=2, started_at=pd.Timestamp("2026-01-03")),
        run("f", started_at=pd.Timestamp("2026-01-03"), status="failed"),
        run("c", started_at=pd.Timestamp("2026-01-04")),
    )
    keys = config_keys(rows)
    prev = dict(zip(rows["run_id"], previous_runs(rows, keys), strict=True))
    assert prev == {"a": None, "b": "a", "x": None, "f": None, "c": "b"}
    assert config_history(rows, keys, "c")["run_id"].tolist() == ["a", "b", "c"]
    assert config_history(rows, keys, "nope").empty
