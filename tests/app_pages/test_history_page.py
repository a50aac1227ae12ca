"""Regression marks in the Runs table and Run detail, and the history of a configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from paretoscope.ui.history import MARK_COLUMN
from store import Store
from tests.app_pages.conftest import RunApp
from tests.app_pages.hostile import hostile
from tests.factories import make_record

# One configuration measured four times: steady, steady, three times slower, steady again.
LATENCIES_MS = (1.0, 1.01, 3.0, 3.02)
EVIL = hostile("model")


def _at(i: int) -> dict[str, Any]:
    stamp = f"2026-11-2{i}T10:00:00.000000+00:00"
    return {"started_at": stamp, "finished_at": stamp}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(tmp_path_factory.mktemp("history") / "s.duckdb")
    recs = [make_record(latency_ms=v, **_at(i)) for i, v in enumerate(LATENCIES_MS)]
    recs.append(make_record(model="alone", **_at(1)))
    recs += [make_record(model=EVIL, latency_ms=v, **_at(i)) for i, v in enumerate((1.0, 2.0))]
    s.ingest_many(recs)
    return s


def _ids(store: Store, model: str = "mlp-w64-d2") -> list[str]:
    frame = store.runs_frame().query("model == @model").sort_values("started_at")
    return frame["run_id"].astype(str).tolist()


def _runs_table(at: object) -> pd.DataFrame:
    frames = [d.value for d in at.dataframe if MARK_COLUMN in d.value.columns]  # type: ignore[attr-defined]
    assert len(frames) == 1
    return frames[0]


def test_runs_table_marks_the_run_that_regressed(store: Store, run_app: RunApp) -> None:
    at = run_app(store, page="runs")
    table = _runs_table(at)
    marks = dict(zip(table["Run"].astype(str), table[MARK_COLUMN], strict=True))
    first, steady, slowed, again = _ids(store)
    assert marks[first].startswith("— (first")
    assert marks[steady] == "no" and marks[again] == "no"
    assert marks[slowed].startswith("yes: ") and "latency_ms_p50" in marks[slowed]
    assert "throughput_per_s" in marks[slowed]
    (alone,) = _ids(store, "alone")
    assert marks[alone].startswith("— (first")


def test_run_detail_marks_and_draws_the_history(store: Store, run_app: RunApp) -> None:
    first, _, slowed, _ = _ids(store)
    at = run_app(store, page="run_detail", query={"run": slowed})
    assert any("Regressed against the previous run" in e.value for e in at.error)
    assert any("History of this configuration" in s.value for s in at.subheader)
    assert at.selectbox(key="run_detail.history").value == "latency_ms_p50"
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    history = [s for s in specs if "Runs of this configuration, oldest first" in json.dumps(s)]
    assert len(history) == 1
    assert "Latency p50 (ms, lower is better; log scale)" in json.dumps(history[0])
    caption = " ".join(c.value for c in at.caption)
    assert "4 runs of this configuration" in caption and "1 run(s) regressed" in caption
    at.selectbox(key="run_detail.history").set_value("peak_mem_mb").run()
    specs = [json.dumps(json.loads(c.proto.spec)) for c in at.get("vega_lite_chart")]
    assert any("Peak memory (MB, lower is better)" in s for s in specs)
    at = run_app(store, page="run_detail", query={"run": first})
    assert not any("Regressed" in e.value for e in at.error)


def test_a_single_run_has_no_history(store: Store, run_app: RunApp) -> None:
    (alone,) = _ids(store, "alone")
    at = run_app(store, page="run_detail", query={"run": alone})
    assert any("no history yet" in c.value for c in at.caption)


def test_marks_are_computed_once_per_frame(store: Store, tmp_path: Path) -> None:
    from paretoscope.ui import history

    frame = store.runs_frame(status=None)
    first = history._index(frame)
    assert history._index(frame) is first  # cached on the frame object
