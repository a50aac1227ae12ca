"""Serving scenarios on the pages (issue 16): the Profile page's option reaches the job, and
Run detail draws the latency-vs-load curve with its bound and maximum."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from paretoscope.profiling.scenario_form import scenarios_from_answers
from store import Store
from tests.app_pages.conftest import RunApp
from tests.app_pages.test_profile_page import open_page, tiny_onnx, upload_model
from tests.factories import make_record
from tests.store.test_migration_scenarios import scenario_record

__all__ = ["tiny_onnx"]  # the fixture, used by name below (launches: conftest)


def test_the_scenario_options_reach_the_queued_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_onnx: bytes, launches: list[Store]
) -> None:
    store = Store(tmp_path / "p.duckdb")
    at = upload_model(open_page(store, monkeypatch), "mlp.onnx", tiny_onnx)
    at.radio(key="profile.eval").set_value("None: efficiency only").run()
    assert at.checkbox(key="profile.scenario.offline").value is False
    assert at.checkbox(key="profile.scenario.server").value is False
    at.button(key="profile.submit").click().run()
    (plain,) = jobs.list_jobs(store)
    assert plain.request["scenarios"] is None
    at.checkbox(key="profile.scenario.server").check().run()
    at.checkbox(key="profile.scenario.offline").check().run()
    at.number_input(key="profile.scenario.p99_ms").set_value(25.0).run()
    at.number_input(key="profile.scenario.max_batch").set_value(4).run()
    at.number_input(key="profile.scenario.max_delay_ms").set_value(2.0).run()
    at.button(key="profile.submit").click().run()
    newest = jobs.list_jobs(store)[0]
    assert "single-stream + offline + server" in newest.title
    sc = jobrunner.profile_request(newest).scenarios
    assert sc is not None and sc.scenarios == ("single-stream", "offline", "server")
    assert (sc.server_p99_ms, sc.server_max_batch, sc.server_max_delay_ms) == (25.0, 4, 2.0)


def test_form_answers_without_scenarios_ask_for_single_stream_only() -> None:
    assert scenarios_from_answers({}) is None
    sc = scenarios_from_answers({"scenario.offline": True})
    assert sc is not None and sc.scenarios == ("single-stream", "offline")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(tmp_path_factory.mktemp("scen-page") / "s.duckdb")
    s.ingest_many([scenario_record("served"), make_record(run_id="plain")])
    return s


def _curve_spec(at: AppTest) -> dict[str, Any]:
    charts = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    curves = [c for c in charts if "offered_qps" in json.dumps(c)]
    assert len(curves) == 1, len(charts)
    return curves[0]


def test_run_detail_draws_the_latency_vs_load_curve(store: Store, run_app: RunApp) -> None:
    at = run_app(store, page="run_detail", query={"run": "served"})
    assert not at.exception
    assert "Serving scenarios" in [h.value for h in at.subheader]
    spec = _curve_spec(at)
    text = json.dumps(spec)
    # Axes with units; the bound and the maximum as rules, labelled; p50 and p99 lines.
    assert "Offered rate (requests/s" in text and "Latency incl. queueing (ms" in text
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks.count("rule") == 2 and marks.count("text") == 2 and "line" in marks
    summary = " ".join(t.value for t in at.text)
    assert "at most 400 requests/s with p99 <= 20 ms" in summary
    tables = [d.value for d in at.dataframe if "Offered (requests/s)" in d.value.columns]
    (steps,) = tables
    assert isinstance(steps, pd.DataFrame) and len(steps) == 4
    assert list(steps["Re-measurement"]) == ["", "", "", "yes"]
    (offline,) = [d.value for d in at.dataframe if "Throughput (items/s)" in d.value.columns]
    assert list(offline["Best"]) == ["", "yes"]


def test_a_run_without_scenarios_shows_no_scenario_section(store: Store, run_app: RunApp) -> None:
    at = run_app(store, page="run_detail", query={"run": "plain"})
    assert not at.exception
    assert "Serving scenarios" not in [h.value for h in at.subheader]


def test_a_maximum_that_is_unavailable_says_why(tmp_path: Path, run_app: RunApp) -> None:
    rec = scenario_record("none")
    assert rec.scenarios is not None and rec.scenarios.server is not None
    server = dataclasses.replace(
        rec.scenarios.server, max_qps_at_p99=None,
        unavailable_reason="no offered rate met p99 <= 20 ms twice",
    )  # fmt: skip
    s = Store(tmp_path / "s.duckdb")
    s.ingest(dataclasses.replace(rec, scenarios=dataclasses.replace(rec.scenarios, server=server)))
    at = run_app(s, page="run_detail", query={"run": "none"})
    summary = " ".join(t.value for t in at.text)
    assert "no offered rate met p99 <= 20 ms twice" in summary
    marks = [layer["mark"]["type"] for layer in _curve_spec(at)["layer"]]
    assert marks.count("rule") == 1  # the bound; no maximum to mark
