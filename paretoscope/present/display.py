"""How a run's values read on screen: missing values, accuracy origins, titles and headers.

The charts' tooltips and the pages' tables share these, so a value reads the
same in both. Titles and headers come from the metric and run-field
registries. Pure: pandas and numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from paretoscope.core.fields import RUN_FIELDS, VIEW_FIELDS
from paretoscope.core.metrics import Metric

__all__ = [
    "MEASURED",
    "MISSING",
    "REPORTED",
    "field_header",
    "group_label",
    "metric_header",
    "number_text",
    "numbers",
    "origin_label",
    "started_text",
    "texts",
]

MISSING = "—"
# How a run whose accuracy was copied from elsewhere (a model card, a paper)
# is labelled wherever its accuracy is shown.
REPORTED = "reported (not measured here)"
MEASURED = "measured"


def metric_header(m: Metric) -> str:
    """A metric's title with its unit, for a table header or a tooltip: ``Latency p50 (ms)``."""
    return f"{m.label} ({m.unit})" if m.unit else m.label


def field_header(key: str) -> str:
    """A run field's table header and tooltip title (``batch_size`` -> ``Batch``)."""
    return RUN_FIELDS[key].header


def group_label(key: str) -> str:
    """The label of a field pages group by (``batch_size`` -> ``Batch size``); else ``key``."""
    return VIEW_FIELDS.get(key, key)


def number_text(value: float, fmt: str) -> str:
    """``value`` in the d3/Python format ``fmt``; ``MISSING`` when not finite."""
    # The registry's formats (".3g", ".4f", ",.0f") mean the same in Python and d3.
    return format(value, fmt) if np.isfinite(value) else MISSING


def origin_label(origin: Any) -> str:
    """A stored accuracy origin (``measured``/``reported``) as it reads on screen."""
    if origin == "reported":
        return REPORTED
    if origin == "measured":
        return MEASURED
    return MISSING


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
