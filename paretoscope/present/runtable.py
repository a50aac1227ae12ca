"""The run table of the command line: its columns are a public contract.

``paretoscope runs`` and ``paretoscope frontier`` print these columns in this
order; users' scripts read them by name, so add columns at the end and never
rename one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from paretoscope.analysis.frontier import frontier_mask
from paretoscope.core.errors import InputError
from paretoscope.core.fields import CLI_GROUP_FIELDS, dim_columns, is_dim_key
from paretoscope.core.metrics import metric, metric_keys

__all__ = ["GROUP_FIELDS", "RUN_COLUMNS", "frontier_table", "render", "run_table"]

_ID_COLUMNS = (
    "run_id",
    "model",
    "family",
    "runtime",
    "device",
    "precision",
    "batch_size",
    "threads",
)
_TRAILING = (
    "accuracy_origin",
    "latency_ms_p50_ci_low",
    "latency_ms_p50_ci_high",
    "latency_n_iter",
    "energy_unavailable_reason",
    "device_name",
    "host",
    "runtime_version",
    "execution_provider",
    "transformation",
    "parent_model_id",
    "model_id",
    "origin",
    "started_at",
)
# The metric keys of the first release, in their places; metrics registered
# later are appended after the trailing columns so no existing column moves.
_FIRST_METRICS = (
    "accuracy",
    "latency_ms_p50",
    "latency_ms_p90",
    "latency_ms_p99",
    "latency_ms_mean",
    "throughput_per_s",
    "peak_mem_mb",
    "model_size_mb",
    "params",
    "energy_j_per_item",
)
_SECOND_METRICS = ("accuracy_top5", "mae", "rmse")
# Issue 11: what keeps quantities, hosts and data sets apart, and the uncertainty.
# Then one ``dim_<name>`` column per symbolic dimension present (``run_table``).
_TRUST = (
    "peak_host_mem_mb",
    "peak_mem_source",
    "host_id",
    "dataset",
    "stop_reason",
    "repeats",
    "accuracy_ci_low",
    "accuracy_ci_high",
)
# Issue 14: what a serving user pays (load, cold first run, end to end).
_SERVING = (
    "load_ms",
    "first_run_ms",
    "latency_e2e_ms_p50",
    "latency_e2e_ms_p90",
    "latency_e2e_ms_p99",
    "latency_e2e_ms_p50_ci_low",
    "latency_e2e_ms_p50_ci_high",
    "serving_unavailable_reason",
)
_PLACED = _FIRST_METRICS + _SECOND_METRICS + _TRUST + _SERVING
# Issue 16: columns a later metric means nothing without, right after that metric.
_CONTEXT: dict[str, tuple[str, ...]] = {
    "offline_throughput_per_s": ("offline_best_batch",),
    "server_max_qps_at_p99": ("server_p99_bound_ms",),
}
RUN_COLUMNS: tuple[str, ...] = (
    _ID_COLUMNS
    + _FIRST_METRICS
    + _TRAILING
    + _SECOND_METRICS
    + _TRUST
    + _SERVING
    + tuple(c for k in metric_keys() if k not in _PLACED for c in (k, *_CONTEXT.get(k, ())))
)

# Run fields a frontier may be grouped by (``--by``), from the run-field registry.
GROUP_FIELDS: tuple[str, ...] = CLI_GROUP_FIELDS


def run_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The contract columns of ``Store.runs_frame()`` output, in contract order.

    After them comes one ``dim_<name>`` column per symbolic dimension present, by name.
    """
    out = pd.DataFrame(index=summary.index)
    for col in (*RUN_COLUMNS, *dim_columns(summary)):
        out[col] = summary[col] if col in summary.columns else pd.NA
    return out.reset_index(drop=True)


def frontier_table(
    runs: pd.DataFrame, metrics: Sequence[str], by: str | None = None
) -> pd.DataFrame:
    """Rows of ``runs`` on the Pareto frontier over ``metrics`` (one frontier per ``by`` value).

    Raises ``InputError`` for an unknown metric, a repeated metric or an unknown field.
    """
    for m in metrics:
        metric(m)
    if len(set(metrics)) != len(metrics):
        raise InputError(f"each metric may be named once; got {', '.join(metrics)}")
    if len(metrics) < 2:
        raise InputError("a frontier needs at least two metrics (--x and --y)")
    if by is not None and by not in GROUP_FIELDS and not is_dim_key(by):
        raise InputError(
            f"cannot group by {by!r}; choose one of: {', '.join(GROUP_FIELDS)}, "
            "or dim_<name> for a symbolic dimension"
        )
    mask = frontier_mask(runs, list(metrics), by=by)
    return runs[mask.to_numpy()].reset_index(drop=True)


def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):  # numpy scalars
        return _jsonable(value.item())
    return value


def render(table: pd.DataFrame, fmt: str) -> str:
    """``table`` as ``csv`` (empty cells for missing values) or ``json`` (a list, nulls)."""
    if fmt == "csv":
        return str(table.to_csv(index=False))
    if fmt == "json":
        rows = [
            {k: _jsonable(v) for k, v in row.items()} for row in table.to_dict(orient="records")
        ]
        return json.dumps(rows, indent=1) + "\n"
    raise InputError(f"unknown format {fmt!r}; choose csv or json")
