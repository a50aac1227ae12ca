"""The decision report: a decision's question, answer and evidence, as Markdown and as HTML.

What a reviewer needs to check a "ship this one" claim: the question (the
constraints, filters and objective), the recommendation with its provenance,
the runners-up within noise, the candidates with their intervals, the
near-misses, the paired accuracy test against a baseline, the machines and
versions the numbers come from, and the link that rebuilds the view. The
HTML file stands alone (the chart's Vega libraries inlined by
``exports.chart_html``; no network) and every string from data is escaped in
both forms (``markup.markdown_text``; ``html.escape``). Pure: no Streamlit.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from paretoscope.analysis.decide import DecisionResult, pooling_note
from paretoscope.analysis.noise import interval_bounds
from paretoscope.core.metrics import METRICS
from paretoscope.present.markup import markdown_text

__all__ = [
    "MAX_CANDIDATES",
    "Report",
    "candidates_table",
    "machines_table",
    "near_miss_table",
    "provenance",
    "report_html",
    "report_markdown",
]

MAX_CANDIDATES = 20  # candidates listed in the report; the CSV has them all
_PROVENANCE = (
    ("host", "Host"),
    ("device", "Device"),
    ("device_name", "Device name"),
    ("runtime", "Runtime"),
    ("runtime_version", "Runtime version"),
    ("execution_provider", "Execution provider"),
    ("threads", "Threads"),
    ("batch_size", "Batch"),
    ("precision", "Precision"),
    ("started_at", "Started (UTC)"),
    ("origin", "Origin"),
    ("run_id", "Run"),
)
_MACHINE_COLUMNS = (
    ("host", "Host"),
    ("device_name", "Device name"),
    ("runtime", "Runtime"),
    ("runtime_version", "Runtime version"),
    ("execution_provider", "Execution provider"),
)


@dataclass(frozen=True)
class Report:
    """What a report shows beyond the result: the link, the paired tests, the chart, the version."""

    result: DecisionResult
    pool: pd.DataFrame  # the runs the filters kept (for the machines and versions)
    link: str
    paired: Sequence[str] = ()
    baseline: str | None = None
    chart: dict[str, Any] | None = field(default=None, compare=False)
    version: str = ""


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _text(value: Any) -> str:
    if _missing(value):
        return "—"
    if hasattr(value, "isoformat"):
        return str(value.isoformat(sep=" ", timespec="seconds"))
    return str(value)


def provenance(row: pd.Series) -> list[tuple[str, str]]:
    """(label, value) pairs of a run's provenance: host, device, runtime and version, …"""
    return [(label, _text(row.get(key))) for key, label in _PROVENANCE]


def _value_text(frame: pd.DataFrame, key: str) -> list[str]:
    """Each row's ``key`` with its 95% interval where one is stored: ``0.033 [0.032, 0.034]``."""
    if key not in frame.columns:
        return ["not measured"] * len(frame)
    m = METRICS[key]
    low, high = interval_bounds(frame, key)
    values = pd.to_numeric(frame[key], errors="coerce").to_numpy(dtype=float)
    out = []
    for v, lo, hi in zip(values, low, high, strict=True):
        if math.isnan(v):
            out.append("not measured")
        elif m.ci_keys is not None and hi > lo:
            out.append(f"{v:{m.fmt}} [{lo:{m.fmt}}, {hi:{m.fmt}}]")
        else:
            out.append(f"{v:{m.fmt}}")
    return out


def candidates_table(result: DecisionResult, limit: int | None = MAX_CANDIDATES) -> pd.DataFrame:
    """The feasible runs best first: configuration, then each metric of the decision (with CI)."""
    frame = result.feasible if limit is None else result.feasible.head(limit)
    noise = set(result.within_noise)
    rec = result.recommended_id
    out = pd.DataFrame({"Rank": range(1, len(frame) + 1)})
    for key, label in (
        ("model", "Model"),
        ("runtime", "Runtime"),
        ("device_name", "Device name"),
        ("precision", "Precision"),
        ("batch_size", "Batch"),
        ("threads", "Threads"),
    ):
        out[label] = [_text(v) for v in frame[key]] if key in frame.columns else "—"
    for key in result.decision.metrics:
        m = METRICS[key]
        out[f"{m.label} ({m.unit})" if m.unit not in ("", "fraction", "count") else m.label] = (
            _value_text(frame, key)
        )
    ids = frame["run_id"].astype(str).tolist()
    out["Verdict"] = [
        "recommended" if r == rec else "within noise of the recommendation" if r in noise else ""
        for r in ids
    ]
    out["Run"] = ids
    return out


def near_miss_table(result: DecisionResult) -> pd.DataFrame:
    """One row per violated constraint of each near-miss, closest run first."""
    rows = []
    for miss in result.near_misses:
        for v in miss.violations:
            rows.append(
                {
                    "Run": miss.run_id,
                    "Metric": v.metric,
                    "Constraint": "measured" if v.op is None else f"{v.op} {v.limit:g}",
                    "Value": "not measured" if v.value is None else f"{v.value:.4g}",
                    "Misses by": "—" if v.by is None else f"{v.by:.3g}",
                }
            )
    return pd.DataFrame(rows, columns=["Run", "Metric", "Constraint", "Value", "Misses by"])


def machines_table(pool: pd.DataFrame) -> pd.DataFrame:
    """The distinct machines and runtime versions behind ``pool``'s runs, with run counts."""
    cols = [c for c, _ in _MACHINE_COLUMNS if c in pool.columns]
    if pool.empty or not cols:
        return pd.DataFrame(columns=[label for _, label in _MACHINE_COLUMNS] + ["Runs"])
    keys = pool[cols].astype("string").fillna("—")
    counts = keys.value_counts(sort=False).reset_index(name="Runs")
    counts = counts.sort_values(cols, kind="mergesort").reset_index(drop=True)
    return counts.rename(columns=dict(_MACHINE_COLUMNS))


def _answer(result: DecisionResult) -> str:
    rec = result.recommended
    if rec is None:
        return (
            f"Nothing is feasible: none of the {result.pool} run(s) the filters keep meets every "
            "constraint with every metric measured."
        )
    obj = result.decision.objective.metric
    m = METRICS[obj]
    parts = [_text(rec.get(k)) for k in ("model", "runtime", "device_name", "precision")]
    return (
        f"Recommended: {' · '.join(parts)} · batch {_text(rec.get('batch_size'))} "
        f"(run {rec['run_id']}), {m.label.lower()} {_value_text(result.feasible.head(1), obj)[0]}"
        f" {m.unit if m.unit not in ('fraction', 'count') else ''}".rstrip()
        + f"; {len(result.feasible)} of {result.pool} run(s) are feasible."
    )


def _noise_sentence(result: DecisionResult) -> str:
    if result.recommended is None or len(result.feasible) < 2:
        return ""
    n = len(result.within_noise)
    if n:
        ids = ", ".join(result.within_noise[:10]) + (" …" if n > 10 else "")
        head = f"{n} runner(s)-up cannot be told apart from the recommendation within noise: {ids}."
    else:
        head = "No runner-up is within noise of the recommendation."
    return " ".join(p for p in (head, result.noise_note, pooling_note(result)) if p)


def _md_table(table: pd.DataFrame) -> str:
    if table.empty:
        return "_None._\n"
    head = "| " + " | ".join(markdown_text(c) for c in table.columns) + " |"
    rule = "| " + " | ".join("---" for _ in table.columns) + " |"
    body = [
        "| " + " | ".join(markdown_text(_text(v)) for v in row) + " |"
        for row in table.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body]) + "\n"


def report_markdown(report: Report) -> str:
    """The report as Markdown: every string from data escaped, so it renders as typed."""
    r = report.result
    out = ["# Decision report", "", "## Question", "", markdown_text(r.decision.question()), ""]
    out += ["## Answer", "", markdown_text(_answer(r)), ""]
    if _noise_sentence(r):
        out += [markdown_text(_noise_sentence(r)), ""]
    if r.recommended is not None:
        out += ["### Provenance of the recommendation", ""]
        out += [f"- {label}: {markdown_text(value)}" for label, value in provenance(r.recommended)]
        out.append("")
    out += ["## Candidates", "", _md_table(candidates_table(r))]
    if len(r.feasible) > MAX_CANDIDATES:
        out += [f"The best {MAX_CANDIDATES} of {len(r.feasible)} feasible runs.", ""]
    out += ["## Near-misses", "", _md_table(near_miss_table(r))]
    out += ["## Accuracy against the baseline", ""]
    if report.paired:
        out += ["McNemar's exact test on the items both runs scored:", ""]
        out += [f"- {markdown_text(s)}" for s in report.paired]
    else:
        out.append(markdown_text(_no_paired(report)))
    out += ["", "## Machines and versions", "", _md_table(machines_table(report.pool))]
    out += ["## Link", "", f"<{_safe_link(report.link)}>", ""]
    if report.version:
        out += [markdown_text(f"Made by Paretoscope {report.version}."), ""]
    return "\n".join(out)


def _no_paired(report: Report) -> str:
    if report.baseline is None:
        return "No baseline run to test against."
    return (
        f"No paired test against the baseline {report.baseline}: the runs lack per-item "
        "results on the same items, or the recommendation is the baseline."
    )


def _safe_link(link: str) -> str:
    """The link with characters that could end an autolink percent-encoded."""
    return "".join(c if c.isprintable() and c not in "<> \"'`" else f"%{ord(c):02X}" for c in link)


def _html_table(table: pd.DataFrame) -> str:
    if table.empty:
        return "<p><em>None.</em></p>"
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in table.columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{e(_text(v))}</td>" for v in row) + "</tr>"
        for row in table.itertuples(index=False)
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_STYLE = (
    "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
    "table{border-collapse:collapse;font-size:0.9em}td,th{border:1px solid #ccc;"
    "padding:0.2em 0.5em;text-align:left}th{background:#f3f3f3}"
    ".answer{font-size:1.1em;font-weight:600}code{word-break:break-all}</style>"
)


def _html_parts(report: Report) -> tuple[str, str]:
    """The report's body before the chart and after it, escaped."""
    e, r = html.escape, report.result
    before = [
        "<h1>Decision report</h1>",
        "<h2>Question</h2>",
        f"<p>{e(r.decision.question())}</p>",
        "<h2>Answer</h2>",
        f'<p class="answer" id="answer">{e(_answer(r))}</p>',
    ]
    if _noise_sentence(r):
        before.append(f"<p>{e(_noise_sentence(r))}</p>")
    if r.recommended is not None:
        items = "".join(
            f"<li>{e(label)}: {e(value)}</li>" for label, value in provenance(r.recommended)
        )
        before.append(f"<h3>Provenance of the recommendation</h3><ul>{items}</ul>")
    before.append("<h2>Frontier</h2>")
    after = ["<h2>Candidates</h2>", _html_table(candidates_table(r))]
    if len(r.feasible) > MAX_CANDIDATES:
        after.append(f"<p>The best {MAX_CANDIDATES} of {len(r.feasible)} feasible runs.</p>")
    after += ["<h2>Near-misses</h2>", _html_table(near_miss_table(r))]
    after.append("<h2>Accuracy against the baseline</h2>")
    if report.paired:
        items = "".join(f"<li>{e(s)}</li>" for s in report.paired)
        after.append(f"<p>McNemar's exact test on the items both runs scored:</p><ul>{items}</ul>")
    else:
        after.append(f"<p>{e(_no_paired(report))}</p>")
    after += ["<h2>Machines and versions</h2>", _html_table(machines_table(report.pool))]
    after.append(f"<h2>Link</h2><p><code>{e(report.link)}</code></p>")
    if report.version:
        after.append(f"<p>Made by Paretoscope {e(report.version)}.</p>")
    return "\n".join(before), "\n".join(after)


def report_html(report: Report) -> str:
    """The report as one standalone HTML page: no network, no string from data unescaped."""
    before, after = _html_parts(report)
    if report.chart is None:
        return (
            '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>Decision report</title>'
            f"{_STYLE}</head><body>\n{before}\n<p><em>No runs to draw.</em></p>\n{after}\n"
            "</body></html>\n"
        )
    from paretoscope.present.exports import chart_html

    page = chart_html(report.chart, title="Decision report")
    cut = page.rindex('<div id="vega-chart"></div>')
    end = page.rindex("</body>")
    page = page[:cut] + before + "\n    " + page[cut:end] + after + "\n  " + page[end:]
    head = page.rindex("</head>")
    return page[:head] + _STYLE + page[head:]
