"""Warnings on weak measurements, shown on the Run detail page."""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd

from paretoscope.analysis.rundetail import (
    header_rows,
    measurement_warnings,
    parent_candidates,
    parent_comparison,
    repeat_table,
)
from paretoscope.core.intervals import paired_test
from paretoscope.core.records import AccuracyResult, RepeatLatency, RunRecord, TimingBudget
from tests.factories import make_record


def _with_latency(**changes: Any) -> RunRecord:
    rec = make_record(latency_ms=1.0)
    assert rec.latency is not None
    return dataclasses.replace(rec, latency=dataclasses.replace(rec.latency, **changes))


def test_a_good_measurement_has_no_warning() -> None:
    assert measurement_warnings(make_record(latency_ms=1.0)) == []


def test_stopping_at_the_time_limit_with_a_tight_ci_is_not_a_warning() -> None:
    rec = _with_latency(stop_reason="max_time", ci_low_ms=0.999, ci_high_ms=1.001)
    assert not any("stopped" in w for w in measurement_warnings(rec))


def test_stopping_at_the_time_limit_with_a_wide_ci_warns_twice() -> None:
    rec = _with_latency(stop_reason="max_time", ci_low_ms=0.9, ci_high_ms=1.1)
    warnings = measurement_warnings(rec)
    assert any("stopped at its max time limit" in w for w in warnings)
    assert any(w.startswith("Wide confidence interval") for w in warnings)


def test_few_iterations_and_reported_accuracy_warn() -> None:
    rec = _with_latency(n_iter=5)
    rec = dataclasses.replace(
        rec, accuracy=(AccuracyResult("top1", 0.9, "d", 450, "reported", "from the paper"),)
    )
    warnings = measurement_warnings(rec)
    assert any(w.startswith("Few timed iterations (5") for w in warnings)
    assert any("reported elsewhere, not measured here: from the paper" in w for w in warnings)


# Issue 11: the header's facts and the paired test against the parent model.


def _scored(rec: RunRecord, correct: str, items: str = "0:8") -> RunRecord:
    acc = AccuracyResult(
        "top1",
        correct.count("1") / len(correct),
        "digits-test",
        len(correct),
        ci_low=0.1,
        ci_high=0.9,
        item_correct=correct,
        items=items,
    )
    return dataclasses.replace(rec, accuracy=(acc,))


def test_header_rows_name_sweep_repeats_budget_scope_memory_and_accuracy() -> None:
    rec = make_record(latency_ms=1.0)
    spec = dataclasses.replace(
        rec.spec,
        dims={"seq": 128, "batch": 1},
        repeats=3,
        budget=TimingBudget(max_time_s=1.0, target_ci_rel=0.02),
    )
    assert rec.latency is not None
    rec = dataclasses.replace(
        rec, spec=spec, latency=dataclasses.replace(rec.latency, ci_scope="between-repeats")
    )
    rows = dict(header_rows(rec))
    assert rows["Sweep values"] == "batch=1, seq=128"
    assert rows["Repeats"] == "3"
    assert rows["Latency CI scope"] == "between 3 repeats (each in a fresh process)"
    assert rows["Timing budget"].startswith("CI target ±2.0% of the median, 0.2–1 s")
    assert rows["Timing stopped by"] == "ci_target"
    assert rows["Memory source"].startswith("vmhwm: peak resident set")
    assert rows["Peak host memory (MB)"] == "100"
    acc = rec.accuracy[0]
    assert acc.ci_low is not None and acc.ci_high is not None
    assert rows["Accuracy (top1)"] == (
        f"0.9500 (95% CI {acc.ci_low:.4f}–{acc.ci_high:.4f}, Wilson) on 450 items"
    )


def test_one_repeat_is_within_one_process_and_missing_device_memory_gives_the_reason() -> None:
    rec = make_record()
    assert rec.memory is not None
    mem = dataclasses.replace(
        rec.memory, peak_mem_mb=None, source=None, unavailable_reason="no NVML on this host"
    )
    rows = dict(header_rows(dataclasses.replace(rec, memory=mem)))
    assert rows["Latency CI scope"] == "within one process"
    assert rows["Sweep values"] == "—"
    assert rows["Memory source"] == "unavailable: no NVML on this host"


def test_parent_comparison_is_mcnemars_exact_test_on_the_same_items() -> None:
    parent = _scored(make_record(model="fp32"), "11111111")
    child = _scored(
        make_record(model="int8", parent_model_id=parent.spec.model.model_id), "11011110"
    )
    sentence = parent_comparison(child, [parent])
    assert sentence == paired_test("11011110", "11111111").sentence("int8", "fp32")
    assert sentence is not None and "2 items changed" in sentence
    # Other items, another data set or no per-item scores: no test.
    assert parent_comparison(child, [_scored(parent, "11111111", items="8:16")]) is None
    assert parent_comparison(child, [make_record(model="fp32")]) is None
    assert parent_comparison(make_record(), [parent]) is None


def test_parent_candidates_match_model_device_and_runtime() -> None:
    child = make_record(model="int8", parent_model_id="p1")
    runs = pd.DataFrame(
        {
            "run_id": ["a", "b", "c", "d"],
            "model_id": ["p1", "p1", "p1", "other"],
            "device": ["cpu", "cuda:0", "cpu", "cpu"],
            "runtime": ["ort", "ort", "torch", "ort"],
        }
    )
    assert parent_candidates(runs, child) == ["a"]
    assert parent_candidates(runs, make_record()) == []


def test_repeat_table_keeps_each_fresh_process_figures() -> None:
    rec = make_record(latency_ms=1.0)
    assert repeat_table(rec).empty
    assert rec.latency is not None
    reps = tuple(
        RepeatLatency(p, p * 0.99, p * 1.01, p, 300, 0.5, "ci_target") for p in (1.0, 1.1, 0.95)
    )
    lat = dataclasses.replace(rec.latency, repeats=reps, ci_scope="between-repeats")
    table = repeat_table(dataclasses.replace(rec, latency=lat))
    assert list(table["Repeat"]) == [1, 2, 3]
    assert list(table["p50 (ms)"]) == [1.0, 1.1, 0.95]
    assert dict(header_rows(dataclasses.replace(rec, latency=lat)))["Latency CI scope"] == (
        "between 3 repeats (each in a fresh process)"
    )
