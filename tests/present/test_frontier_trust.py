"""The Frontier chart's uncertainty and origin marks: error bars, within noise, imported runs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from paretoscope.analysis.selection import frontier_points
from paretoscope.present.charts import drawn_points, frontier_chart, parallel_chart
from paretoscope.present.charts.frontier import WITHIN_NOISE
from paretoscope.present.display import (
    IMPORTED,
    MEASURED_HERE,
    MISSING,
    ci_scope_text,
    memory_source_text,
    run_origin_label,
)
from paretoscope.views import FrontierView


def _runs(**extra: Any) -> pd.DataFrame:
    """Four CPU and GPU runs, two of them imported, with intervals on latency and accuracy."""
    frame = pd.DataFrame(
        {
            "run_id": ["a", "b", "c", "d"],
            "model": ["m1", "m2", "m3", "m4"],
            "family": ["mlp"] * 4,
            "runtime": ["ort", "torch", "ort", "torch"],
            "device": ["cpu", "cpu", "cuda:0", "cuda:0"],
            "device_name": ["Test CPU", "Test CPU", "H100", "H100"],
            "host": ["box", "box", "vm", "vm"],
            "origin": ["measured", "measured", "imported", "imported"],
            "precision": ["fp32"] * 4,
            "batch_size": pd.array([1] * 4, dtype="Int32"),
            "threads": pd.array([1] * 4, dtype="Int32"),
            "accuracy": [0.90, 0.95, 0.97, 0.96],
            "accuracy_ci_low": [0.87, 0.93, 0.95, 0.94],
            "accuracy_ci_high": [0.92, 0.97, 0.98, 0.97],
            "accuracy_n": pd.array([450] * 4, dtype="Int32"),
            "accuracy_origin": ["measured"] * 4,
            "latency_ms_p50": [1.0, 2.0, 0.5, 0.4],
            "latency_ms_p50_ci_low": [0.99, 1.9, 0.45, 0.38],
            "latency_ms_p50_ci_high": [1.01, 2.1, 0.55, 0.42],
            "latency_ci_scope": ["within-process", "between-repeats", "within-process", None],
            "repeats": pd.array([1, 3, 1, None], dtype="Int32"),
            "peak_mem_mb": [100.0, 120.0, np.nan, 35.0],
            "peak_host_mem_mb": [100.0, 120.0, 900.0, 500.0],
            "peak_mem_source": ["vmhwm", "vmhwm", None, "torch-allocator"],
            "peak_mem_unavailable_reason": [None, None, "not measured on this runtime", None],
            "throughput_per_s": [1000.0, 500.0, 2000.0, 2500.0],
            "status": ["ok"] * 4,
        }
    )
    for key, values in extra.items():
        frame[key] = values
    return frame


def _spec(view: FrontierView, frame: pd.DataFrame, *, noise: bool = True) -> dict[str, Any]:
    """The chart of ``frame``'s frontier; noise columns given in ``frame`` replace the computed
    ones (to draw a chosen pairing), and ``noise=False`` drops them (points never tested)."""
    fp = frontier_points(frame, view)
    cols = ["noise_partner", "noise_partner_model"]
    if not noise:
        for col in cols:
            del fp.points[col]
    elif "noise_partner" in frame.columns:
        given = frame.set_index("run_id")[cols]
        for col in cols:
            fp.points[col] = fp.points["run_id"].map(given[col]).astype(object)
    return frontier_chart(fp).to_dict()


def _rows(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["run_id"]: r for r in next(iter(spec["datasets"].values())) if "run_id" in r}


def _tooltips(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["title"]: t for t in spec["layer"][-1]["encoding"]["tooltip"]}


def _filtered(spec: dict[str, Any], needle: str) -> list[dict[str, Any]]:
    """The layers whose first filter mentions ``needle``."""
    return [
        layer
        for layer in spec["layer"]
        if any(needle in str(t.get("filter", "")) for t in layer.get("transform", []))
    ]


def test_error_bars_on_both_axes_when_both_metrics_have_intervals() -> None:
    spec = _spec(FrontierView(by=None), _runs())
    bars = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    encodings = [layer["encoding"] for layer in bars]
    x_bar = next(e for e in encodings if "x2" in e)
    y_bar = next(e for e in encodings if "y2" in e)
    assert (x_bar["x"]["field"], x_bar["x2"]["field"]) == ("x_ci_low", "x_ci_high")
    assert (y_bar["y"]["field"], y_bar["y2"]["field"]) == ("y_ci_low", "y_ci_high")
    # A bar sits on the run's own point on the other axis, on the same scales.
    assert x_bar["y"]["field"] == "accuracy" and y_bar["x"]["field"] == "latency_ms_p50"
    assert x_bar["x"]["scale"]["type"] == "log"
    # Faint on dominated runs, clear on the frontier.
    assert x_bar["opacity"] == {
        "condition": {"test": "datum.on_frontier", "value": 0.6},
        "value": 0.2,
    }
    rows = _rows(spec)
    assert (rows["a"]["y_ci_low"], rows["a"]["y_ci_high"]) == (0.87, 0.92)
    assert (rows["b"]["x_ci_low"], rows["b"]["x_ci_high"]) == (1.9, 2.1)


def test_swapped_axes_swap_the_bars_and_metrics_without_intervals_get_none() -> None:
    rows = _rows(_spec(FrontierView(x="accuracy", y="latency_ms_p50", by=None), _runs()))
    assert (rows["a"]["x_ci_low"], rows["a"]["y_ci_low"]) == (0.87, 0.99)
    spec = _spec(FrontierView(x="peak_host_mem_mb", y="throughput_per_s", by=None), _runs())
    assert not [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert not any(k.endswith("95% CI") for k in _tooltips(spec))


def test_interval_labels_say_what_they_cover() -> None:
    spec = _spec(FrontierView(by=None), _runs())
    rows = _rows(spec)
    assert rows["a"]["x_ci_label"] == "0.99–1.01 ms (within one process)"
    assert rows["b"]["x_ci_label"] == "1.9–2.1 ms (between 3 repeats)"
    assert rows["d"]["x_ci_label"] == "0.38–0.42 ms"  # no stored scope: no claim
    assert rows["a"]["y_ci_label"] == "0.8700–0.9200 (Wilson, 450 items)"
    tips = _tooltips(spec)
    assert "Latency p50 95% CI" in tips and "Accuracy 95% CI" in tips


def test_within_noise_frontier_runs_are_hollow_with_a_legend_and_a_tooltip() -> None:
    # c and d are both on the frontier (d faster, c more accurate); c overlaps d.
    frame = _runs(
        noise_partner=[None, None, "d", None], noise_partner_model=[None, None, "m4", None]
    )
    spec = _spec(FrontierView(by=None), frame)
    rows = _rows(spec)
    assert rows["c"]["within_noise"] and not rows["d"]["within_noise"]
    assert rows["c"]["noise_label"] == "within noise of m4"
    assert rows["d"]["noise_label"] == "distinguishable from the rest of its group"
    assert _tooltips(spec)["Noise"]["field"] == "noise_label"
    (hollow,) = _filtered(spec, "datum.within_noise")[-1:]
    assert hollow["mark"]["filled"] is False and "fill" not in hollow["encoding"]
    size = hollow["encoding"]["size"]
    assert size["scale"]["domain"] == [WITHIN_NOISE] and size["title"] == "Frontier run"
    # The filled frontier layer leaves the within-noise runs to the hollow one.
    assert _filtered(spec, "datum.on_frontier && !datum.within_noise")


def test_no_noise_column_no_noise_claim() -> None:
    spec = _spec(FrontierView(by=None), _runs(), noise=False)
    assert "Noise" not in _tooltips(spec)
    assert not any(r["within_noise"] for r in _rows(spec).values())
    assert not [layer for layer in spec["layer"] if "size" in layer.get("encoding", {})]


def test_a_partner_on_a_dominated_run_is_not_drawn_as_within_noise() -> None:
    frame = _runs(
        noise_partner=["b", None, None, None], noise_partner_model=["m2", None, None, None]
    )
    # a: slower and less accurate than b on the same device, so dominated.
    frame.loc[0, ["latency_ms_p50", "latency_ms_p50_ci_low", "latency_ms_p50_ci_high"]] = [
        3.0,
        2.9,
        3.1,
    ]
    rows = _rows(_spec(FrontierView(by=None), frame))
    assert not rows["a"]["on_frontier"] and not rows["a"]["within_noise"]


def test_imported_runs_are_outlined_with_a_legend_entry_and_named_in_the_tooltip() -> None:
    spec = _spec(FrontierView(by=None), _runs())
    rows = _rows(spec)
    assert rows["c"]["imported"] and not rows["a"]["imported"]
    assert rows["c"]["run_origin"] == IMPORTED and rows["a"]["run_origin"] == MEASURED_HERE
    assert rows["c"]["host"] == "vm"
    (outline,) = _filtered(spec, "datum.imported")
    assert outline["mark"]["shape"] == "square" and outline["mark"]["filled"] is False
    legend = outline["encoding"]["opacity"]
    assert legend["scale"]["domain"] == [IMPORTED] and legend["title"] == "Origin"
    tips = _tooltips(spec)
    assert tips["Origin"]["field"] == "run_origin" and tips["Host"]["field"] == "host"


def test_no_outline_layer_without_imported_runs() -> None:
    frame = _runs(origin=["measured"] * 4)
    spec = _spec(FrontierView(by=None), frame)
    assert not _filtered(spec, "datum.imported")
    assert _tooltips(spec)["Origin"]["field"] == "run_origin"


def test_memory_on_an_axis_names_its_source_or_why_there_is_none() -> None:
    spec = _spec(FrontierView(x="peak_mem_mb", y="throughput_per_s", by=None), _runs())
    rows = _rows(spec)
    assert rows["d"]["mem_source"].startswith("torch-allocator: peak device memory")
    assert rows["a"]["mem_source"].startswith("vmhwm: peak resident set")
    assert "c" not in rows  # no device memory: not on the memory axis
    assert _tooltips(spec)["Memory source"]["field"] == "mem_source"
    # Not named when memory is not drawn.
    assert "Memory source" not in _tooltips(_spec(FrontierView(by=None), _runs()))


def test_display_texts() -> None:
    assert ci_scope_text("within-process", 1) == "within one process"
    assert ci_scope_text("between-repeats", 5) == "between 5 repeats"
    assert ci_scope_text("between-repeats", 1) == "within one process"
    assert ci_scope_text(None, 3) == MISSING
    assert memory_source_text(None, "no NVML") == "unavailable: no NVML"
    assert memory_source_text(None, None) == MISSING
    assert memory_source_text("nvml-process").startswith("nvml-process: peak device memory NVML")
    assert run_origin_label("imported") == IMPORTED
    assert run_origin_label("measured") == MEASURED_HERE
    assert run_origin_label(None) == MISSING


def test_parallel_coordinates_name_origin_and_host_and_dash_imported_runs() -> None:
    view = FrontierView(by=None, z=("throughput_per_s",))
    fp = frontier_points(_runs(), view)
    spec = parallel_chart(fp, drawn_points(fp)).to_dict()
    enc = spec["layer"][0]["encoding"]
    assert {"Origin", "Host"} <= {t["title"] for t in enc["tooltip"]}
    assert enc["strokeDash"]["scale"]["domain"] == [MEASURED_HERE, IMPORTED]
    rows = next(iter(spec["datasets"].values()))
    assert {r["origin"] for r in rows if r["run_id"] == "c"} == {IMPORTED}
    measured = frontier_points(_runs(origin=["measured"] * 4), view)
    plain = parallel_chart(measured, drawn_points(measured)).to_dict()
    assert "strokeDash" not in plain["layer"][0]["encoding"]


def _colour_titles(spec: Any) -> set[str]:
    """Every colour channel's title in a (layered) Vega-Lite spec."""
    found: set[str] = set()
    if isinstance(spec, dict):
        colour = spec.get("encoding", {}).get("color") if "encoding" in spec else None
        if isinstance(colour, dict) and isinstance(colour.get("title"), str):
            found.add(colour["title"])
        for value in spec.values():
            found |= _colour_titles(value)
    elif isinstance(spec, list):
        for value in spec:
            found |= _colour_titles(value)
    return found


def test_the_colour_legend_names_the_separated_fields_its_labels_are_made_of() -> None:
    # Two device names, grouped by batch size: labels read "1 · H100", so the legend must
    # say "Batch size · Device name", not "Batch size" (the LM demo showed "1 · 16").
    view = FrontierView.from_query({"by": "batch_size"})[0]
    fp = frontier_points(_runs(), view)
    assert fp.separated == ("device_name",)
    assert _colour_titles(frontier_chart(fp).to_dict()) == {"Batch size · Device name"}
    one = _runs().iloc[:2]  # one device name: nothing separated, the plain title
    assert _colour_titles(frontier_chart(frontier_points(one, view)).to_dict()) == {"Batch size"}
