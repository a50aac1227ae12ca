"""The pages' tables of runs: units in the headers, provenance beside every number.

Headers come from the metric and run-field registries; ``column_formats``
gives Streamlit the registry's number formats. The command line's table, whose
columns are a contract, is ``present.runtable``. Pure: pandas, no Streamlit.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from paretoscope.analysis.selection import FrontierPoints
from paretoscope.core.fields import dim_columns
from paretoscope.core.metrics import METRICS, Metric
from paretoscope.present.display import (
    MISSING,
    ci_scope_texts,
    field_header,
    group_label,
    memory_source_texts,
    metric_header,
    origin_label,
    run_origin_labels,
)

__all__ = [
    "column_formats",
    "frontier_points_table",
    "host_table",
    "points_table",
    "printf_format",
    "runs_table",
]

_CI = ("latency_ms_p50_ci_low", "latency_ms_p50_ci_high")
_ACCURACY_CI = ("accuracy_ci_low", "accuracy_ci_high")
_MEMORY = ("peak_mem_mb", "peak_host_mem_mb")
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
    formats |= {field_header(key): "%.4f" for key in _ACCURACY_CI}
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
    rows = _readable(rows)
    columns = _fields(("model", "family"))
    if group is not None and "group" in rows.columns:
        columns["group"] = f"Group ({group_label(group)})"
    columns |= {key: metric_header(METRICS[key]) for key in objectives}
    if "latency_ms_p50" in objectives[:2]:
        columns |= _fields((*_CI, "latency_ci_scope"))
    if "accuracy" in objectives:
        columns |= _fields((*_ACCURACY_CI, "accuracy_origin", "dataset"))
    if set(_MEMORY) & set(objectives):
        columns |= _fields(("peak_mem_source",))
    if "noise_partner_model" in rows.columns:
        # The frontier analysis names a run the data cannot tell this one apart from.
        columns["noise_partner_model"] = "Within noise of"
    columns |= _fields(("origin", *_PROVENANCE, *dim_columns(rows)))
    columns |= _fields(("latency_n_iter", "started_at", "run_id"))
    return _headed(rows, columns).reset_index(drop=True)


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with origins, the latency CI's scope and the memory source as they read."""
    rows = frame.copy()
    if "accuracy_origin" in rows.columns:
        rows["accuracy_origin"] = rows["accuracy_origin"].map(origin_label)
    if "origin" in rows.columns:
        rows["origin"] = run_origin_labels(rows)
    if "latency_ci_scope" in rows.columns:
        rows["latency_ci_scope"] = ci_scope_texts(rows)
    if "peak_mem_source" in rows.columns or "peak_mem_unavailable_reason" in rows.columns:
        rows["peak_mem_source"] = memory_source_texts(rows)
    return rows


def runs_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Every run with its status, error, metrics (units in headers) and provenance.

    Missing energy carries its stored reason in ``Energy unavailable because``;
    ``Memory source`` names what peak memory measured, or why a GPU run has
    no device memory. ``Origin`` says whether the run was measured here or
    imported.
    """
    rows = _readable(frame)
    columns = _fields(("status", "error", "origin", "model", "family", "transformation"))
    columns |= {key: metric_header(m) for key, m in METRICS.items()}
    columns |= _fields(
        (
            "accuracy_origin",
            *_ACCURACY_CI,
            "dataset",
            "peak_mem_source",
            "energy_unavailable_reason",
            *_CI,
            "latency_ci_scope",
            "repeats",
            "latency_n_iter",
            "latency_stop_reason",
            *_PROVENANCE,
            *dim_columns(rows),
            "started_at",
            "finished_at",
            "run_id",
        )
    )
    return _headed(rows, columns).reset_index(drop=True)


def host_table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per host (by ``host_id``, never by name): its label, id, runs and imported runs.

    Two machines that share a hostname are two rows.
    """
    columns = ["Host", "Host id", "Runs", "Imported"]
    if runs.empty or "host_id" not in runs.columns:
        return pd.DataFrame(columns=columns)
    frame = pd.DataFrame(
        {
            "host_id": runs["host_id"].astype("string").fillna(MISSING),
            "host": runs["host"].astype("string").fillna(MISSING)
            if "host" in runs.columns
            else MISSING,
            "imported": (runs["origin"] == "imported").fillna(False)
            if "origin" in runs.columns
            else False,
        }
    )
    rows = [
        [str(g["host"].iloc[0]), str(host_id), len(g), int(g["imported"].sum())]
        for host_id, g in frame.groupby("host_id", sort=True)
    ]
    return pd.DataFrame(rows, columns=columns).sort_values(["Host", "Host id"], ignore_index=True)
