"""How a run's values read on screen: missing values, accuracy origins, titles and headers.

The charts' tooltips and the pages' tables share these, so a value reads the
same in both. Titles and headers come from the metric and run-field
registries. Pure: pandas and numpy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from paretoscope.core.fields import VIEW_FIELDS, is_dim_key, run_field
from paretoscope.core.metrics import Metric
from paretoscope.core.records import describe_memory_source

__all__ = [
    "IMPORTED",
    "MEASURED",
    "MEASURED_HERE",
    "MISSING",
    "REPORTED",
    "ci_scope_text",
    "ci_scope_texts",
    "field_header",
    "group_label",
    "memory_source_text",
    "memory_source_texts",
    "metric_header",
    "number_text",
    "numbers",
    "origin_label",
    "run_origin_label",
    "run_origin_labels",
    "started_text",
    "texts",
]

MISSING = "—"
# How a run whose accuracy was copied from elsewhere (a model card, a paper)
# is labelled wherever its accuracy is shown.
REPORTED = "reported (not measured here)"
MEASURED = "measured"
# Where a run was measured (the ``origin`` column), wherever a run is shown.
IMPORTED = "imported (measured elsewhere)"
MEASURED_HERE = "measured here"
# What a latency CI covers (``latency_ci_scope``), as it reads next to the interval.
WITHIN_ONE_PROCESS = "within one process"


def metric_header(m: Metric) -> str:
    """A metric's title with its unit, for a table header or a tooltip: ``Latency p50 (ms)``."""
    return f"{m.label} ({m.unit})" if m.unit else m.label


def field_header(key: str) -> str:
    """A run field's table header and tooltip title (``batch_size`` -> ``Batch``)."""
    return run_field(key).header


def group_label(key: str) -> str:
    """The label of a field pages group by (``batch_size`` -> ``Batch size``); else ``key``.

    A symbolic dimension's column reads as its name: ``dim_seq`` -> ``seq (dimension)``.
    """
    if key in VIEW_FIELDS:
        return VIEW_FIELDS[key]
    return run_field(key).label if is_dim_key(key) else key


def number_text(value: float, fmt: str) -> str:
    """``value`` in the d3/Python format ``fmt``; ``MISSING`` when not finite."""
    # The registry's formats (".3g", ".4f", ",.0f") mean the same in Python and d3.
    # math.isfinite: a tenth of numpy's cost on one float (the chart formats thousands).
    return format(value, fmt) if math.isfinite(value) else MISSING


def origin_label(origin: Any) -> str:
    """A stored accuracy origin (``measured``/``reported``) as it reads on screen."""
    if origin == "reported":
        return REPORTED
    if origin == "measured":
        return MEASURED
    return MISSING


def run_origin_label(origin: Any) -> str:
    """A run's stored ``origin`` (``measured``/``imported``) as it reads on screen."""
    if origin == "imported":
        return IMPORTED
    if origin == "measured":
        return MEASURED_HERE
    return MISSING


def run_origin_labels(frame: pd.DataFrame) -> pd.Series:
    """Each row's run origin as text (``MISSING`` where the frame has no ``origin``)."""
    if "origin" not in frame.columns:
        return pd.Series(MISSING, index=frame.index, dtype=object)
    return frame["origin"].map(run_origin_label).astype(object)


def ci_scope_text(scope: Any, repeats: Any) -> str:
    """What a latency CI covers: ``within one process`` or ``between 3 repeats``.

    A run measured once has its CI from one process's samples, whatever the
    stored scope says; ``MISSING`` when the scope is unknown.
    """
    n = _count(repeats)
    if scope == "within-process" or (n == 1 and scope == "between-repeats"):
        return WITHIN_ONE_PROCESS
    if scope == "between-repeats":
        return f"between {n} repeats" if n is not None else "between repeats"
    return MISSING


def ci_scope_texts(frame: pd.DataFrame) -> pd.Series:
    """``ci_scope_text`` of every row (``latency_ci_scope`` and ``repeats``)."""
    n = len(frame)
    # Plain lists, zipped: ``Series.iloc[i]`` per row took most of the chart's data (issue 13).
    scope = _column_list(frame, "latency_ci_scope")
    reps = _column_list(frame, "repeats")
    return pd.Series(
        [ci_scope_text(s, r) for s, r in zip(scope, reps, strict=True)] if n else [],
        index=frame.index,
        dtype=object,
    )


def _column_list(frame: pd.DataFrame, column: str) -> list[Any]:
    """``frame[column]`` as a list (missing values as None), or Nones when there is no column."""
    if column not in frame.columns:
        return [None] * len(frame)
    col = frame[column]
    return [None if _missing(v) else v for v in col.tolist()]


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # a list or array: present
        return False


def memory_source_text(source: Any, reason: Any = None) -> str:
    """A memory source key with its meaning, or why device memory is unavailable.

    ``torch-allocator`` -> ``torch-allocator: peak device memory allocated by …``;
    no source -> ``unavailable: <reason>`` (``MISSING`` when neither is stored).
    """
    if isinstance(source, str) and source:
        return describe_memory_source(source)
    if isinstance(reason, str) and reason:
        return f"unavailable: {reason}"
    return MISSING


def memory_source_texts(frame: pd.DataFrame) -> pd.Series:
    """``memory_source_text`` of every row (its source, or why device memory is unavailable)."""
    src = _column_list(frame, "peak_mem_source")
    why = _column_list(frame, "peak_mem_unavailable_reason")
    return pd.Series(
        [memory_source_text(s, w) for s, w in zip(src, why, strict=True)] if len(frame) else [],
        index=frame.index,
        dtype=object,
    )


def _count(value: Any) -> int | None:
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    return n


def texts(frame: pd.DataFrame, column: str) -> pd.Series:
    """``frame[column]`` as text, ``MISSING`` where absent (or the whole column is)."""
    if column not in frame.columns:
        return pd.Series(MISSING, index=frame.index, dtype=object)
    return frame[column].astype("string").fillna(MISSING).astype(object)


def numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    """``frame[column]`` as floats, NaN where absent or not a number."""
    if column not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


def started_text(frame: pd.DataFrame) -> pd.Series:
    """Each run's start time as ``YYYY-MM-DD HH:MM:SS UTC``, ``MISSING`` where unknown."""
    if "started_at" not in frame.columns:
        return pd.Series(MISSING, index=frame.index, dtype=object)
    ts = pd.to_datetime(frame["started_at"], errors="coerce")
    return ts.dt.strftime("%Y-%m-%d %H:%M:%S UTC").fillna(MISSING).astype(object)
