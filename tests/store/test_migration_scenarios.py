"""Migration 11 adds the serving-scenario columns: NULL for older runs, kept for new ones."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from paretoscope.core.metrics import metric, metric_keys
from paretoscope.core.records import RunRecord, from_dict, to_dict
from paretoscope.core.scenarios import (
    OfflinePoint,
    OfflineStats,
    ScenarioStats,
    ServerStats,
    ServerStep,
    scenario_request,
)
from paretoscope.present.runtable import RUN_COLUMNS, run_table
from store import migrations
from store.schema_scenarios import SCENARIO_RUN_COLUMNS
from store.store import Store
from tests.factories import make_record
from tests.store.old_schema import store_at_version

SCENARIO_KEYS = list(SCENARIO_RUN_COLUMNS)


def _stats() -> ScenarioStats:
    steps = (
        ServerStep(100.0, 99.0, 1.1, 2.5, 100, 100, True, lateness_ms_p99=0.05),
        ServerStep(400.0, 398.0, 1.4, 9.0, 200, 200, True, mean_batch=1.0),
        ServerStep(800.0, 610.0, 40.0, 180.0, 400, 390, False, note="queue exploded: 10 waiting"),
        ServerStep(400.0, 401.0, 1.3, 8.0, 200, 200, True, confirm=True),
    )
    return ScenarioStats(
        offline=OfflineStats(
            points=(OfflinePoint(1, 900.0, 1.1, 1.1, 300), OfflinePoint(2, 1500.0, 1.3, 1.33, 250)),
            best_batch=2,
            throughput_per_s=1500.0,
            stop_reason="the largest batch size was measured",
        ),
        server=ServerStats(
            p99_bound_ms=20.0,
            max_batch=1,
            max_delay_ms=0.0,
            service_ms_p50=1.05,
            steps=steps,
            max_qps_at_p99=400.0,
            stop_reason="queue exploded at 800 requests/s",
            seed=3,
        ),
    )


def scenario_record(run_id: str) -> RunRecord:
    rec = make_record(run_id=run_id, model="served")
    request = scenario_request(("single-stream", "offline", "server"), server_p99_ms=20.0)
    spec = dataclasses.replace(rec.spec, scenarios=request)
    return dataclasses.replace(rec, spec=spec, scenarios=_stats())


def test_an_old_store_opens_with_null_scenario_columns(tmp_path: Path) -> None:
    path = tmp_path / "v10.duckdb"
    store_at_version(path, make_record(run_id="old"), 10)
    store = Store(path)
    assert store.schema_version() == migrations.MIGRATIONS[-1].version >= 11
    frame = store.runs_frame()
    for col in SCENARIO_KEYS:
        assert col in frame.columns, col
        assert pd.isna(frame.iloc[0][col]), col
    old = store.get_record("old")
    assert old is not None and old.scenarios is None and old.spec.scenarios is None
    # A new run stored after the migration keeps its scenarios beside the old one.
    store.ingest(scenario_record("new"))
    got = store.runs_frame().set_index("run_id").loc["new"]
    assert got["server_max_qps_at_p99"] == 400.0 and got["server_p99_bound_ms"] == 20.0


def test_a_scenario_run_keeps_its_curve_and_columns(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    rec = scenario_record("sc")
    store.ingest(rec)
    back = store.get_record("sc")
    assert back is not None and back.scenarios == rec.scenarios and back.spec == rec.spec
    row = run_table(store.runs_frame()).set_index("run_id").loc["sc"]
    assert row["offline_throughput_per_s"] == 1500.0 and row["offline_best_batch"] == 2
    assert row["server_max_qps_at_p99"] == 400.0 and row["server_p99_bound_ms"] == 20.0


def test_a_server_run_without_a_rate_meeting_the_bound_keeps_its_bound(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    rec = scenario_record("none")
    assert rec.scenarios is not None and rec.scenarios.server is not None
    server = dataclasses.replace(
        rec.scenarios.server, max_qps_at_p99=None, service_ms_p50=None,
        unavailable_reason="no offered rate met p99 <= 20 ms twice",
    )  # fmt: skip
    rec = dataclasses.replace(rec, scenarios=ScenarioStats(server=server))
    store.ingest(rec)
    row = store.runs_frame().set_index("run_id").loc["none"]
    assert row["server_p99_bound_ms"] == 20.0
    assert pd.isna(row["server_max_qps_at_p99"])  # unavailable
    back = store.get_record("none")
    assert back is not None and back.scenarios is not None and back.scenarios.server == server


def test_scenario_keys_are_metrics_and_columns_at_the_end_of_runs() -> None:
    for key in ("offline_throughput_per_s", "server_max_qps_at_p99"):
        assert key in metric_keys() and metric(key).direction == "higher"
    assert metric("server_max_qps_at_p99").unit == "requests/s"
    assert list(RUN_COLUMNS[-4:]) == SCENARIO_KEYS
    assert RUN_COLUMNS.index("energy_j_per_token") < RUN_COLUMNS.index("offline_throughput_per_s")


def test_records_and_specs_round_trip_through_json() -> None:
    rec = scenario_record("json")
    again = from_dict(RunRecord, json.loads(json.dumps(to_dict(rec))))
    assert again == rec
    assert isinstance(again.spec.scenarios.scenarios, tuple)  # type: ignore[union-attr]


def test_a_bundle_carries_the_scenarios(tmp_path: Path) -> None:
    from store.bundle import export_bundle, import_bundle

    source = Store(tmp_path / "a.duckdb")
    source.ingest(scenario_record("b"))
    export_bundle(source, tmp_path / "b.parquet")
    dest = Store(tmp_path / "b.duckdb")
    import_bundle(dest, tmp_path / "b.parquet")
    got = dest.get_record("b")
    assert got is not None and got.scenarios == scenario_record("b").scenarios
    row = dest.runs_frame().set_index("run_id").loc["b"]
    assert row["server_max_qps_at_p99"] == pytest.approx(400.0)
