"""The serving-scenario columns of a ``runs`` row (migration 11), both ways."""

from __future__ import annotations

import json
import math
from typing import Any

from paretoscope.core.records import RunRecord, from_dict, to_dict
from paretoscope.core.scenarios import ScenarioStats

__all__ = ["scenario_columns", "scenarios_from_row"]


def scenario_columns(rec: RunRecord) -> dict[str, Any]:
    """``runs`` columns of ``rec.scenarios``; all None for a record without them.

    The bound is stored whenever the server scenario ran, with or without a
    rate meeting it; the best batch only with an offline throughput.
    """
    stats = rec.scenarios
    offline = stats.offline if stats else None
    server = stats.server if stats else None
    return {
        "offline_throughput_per_s": offline.throughput_per_s if offline else None,
        "offline_best_batch": offline.best_batch if offline else None,
        "server_max_qps_at_p99": server.max_qps_at_p99 if server else None,
        "server_p99_bound_ms": server.p99_bound_ms if server else None,
        "scenarios": json.dumps(_finite(to_dict(stats))) if stats else None,
    }


def _finite(value: Any) -> Any:
    """``value`` with NaN and infinities as None: JSON has neither."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def scenarios_from_row(run: dict[str, Any]) -> ScenarioStats | None:
    """The ``ScenarioStats`` kept in a ``runs`` row; None for rows without (older runs)."""
    raw = run.get("scenarios")
    return from_dict(ScenarioStats, json.loads(raw)) if raw else None
