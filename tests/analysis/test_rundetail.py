"""Warnings on weak measurements, shown on the Run detail page."""

from __future__ import annotations

import dataclasses
from typing import Any

from paretoscope.analysis.rundetail import measurement_warnings
from paretoscope.core.records import AccuracyResult, RunRecord
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
