"""The history chart: a valid Vega-Lite spec with units on the axis, marks and intervals."""

from __future__ import annotations

import json

import pandas as pd

from paretoscope.present.charts.history import history_chart, history_chart_data


def _runs() -> pd.DataFrame:
    p50 = [1.0, 1.01, 3.0]
    return pd.DataFrame(
        {
            "run_id": ["a", "b", "c"],
            "started_at": pd.to_datetime(["2026-11-01", "2026-11-02", "2026-11-03"]),
            "latency_ms_p50": p50,
            "latency_ms_p50_ci_low": [v * 0.95 for v in p50],
            "latency_ms_p50_ci_high": [v * 1.05 for v in p50],
            "peak_mem_mb": [100.0, None, 120.0],
        }
    )


def test_latency_history_spec() -> None:
    data = history_chart_data(_runs(), "latency_ms_p50", ["c"], "a", "b")
    assert data["mark"].tolist() == ["first run", "no regression", "regressed"]
    assert data["n"].tolist() == [1, 2, 3] and data["selected"].tolist() == [False, True, False]
    spec = json.dumps(history_chart(data, "latency_ms_p50").to_dict())  # validates
    assert "Latency p50 (ms, lower is better; log scale)" in spec
    assert '"lo"' in spec and "Runs of this configuration, oldest first" in spec


def test_a_metric_without_interval_or_value_is_drawn_without_bars() -> None:
    data = history_chart_data(_runs(), "peak_mem_mb", [], "a", "a")
    assert len(data) == 2 and data["lo"].isna().all()
    spec = json.dumps(history_chart(data, "peak_mem_mb").to_dict())
    assert "Peak memory (MB, lower is better)" in spec and '"y2"' not in spec
