"""The command line's run table as a person reads it: aligned, rounded, with units.

``paretoscope runs`` and ``paretoscope frontier`` print this when stdout is a
terminal (or with ``--format table``); piped, they print the CSV of
``present.runtable`` unchanged, the contract scripts read. The table keeps
the important columns that fit the terminal's width (the run's configuration,
the metrics asked for, then the usual metrics) and says how many it left out.
Pure: pandas and the metric and run-field registries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from paretoscope.core.errors import ParetoscopeError
from paretoscope.core.metrics import METRICS, Metric
from paretoscope.present.display import MISSING, field_header

__all__ = ["text_table"]

_LEADING = ("model", "status", "runtime", "device", "precision", "batch_size")
# The device name follows the first metrics: frontiers are split by it, so a reader needs it.
_USUAL_METRICS = (
    "accuracy",
    "latency_ms_p50",
    "device_name",
    "throughput_per_s",
    "peak_mem_mb",
    "model_size_mb",
    "energy_j_per_item",
)
_TRAILING = ("threads", "origin", "run_id", "error")
_MAX_CELL = 24  # longer text is cut with an ellipsis; --format csv has it whole
_GAP = "  "


def _metric_header(m: Metric) -> str:
    # "fraction" and "count" say nothing a reader needs in a header.
    return m.label if m.unit in ("fraction", "count", "") else f"{m.label} ({m.unit})"


def _header(col: str) -> str:
    if col in METRICS:
        return _metric_header(METRICS[col])
    if col in ("status", "error"):
        return col.capitalize()
    try:
        return field_header(col)
    except ParetoscopeError:
        return col


def _missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def _number(value: Any, m: Metric) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    if not math.isfinite(v):
        return MISSING
    text = format(v, m.fmt)
    if "e" in text and abs(v) >= 1:  # .3g writes 12 345 as 1.23e+04: a person wants 12,345
        text = f"{v:,.0f}"
    return text


def _cut(text: str) -> str:
    text = " ".join(text.split())  # one line per row, whatever a field holds
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def _cells(series: pd.Series, col: str) -> list[str]:
    m = METRICS.get(col)
    out = []
    for value in series.tolist():
        if _missing(value):
            out.append(MISSING)
        elif m is not None:
            out.append(_number(value, m))
        elif isinstance(value, float) and value.is_integer():
            out.append(str(int(value)))
        else:
            out.append(_cut(str(value)))
    return out


def _candidates(table: pd.DataFrame, metrics: Sequence[str]) -> list[str]:
    """Columns by importance: the configuration, the metrics asked for, the usual ones, the rest."""
    order = [*_LEADING, *metrics, *_USUAL_METRICS, *_TRAILING, *METRICS]
    present = [c for c in dict.fromkeys(order) if c in table.columns]
    # A column nobody filled (a metric no run has) is left out, never counted as hidden.
    return [c for c in present if c in _LEADING[:1] or table[c].notna().any()]


def text_table(
    table: pd.DataFrame, *, metrics: Sequence[str] = (), width: int = 100, what: str = "run"
) -> str:
    """``table``'s rows as aligned text no wider than ``width`` (at least the first column).

    ``metrics`` come right after the configuration (``frontier``'s objectives);
    numbers are rounded with the metric registry's formats and right-aligned,
    headers carry units, missing values read ``—``. The last line counts the
    rows (``what``, pluralised) and the columns left out to fit.
    """
    n = len(table)
    noun = what if n == 1 else f"{what}s"
    if n == 0:
        return f"No {what}s.\n"
    cols = _candidates(table, metrics)
    shown: list[tuple[str, list[str], int, bool]] = []
    used = 0
    for col in cols:
        cells = _cells(table[col], col)
        header = _header(col)
        w = max(len(header), *(len(c) for c in cells))
        extra = w if not shown else len(_GAP) + w
        if shown and used + extra > width:
            continue  # a narrower, less important column may still fit
        shown.append((header, cells, w, col in METRICS or col in ("batch_size", "threads")))
        used += extra
    lines = [_GAP.join(h.rjust(w) if right else h.ljust(w) for h, _, w, right in shown).rstrip()]
    lines.append(_GAP.join("-" * w for _, _, w, _ in shown))
    for i in range(n):
        row = (c[i].rjust(w) if right else c[i].ljust(w) for _, c, w, right in shown)
        lines.append(_GAP.join(row).rstrip())
    left_out = len(table.columns) - len(shown)
    foot = f"{n:,} {noun}"
    if left_out:
        foot += f"; {left_out} more columns not shown (--format csv prints them all)"
    return "\n".join(lines) + "\n" + foot + ".\n"
