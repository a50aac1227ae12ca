"""The regression gate's report as a terminal table, one JSON object, or Markdown for a PR.

Every number comes from ``analysis.gate.CheckReport``; text from the runs
(model names, device names) is escaped in Markdown (``markdown_text``) and
never interpreted. ``METHOD`` says how each change was tested.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from paretoscope.analysis.gate import CheckReport
from paretoscope.analysis.regression import DEFAULT_TOLERANCE_PCT
from paretoscope.core.metrics import METRICS
from paretoscope.present.markup import markdown_text

__all__ = ["METHOD", "render_check", "summary_line"]

METHOD = (
    "Runs are matched by configuration (model, runtime, device and device name, precision, "
    "batch, threads, input shapes, dimensions, data set), never by run id; the newest run of "
    "each configuration on each side is compared. Latency p50 (and end-to-end p50): ratio of "
    "medians with a 95% interval from both stored intervals of the median on the log scale "
    "(between repeats in fresh processes where a run had repeats > 1, else within one "
    "process); throughput: the inverse of the p50 ratio; accuracy: Newcombe's interval of "
    "the difference from both Wilson intervals, McNemar's exact test where both runs stored "
    "per-item correctness on the same items; model size and parameters: exact. A regression "
    "is a significant change (interval excludes no change) for the worse beyond its tolerance "
    f"(default: {DEFAULT_TOLERANCE_PCT:g}% of the baseline for efficiency metrics, 0 for "
    "accuracy and other quality metrics). Metrics without a stored interval (p90, p99, memory, "
    "energy, ...) are reported but gate only when --tolerance names them."
)


def _config(row: pd.Series) -> str:
    parts = [str(row.get("model", "?")), str(row.get("runtime", "?")), str(row.get("device", "?"))]
    parts += [str(row.get("precision", "?")), f"batch {row.get('batch_size', '?')}"]
    threads = row.get("threads")
    if threads is not None and not pd.isna(threads):
        parts.append(f"threads {int(threads)}")
    return " · ".join(parts)


def _num(value: Any, fmt: str = ".4g") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return "—"
    return format(float(value), fmt)


def _pct(value: Any) -> str:
    return "—" if value is None or pd.isna(value) else f"{float(value):+.1f}%"


def _ci(row: pd.Series) -> str:
    lo, hi = row["ci_low_pct"], row["ci_high_pct"]
    if pd.isna(lo) or pd.isna(hi):
        return "—"
    return f"[{float(lo):+.1f}%, {float(hi):+.1f}%]"


def _rows(report: CheckReport, everything: bool) -> pd.DataFrame:
    ch = report.changes
    if not everything:
        ch = ch[ch["verdict"] != "not tested (no interval)"]
    unit = [METRICS[m].unit for m in ch["metric"]]
    return pd.DataFrame(
        {
            "Configuration": [_config(r) for _, r in ch.iterrows()],
            "Metric": [f"{m} ({u})" if u else m for m, u in zip(ch["metric"], unit, strict=True)],
            "Baseline": [_num(v) for v in ch["baseline"]],
            "Current": [_num(v) for v in ch["current"]],
            "Change": [_pct(v) for v in ch["change_pct"]],
            "95% CI of change": [_ci(r) for _, r in ch.iterrows()],
            "Test": ch["test"].tolist(),
            "Tolerance": ch["tolerance"].tolist(),
            "Verdict": ch["verdict"].tolist(),
        }
    )


def summary_line(report: CheckReport) -> str:
    """One sentence: matched configurations, regressions, improvements, unmatched."""
    m = report.matching
    n_reg = report.regressions["current_run"].nunique() if len(report.regressions) else 0
    text = (
        f"{report.n_matched} configuration(s) matched (by {report.match}); "
        f"{len(report.regressions)} regression(s) in {n_reg} configuration(s), "
        f"{len(report.improvements)} improvement(s); {len(m.only_baseline)} baseline and "
        f"{len(m.only_current)} current configuration(s) without a match."
    )
    if report.n_matched == 0:
        text += (
            f" Nothing to compare: none of the {len(m.only_baseline)} baseline configuration(s) "
            "was measured in the current store, so the check passes without testing anything."
        )
    return text


def _text_table(table: pd.DataFrame) -> str:
    if table.empty:
        return ""
    cols = list(table.columns)
    widths = [max(len(c), *(len(str(v)) for v in table[c])) for c in cols]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    for _, row in table.iterrows():
        lines.append("  ".join(str(row[c]).ljust(w) for c, w in zip(cols, widths, strict=True)))
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _unmatched(frame: pd.DataFrame) -> list[dict[str, Any]]:
    cols = [c for c in ("run_id", "model", "runtime", "device", "device_name", "precision",
                        "batch_size", "threads", "key") if c in frame.columns]  # fmt: skip
    return [_plain(r) for r in frame[cols].to_dict(orient="records")]


def _plain(row: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in row.items():
        if v is None or (not isinstance(v, str) and pd.isna(v)):
            out[str(k)] = None
        elif hasattr(v, "item"):
            out[str(k)] = v.item()
        else:
            out[str(k)] = v
    return out


_LABELS = ("model", "runtime", "device", "device_name", "precision", "batch_size", "threads")


def _json(report: CheckReport) -> str:
    ch = report.changes
    matched = []
    for run, group in ch.groupby("current_run", sort=False):
        first = group.iloc[0]
        matched.append(
            {
                "key": first.get("key"),
                "baseline_run": first["baseline_run"],
                "current_run": str(run),
                **{c: _plain({c: first.get(c)})[c] for c in _LABELS},
                "metrics": [_change(r) for r in group.to_dict(orient="records")],
            }
        )
    obj = {
        "exit_status": report.exit_code,
        "match": report.match,
        "summary": summary_line(report),
        "matched": matched,
        "regressions": [_change(r) for r in report.regressions.to_dict(orient="records")],
        "improvements": [_change(r) for r in report.improvements.to_dict(orient="records")],
        "unmatched_baseline": _unmatched(report.matching.only_baseline),
        "unmatched_current": _unmatched(report.matching.only_current),
        "method": METHOD,
    }
    return json.dumps(obj, indent=2, allow_nan=False) + "\n"


def _change(row: dict[Any, Any]) -> dict[str, Any]:
    keep = ("metric", "baseline_run", "current_run", "model", "baseline", "current", "change",
            "change_pct", "ci_low_pct", "ci_high_pct", "test", "significant", "worse",
            "tolerance", "verdict")  # fmt: skip
    out = _plain({k: row.get(k) for k in keep})
    for k, v in out.items():
        if isinstance(v, float) and not math.isfinite(v):
            out[k] = None
    out["unit"] = METRICS[str(row["metric"])].unit
    return out


def _markdown(report: CheckReport) -> str:
    verdict = "**Regression**" if report.exit_code else "**No regression**"
    lines = [f"### Paretoscope regression check: {verdict}", "", summary_line(report), ""]
    table = _rows(report, everything=False)
    if not table.empty:
        lines.append("| " + " | ".join(table.columns) + " |")
        lines.append("|" + "---|" * len(table.columns))
        for _, row in table.iterrows():
            # Only the configuration carries text from the runs (model names): escaped.
            cells = [markdown_text(row["Configuration"]), f"`{row['Metric']}`"]
            cells += [str(v) for v in row.tolist()[2:-1]]
            verdict = str(row["Verdict"])
            cells.append(f"**{verdict}**" if verdict == "regression" else verdict)
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    lines += [f"<sub>{METHOD}</sub>", ""]
    return "\n".join(lines)


def render_check(report: CheckReport, fmt: str) -> str:
    """The report as ``table``, ``json`` or ``md``."""
    if fmt == "json":
        return _json(report)
    if fmt == "md":
        return _markdown(report)
    body = _text_table(_rows(report, everything=False))
    untested = int((report.changes["verdict"] == "not tested (no interval)").sum())
    note = (
        f"{untested} change(s) of metrics without a stored interval are not tested "
        "(--format json lists them; --tolerance METRIC=... gates one).\n"
        if untested
        else ""
    )
    return summary_line(report) + "\n\n" + body + note + "\nMethod: " + METHOD + "\n"
