"""The pages' tables of runs: units in the headers, provenance beside every number.

Headers come from the metric and run-field registries; ``column_formats``
gives Streamlit the registry's number formats. The command line's table, whose
columns are a contract, is ``present.runtable``. Pure: pandas, no Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from paretoscope.analysis.selection import FrontierPoints
from paretoscope.core.metrics import METRICS, Metric
from paretoscope.present.display import field_header, group_label, metric_header, origin_label

__all__ = [
    "column_formats",
    "frontier_points_table",
    "points_table",
    "printf_format",
    "runs_table",
]

_CI = ("latency_ms_p50_ci_low", "latency_ms_p50_ci_high")
# Where and how a run was measured, in the tables' order.
_PROVENANCE = (
    "runtime",
    "runtime_version",
    "execution_provider",
    "device",
    "device_name",
    "host",
    "precision",
    "batch_size",
    "threads",
)


def printf_format(m: Metric) -> str:
    """The registry's d3 format of ``m`` as the printf format Streamlit's tables take."""
    return "localized" if "," in m.fmt else f"%{m.fmt}"


def column_formats(table: pd.DataFrame) -> dict[str, str]:
    """Header -> printf format for the metric columns of a ``points_table``/``runs_table``."""
    formats = {metric_header(m): printf_format(m) for m in METRICS.values()}
    # One digit more than the median itself, so a tight interval is not shown as a point.
    formats |= {field_header(key): "%.4g" for key in _CI}
    return {h: f for h, f in formats.items() if h in table.columns}


def _headed(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    present = {k: v for k, v in columns.items() if k in frame.columns}
    return frame[list(present)].rename(columns=present)


def _fields(keys: Sequence[str]) -> dict[str, str]:
    return {key: field_header(key) for key in keys}


def frontier_points_table(fp: FrontierPoints) -> pd.DataFrame:
    """The frontier runs of a view, by group, best x first, with units in headers and provenance."""
    return points_table(fp.frontier, fp.view.objectives, group=fp.view.by)


def points_table(
    rows: pd.DataFrame, objectives: Sequence[str], *, group: str | None = None
) -> pd.DataFrame:
    """Runs with the objectives' columns first (units in the headers), then provenance."""
    objectives = list(objectives)
    mx, my = METRICS[objectives[0]], METRICS[objectives[1]]
    rows = rows.copy()
    rows["accuracy_origin"] = rows.get("accuracy_origin", pd.Series(dtype=object)).map(origin_label)
    columns = _fields(("model", "family"))
    if group is not None and "group" in rows.columns:
        columns["group"] = f"Group ({group_label(group)})"
    columns |= {key: metric_header(METRICS[key]) for key in objectives}
    if "latency_ms_p50" in (mx.key, my.key):
        columns |= _fields(_CI)
    if "accuracy" in objectives:
        columns |= _fields(("accuracy_origin",))
    columns |= _fields((*_PROVENANCE, "latency_n_iter", "started_at", "run_id"))
    return _headed(rows, columns).reset_index(drop=True)


def runs_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Every run with its status, error, metrics (units in headers) and provenance.

    Missing energy carries its stored reason in ``Energy unavailable because``.
    """
    rows = frame.copy()
    if "accuracy_origin" in rows.columns:
        rows["accuracy_origin"] = rows["accuracy_origin"].map(origin_label)
    columns = _fields(("status", "error", "model", "family", "transformation"))
    columns |= {key: metric_header(m) for key, m in METRICS.items()}
    columns |= _fields(
        (
            "accuracy_origin",
            "energy_unavailable_reason",
            *_CI,
            "latency_n_iter",
            "latency_stop_reason",
            *_PROVENANCE,
            "origin",
            "started_at",
            "finished_at",
            "run_id",
        )
    )
    return _headed(rows, columns).reset_index(drop=True)
