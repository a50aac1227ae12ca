"""The decision report: its sections, escaping in both forms, and an HTML page that stands alone."""

from __future__ import annotations

import re

import pandas as pd

from paretoscope.analysis.decide import Constraint, Decision, Objective, decide
from paretoscope.present.charts.decide import decision_chart
from paretoscope.present.report import (
    Report,
    candidates_table,
    machines_table,
    near_miss_table,
    report_html,
    report_markdown,
)

HOSTILE = '<script>alert(1)</script>[link](http://evil.example) **b** </table>"'


def runs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": ["r1", "r2", "r3", "r4"],
            "model": [HOSTILE, "small", "big", "slow"],
            "runtime": ["ort", "ort", "torch", "ort"],
            "runtime_version": ["1.20", "1.20", "2.5", "1.20"],
            "execution_provider": ["CPUExecutionProvider"] * 4,
            "device": ["cpu"] * 4,
            "device_name": ["CPU <b>X</b>", "CPU <b>X</b>", "CPU <b>X</b>", "CPU <b>X</b>"],
            "host": ["h1", "h1", "h2", "h1"],
            "precision": ["fp32", "int8", "fp32", "fp32"],
            "batch_size": [1, 1, 1, 1],
            "threads": [1, 1, 2, 1],
            "started_at": pd.to_datetime(["2026-01-01 10:00"] * 4, utc=True),
            "accuracy": [0.97, 0.95, 0.99, 0.96],
            "accuracy_ci_low": [0.95, 0.93, 0.98, 0.94],
            "accuracy_ci_high": [0.98, 0.97, 0.995, 0.975],
            "latency_ms_p50": [1.0, 0.5, 5.0, 9.0],
            "latency_ms_p50_ci_low": [0.9, 0.45, 4.8, 8.0],
            "latency_ms_p50_ci_high": [1.1, 0.55, 5.2, 10.0],
        }
    )


def _report(chart: bool = True) -> Report:
    frame = runs()
    d = Decision(
        require=(Constraint.parse("latency_ms_p50<=2"),),
        objective=Objective("accuracy", "max"),
    )
    result = decide(frame, d)
    spec = decision_chart(frame, result).to_dict() if chart else None
    link = 'http://host/decide?req=latency_ms_p50%3C%3D2&x="><script>'
    return Report(result, frame, link, ["r1 vs r3: 3 items changed"], "r3", spec, "9.9")


def test_candidates_carry_intervals_and_verdicts() -> None:
    r = _report().result
    table = candidates_table(r)
    assert list(table["Run"]) == ["r1", "r2"]
    assert table.loc[0, "Accuracy"] == "0.9700 [0.9500, 0.9800]"
    assert table.loc[0, "Verdict"] == "recommended"
    assert table.loc[1, "Verdict"] == "within noise of the recommendation"
    misses = near_miss_table(r)
    assert list(misses["Run"]) == ["r3", "r4"] and misses.loc[0, "Misses by"] == "3"
    machines = machines_table(runs())
    assert machines["Runs"].sum() == 4 and len(machines) == 2


def test_markdown_has_every_section_and_escapes_data() -> None:
    md = report_markdown(_report())
    sections = ["Question", "Answer", "Candidates", "Near-misses", "Machines and versions", "Link"]
    for heading in [*sections, "Accuracy against the baseline"]:
        assert f"## {heading}" in md
    assert "<script>" not in md and "[link](" not in md and "<b>" not in md
    assert "\\<script\\>" in md
    # The link is an autolink that no character of the view can end.
    link = re.search(r"^<(http[^>]*)>$", md, flags=re.MULTILINE)
    assert link and '"' not in link.group(1) and "<" not in link.group(1)


def test_html_stands_alone_and_escapes_data() -> None:
    page = report_html(_report())
    assert page.count("<script>alert(1)") == 0 and "&lt;script&gt;alert(1)" in page
    assert "<b>X</b>" not in page
    # No script or style is fetched from anywhere: every script is inline.
    assert not re.search(r"<script[^>]*\bsrc=", page) and "<link" not in page
    assert "vegaEmbed(" in page and page.index("Question") < page.index('id="vega-chart"')
    assert page.index('id="vega-chart"') < page.index("Candidates")
    bare = report_html(_report(chart=False))
    assert "<script" not in bare and "No runs to draw" in bare


def test_nothing_feasible_reads_so() -> None:
    frame = runs()
    result = decide(frame, Decision(require=(Constraint.parse("accuracy>=0.999"),)))
    report = Report(result, frame, "http://h/decide", (), None)
    md = report_markdown(report)
    assert "Nothing is feasible" in md and "No baseline run" in md
