"""The gate's report: JSON is one valid object, Markdown escapes text from the runs."""

from __future__ import annotations

import json

import pandas as pd

from paretoscope.analysis.gate import check_runs
from paretoscope.present.regression import render_check
from tests.app_pages.hostile import hostile, live_markup

EVIL = hostile("model")


def _runs(p50: float, model: str = EVIL, run_id: str = "r") -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "run_id": run_id, "status": "ok", "model": model, "model_id": "x",
                "runtime": "ort", "device": "cpu", "device_name": "CPU", "precision": "fp32",
                "batch_size": 1, "threads": 1, "started_at": pd.Timestamp("2026-11-01"),
                "latency_ms_p50": p50, "latency_ms_p50_ci_low": p50 * 0.99,
                "latency_ms_p50_ci_high": p50 * 1.01, "peak_mem_mb": 100.0,
            }
        ]
    )  # fmt: skip


def test_markdown_keeps_model_names_as_text() -> None:
    report = check_runs(_runs(1.0, run_id="a"), _runs(2.0, run_id="b"))
    md = render_check(report, "md")
    assert "**Regression**" in md and "**regression**" in md
    rows = [line for line in md.splitlines() if line.startswith("| ") and "fp32" in line]
    assert rows and all(not live_markup(r.split(" | ")[0]) for r in rows)


def test_json_is_one_object_with_every_part() -> None:
    report = check_runs(_runs(1.0, run_id="a"), _runs(1.0, run_id="b"))
    obj = json.loads(render_check(report, "json"))
    assert obj["exit_status"] == 0 and obj["regressions"] == [] and obj["improvements"] == []
    (matched,) = obj["matched"]
    assert matched["model"] == EVIL and matched["baseline_run"] == "a"
    mem = next(m for m in matched["metrics"] if m["metric"] == "peak_mem_mb")
    assert mem["verdict"] == "not tested (no interval)" and mem["significant"] is None
    assert mem["ci_low_pct"] is None and mem["unit"] == "MB"
    assert obj["unmatched_baseline"] == [] and obj["unmatched_current"] == []


def test_unmatched_sides_are_listed() -> None:
    report = check_runs(_runs(1.0, model="a", run_id="a"), _runs(1.0, model="b", run_id="b"))
    obj = json.loads(render_check(report, "json"))
    assert obj["matched"] == [] and "Nothing to compare" in obj["summary"]
    assert [r["run_id"] for r in obj["unmatched_baseline"]] == ["a"]
    assert [r["run_id"] for r in obj["unmatched_current"]] == ["b"]
    table = render_check(report, "table")
    assert "0 configuration(s) matched" in table
