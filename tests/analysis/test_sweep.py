"""A metric against a symbolic dimension: one line per configuration, never joining data sets."""

from __future__ import annotations

import pandas as pd

from paretoscope.analysis.sweep import sweep_caption, sweep_points
from paretoscope.present.charts.sweep import sweep_chart, sweep_chart_data
from paretoscope.views import FrontierView, RunFilters


def _runs() -> pd.DataFrame:
    rows = []
    for model in ("tiny", "base"):
        for seq in (128, 32):
            rows.append(
                {
                    "run_id": f"{model}-{seq}",
                    "model": model,
                    "runtime": "ort",
                    "precision": "fp32",
                    "device_name": "Xeon",
                    "batch_size": 1,
                    "dataset": None,
                    "dim_seq": seq,
                    "latency_ms_p50": seq / (10 if model == "tiny" else 5),
                    "latency_ms_p50_ci_low": seq / 11,
                    "latency_ms_p50_ci_high": seq / 4,
                }
            )
    rows.append({**rows[0], "run_id": "no-dim", "dim_seq": None})
    frame = pd.DataFrame(rows)
    frame["dim_seq"] = frame["dim_seq"].astype("Int64")
    return frame


def test_one_line_per_configuration_sorted_by_the_dimension() -> None:
    sp = sweep_points(_runs(), FrontierView(x="dim_seq", y="latency_ms_p50"))
    assert sp.dimension == "seq"
    assert sp.lines == ["base · ort · fp32 · Xeon", "tiny · ort · fp32 · Xeon"]
    assert sp.n_missing == 1
    tiny = sp.points[sp.points["model"] == "tiny"]
    assert tiny["dim_seq"].tolist() == [32, 128]
    assert "2 lines" in sweep_caption(sp) and "1 without seq" in sweep_caption(sp)


def test_a_second_batch_size_splits_lines_and_filters_apply() -> None:
    runs = _runs()
    runs.loc[0, "batch_size"] = 8
    sp = sweep_points(runs, FrontierView(x="dim_seq", y="latency_ms_p50"))
    assert "batch_size" in sp.fields and len(sp.lines) == 3
    only = sweep_points(
        runs, FrontierView(x="dim_seq", y="latency_ms_p50", filters=RunFilters(dims=(("seq", 32),)))
    )
    assert set(only.points["dim_seq"]) == {32} and only.n_filtered_out == 3


def test_sweep_chart_draws_lines_points_and_error_bars() -> None:
    sp = sweep_points(_runs(), FrontierView(x="dim_seq", y="latency_ms_p50"))
    data = sweep_chart_data(sp)
    assert data["dim"].tolist() == [32.0, 128.0, 32.0, 128.0]
    spec = sweep_chart(sp).to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["errorbar", "line"]
    line = spec["layer"][1]["encoding"]
    assert line["x"]["title"] == "seq (dimension value)"
    assert line["y"]["title"] == "Latency p50 (ms, lower is better; log scale)"
    assert line["color"]["field"] == "line"


def test_a_sweep_view_has_no_frontier() -> None:
    import pytest

    from paretoscope.analysis.selection import frontier_points
    from paretoscope.core.errors import InputError

    with pytest.raises(InputError, match="dimension"):
        frontier_points(_runs(), FrontierView(x="dim_seq", y="latency_ms_p50"))
