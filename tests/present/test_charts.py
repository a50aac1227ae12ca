"""The frontier chart's specification and the tables beside it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from paretoscope.analysis.selection import frontier_points
from paretoscope.core.metrics import METRICS
from paretoscope.present.charts import frontier_chart, step_interpolation
from paretoscope.present.display import REPORTED
from paretoscope.present.sampling import MAX_MARKS
from paretoscope.present.tables import column_formats, frontier_points_table, runs_table
from paretoscope.views import FrontierView


def _runs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": ["a", "b", "c", "d", "e"],
            "model": ["m1", "m2", "m3", "m4", "card"],
            "family": ["mlp", "mlp", "cnn", "cnn", "cnn"],
            "runtime": ["ort", "torch", "ort", "tvm", "ort"],
            "runtime_version": ["1.32.0", "2.13.0", "1.32.0", "0.1", None],
            "execution_provider": [
                "CPUExecutionProvider",
                None,
                "CPUExecutionProvider",
                None,
                None,
            ],
            "device": ["cpu"] * 5,
            "device_name": ["Test CPU"] * 5,
            "host": ["box"] * 5,
            "precision": ["fp32", "int8", "fp32", "int4", "fp32"],
            "batch_size": pd.array([1, 1, 32, 1, 1], dtype="Int32"),
            "threads": pd.array([1, 1, 2, 1, 1], dtype="Int32"),
            "accuracy": [0.90, 0.95, 0.97, 0.80, 0.99],
            "accuracy_origin": ["measured"] * 4 + ["reported"],
            "latency_ms_p50": [1.0, 2.0, 4.0, 3.0, 8.0],
            "latency_ms_p50_ci_low": [0.99, 1.9, np.nan, 2.9, 7.9],
            "latency_ms_p50_ci_high": [1.01, 2.1, np.nan, 3.1, 8.1],
            "latency_n_iter": pd.array([400, 300, 200, 100, 50], dtype="Int32"),
            "latency_stop_reason": ["ci_target"] * 5,
            "throughput_per_s": [1000.0, 500.0, 8000.0, 333.0, 125.0],
            "peak_mem_mb": [100.0, 90.0, 300.0, 200.0, 400.0],
            "params": pd.array([10_000, 10_000, 90_000, 5_000, None], dtype="Int64"),
            "started_at": pd.to_datetime(["2026-01-01 10:00:00"] * 5),
            "energy_j_per_item": [np.nan] * 5,
            "energy_unavailable_reason": ["no counter"] * 5,
            "status": ["ok"] * 5,
            "error": [None] * 5,
        }
    )


def _spec(view: FrontierView, frame: pd.DataFrame | None = None) -> dict[str, Any]:
    return frontier_chart(frontier_points(_runs() if frame is None else frame, view)).to_dict()


def _scale(enc: dict[str, Any], channel: str) -> dict[Any, Any]:
    scale = enc[channel]["scale"]
    return {str(k): v for k, v in zip(scale["domain"], scale["range"], strict=True)}


def _marks(spec: dict[str, Any]) -> list[str]:
    # The last layer is always the invisible click target (with the tooltip).
    return [layer["mark"]["type"] for layer in spec["layer"][:-1]]


def _front(spec: dict[str, Any]) -> dict[str, Any]:
    """The frontier runs' layer (the last layer before the click target)."""
    layer: dict[str, Any] = spec["layer"][-2]
    return layer


def test_layers_titles_and_scales() -> None:
    spec = _spec(FrontierView(by=None))
    assert _marks(spec) == ["rule", "point", "line", "point"]
    ci, dominated, line, front = spec["layer"][:-1]
    assert ci["encoding"]["x"]["field"] == "x_ci_low"
    assert ci["encoding"]["x2"]["field"] == "x_ci_high"
    assert front["encoding"]["x"]["title"] == "Latency p50 (ms, lower is better; log scale)"
    assert front["encoding"]["x"]["scale"]["type"] == "log"
    assert front["encoding"]["y"]["title"] == "Accuracy (fraction, higher is better)"
    assert dominated["mark"]["opacity"] < front["mark"]["opacity"]
    assert dominated["transform"] == [{"filter": "!datum.on_frontier"}]
    assert line["transform"] == [{"filter": "datum.on_frontier"}]
    assert line["mark"]["interpolate"] == "step-after"
    assert front["encoding"]["fill"]["field"] == "runtime"
    assert front["encoding"]["shape"]["field"] == "precision"


def test_tooltip_carries_provenance_with_units() -> None:
    spec = _spec(FrontierView())
    tips = {t["title"]: t for t in spec["layer"][-1]["encoding"]["tooltip"]}  # the click target
    for title in ("Model", "Family", "Runtime", "Device", "Host", "Precision", "Batch",
                  "Threads", "Timed iterations", "Accuracy origin", "Started", "Run",
                  "Latency p50 95% CI", "Origin"):  # fmt: skip
        assert title in tips, title
    assert tips["Latency p50 (ms)"]["format"] == METRICS["latency_ms_p50"].fmt
    assert tips["Accuracy (fraction)"]["format"] == METRICS["accuracy"].fmt


def test_chart_data_labels_reported_accuracy_and_provenance() -> None:
    spec = _spec(FrontierView())
    rows = next(iter(spec["datasets"].values()))
    card = next(r for r in rows if r["model"] == "card")
    assert card["origin"] == REPORTED
    assert card["runtime_label"] == "ort —"  # version unknown, said so
    m1 = next(r for r in rows if r["model"] == "m1")
    assert m1["runtime_label"] == "ort 1.32.0, CPUExecutionProvider"
    # Without a stored scope the interval does not claim one.
    assert m1["x_ci_label"] == "0.99–1.01 ms"
    assert m1["iterations"] == "400 (stopped: ci_target)"
    m3 = next(r for r in rows if r["model"] == "m3")
    assert m3["x_ci_label"] == "—"


def test_reported_accuracy_is_hollow_and_dashed() -> None:
    enc = _front(_spec(FrontierView()))["encoding"]
    fill = _scale(enc, "fillOpacity")
    assert fill[REPORTED] == 0.0 and fill["measured"] > 0.5
    dash = _scale(enc, "strokeDash")
    assert dash[REPORTED] != dash["measured"]


def test_no_origin_encoding_when_accuracy_is_not_drawn() -> None:
    enc = _front(_spec(FrontierView(x="peak_mem_mb", y="latency_ms_p50")))["encoding"]
    assert "fillOpacity" not in enc and "strokeDash" not in enc


def test_higher_is_better_x_steps_before_and_has_no_ci() -> None:
    spec = _spec(FrontierView(x="throughput_per_s"))
    assert _marks(spec) == ["point", "line", "point"]
    assert spec["layer"][1]["mark"]["interpolate"] == "step-before"
    assert spec["layer"][0]["encoding"]["x"]["title"].startswith("Throughput (items/s, higher")


def test_linear_axis_and_hidden_dominated_runs() -> None:
    spec = _spec(FrontierView(x="peak_mem_mb", show_dominated=False))
    assert _marks(spec) == ["line", "point"]
    assert spec["layer"][0]["encoding"]["x"]["scale"]["type"] == "linear"
    assert "log scale" not in spec["layer"][0]["encoding"]["x"]["title"]


def test_colours_and_shapes_are_stable_and_cover_unknown_values() -> None:
    enc = _front(_spec(FrontierView(by="runtime")))["encoding"]
    colours = _scale(enc, "fill")
    assert colours["ort"] != colours["torch"] and "tvm" in colours
    assert enc["fill"]["field"] == "group"
    assert enc["fill"]["scale"] == enc["stroke"]["scale"]
    shapes = _scale(enc, "shape")
    assert shapes["fp32"] == "circle" and "int4" in shapes


def test_step_interpolation_follows_the_x_direction() -> None:
    assert step_interpolation(METRICS["latency_ms_p50"]) == "step-after"
    assert step_interpolation(METRICS["throughput_per_s"]) == "step-before"


def test_frontier_table_headers_order_and_formats() -> None:
    table = frontier_points_table(frontier_points(_runs(), FrontierView(by=None)))
    assert list(table["Model"]) == ["m1", "m2", "m3", "card"]
    # One frontier per batch size by default: batch 1 first, then batch 32 (m3).
    grouped = frontier_points_table(frontier_points(_runs(), FrontierView()))
    assert list(grouped["Model"]) == ["m1", "m2", "card", "m3"]
    headers = ["Latency p50 (ms)", "Accuracy (fraction)", "Accuracy origin", "Host"]
    headers += ["Runtime version", "Threads", "Batch", "Precision", "Started (UTC)"]
    assert set(headers) <= set(table.columns)
    assert table.loc[3, "Accuracy origin"] == REPORTED
    formats = column_formats(table)
    assert formats["Accuracy (fraction)"] == "%.4f"
    assert formats["p50 CI low (ms)"] == "%.4g"


def test_runs_table_keeps_failures_and_energy_reasons() -> None:
    runs = _runs()
    runs.loc[1, ["status", "error"]] = ["failed", "worker ran out of memory"]
    table = runs_table(runs)
    assert table.loc[1, "Error"] == "worker ran out of memory"
    assert (table["Energy unavailable because"] == "no counter").all()
    assert column_formats(table)["Parameters (count)"] == "localized"


@pytest.mark.parametrize("n", [0, 1])
def test_tiny_inputs_still_make_a_valid_chart(n: int) -> None:
    spec = _spec(FrontierView(), _runs().head(n))
    assert spec["layer"]


def test_thousands_of_runs() -> None:
    rng = np.random.default_rng(1)
    n = 6000
    big = pd.concat([_runs()] * (n // 5), ignore_index=True)
    big["run_id"] = [f"r{i}" for i in range(len(big))]
    big["latency_ms_p50"] = rng.lognormal(0, 1, len(big))
    big["accuracy"] = rng.uniform(0.5, 1.0, len(big))
    fp = frontier_points(big, FrontierView())
    assert len(fp.points) == n and 0 < len(fp.frontier) < 100
    # The chart is thinned to MAX_MARKS: every frontier run is drawn, the rest sampled.
    spec = frontier_chart(fp).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert len(rows) <= MAX_MARKS
    assert set(fp.frontier["run_id"]) <= {r["run_id"] for r in rows}
