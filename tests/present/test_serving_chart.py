"""The latency-vs-load chart and the scenario tables of Run detail (issue 16)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from paretoscope.analysis.scenarios import (
    lateness_warning,
    offline_table,
    server_curve,
    server_summary,
    server_table,
)
from paretoscope.core.scenarios import ScenarioStats, ServerStats
from paretoscope.present.charts.serving import latency_load_chart
from tests.store.test_migration_scenarios import scenario_record


def _stats() -> ScenarioStats:
    rec = scenario_record("x")
    assert rec.scenarios is not None
    return rec.scenarios


def _server() -> ServerStats:
    server = _stats().server
    assert server is not None
    return server


def test_the_curve_has_p50_and_p99_per_step_and_marks_re_measurements() -> None:
    curve = server_curve(_server())
    assert len(curve) == 8 and set(curve["quantile"]) == {"p50", "p99"}
    again = curve[curve["measurement"] == "re-measured"]
    assert list(again["offered_qps"]) == [400.0, 400.0]
    p99 = curve[(curve["quantile"] == "p99") & (curve["measurement"] == "stepping up")]
    assert list(p99["latency_ms"]) == [2.5, 9.0, 180.0]


def test_the_chart_draws_the_bound_and_the_maximum_with_units() -> None:
    server = _server()
    chart = latency_load_chart(server_curve(server), server.p99_bound_ms, server.max_qps_at_p99)
    assert chart is not None
    spec = chart.to_dict()
    layers = spec["layer"]
    marks = [ly["mark"]["type"] if isinstance(ly["mark"], dict) else ly["mark"] for ly in layers]
    assert marks == ["rule", "text", "line", "point", "rule", "text"]
    data = {k: v for k, v in spec["datasets"].items()}
    labels = {r.get("label") for rows in data.values() for r in rows}
    assert {"p99 bound 20 ms", "max 400 requests/s at the bound"} <= labels
    line = layers[2]["encoding"]
    assert line["x"]["title"] == "Offered rate (requests/s, Poisson arrivals)"
    assert line["y"]["title"] == "Latency incl. queueing (ms, log scale)"
    assert line["y"]["scale"]["type"] == "log"


def test_no_steps_no_chart() -> None:
    server = dataclasses.replace(_server(), steps=())
    assert latency_load_chart(server_curve(server), 20.0, None) is None


def test_tables_and_summary_say_what_was_measured() -> None:
    stats = _stats()
    assert stats.server is not None
    steps = server_table(stats.server)
    assert isinstance(steps, pd.DataFrame) and list(steps["Met the bound"]) == [
        "yes", "yes", "no", "yes",
    ]  # fmt: skip
    assert "queue exploded" in steps["Note"].iloc[2]
    text = server_summary(stats.server)
    assert "at most 400 requests/s with p99 <= 20 ms" in text and "one request at a time" in text
    batched = dataclasses.replace(stats.server, max_batch=8, max_delay_ms=2.0)
    assert "dynamic batching up to 8 requests and 2 ms" in server_summary(batched)
    assert stats.offline is not None
    assert list(offline_table(stats.offline)["Batch"]) == [1, 2]


def test_a_late_generator_is_warned_about() -> None:
    server = _server()
    assert lateness_warning(server) is None  # 0.05 ms at most in the record
    late = dataclasses.replace(server.steps[0], lateness_ms_p99=6.5)
    text = lateness_warning(dataclasses.replace(server, steps=(late, *server.steps[1:])))
    assert text is not None and "6.5 ms late" in text and "pessimistic" in text
