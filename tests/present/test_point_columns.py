"""The Frontier's points keep few columns; what the page shows is the same as with every column.

Issue 13: ``frontier_points`` copies only the columns its work reads and fetches
the others (provenance, versions, other metrics) for the rows that show them.
These tests build each view twice, once from the narrow points and once from
points that carry every column of the runs frame, and compare what the page
draws and tabulates.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from paretoscope.analysis.selection import FrontierPoints, dominated_by, frontier_points
from paretoscope.present.charts.frontier_spec import frontier_drawing
from paretoscope.present.charts.spec import DATASET
from paretoscope.present.tables import points_table
from paretoscope.ui.later import frontier_table
from paretoscope.views import FrontierView
from store import Store
from tests.app_pages.catalogue import build_store
from tests.factories import make_record

QUERIES: list[dict[str, Any]] = [
    {},
    {"rt": "ort"},
    {"prec": "int8"},
    {"by": "none"},
    {"by": "runtime", "facet": "precision"},
    {"by": "family", "facet": "host"},
    {"x": "peak_mem_mb", "y": "accuracy", "xlog": "1"},
    {"x": "latency_ms_p50", "y": "accuracy", "z": "peak_mem_mb"},
    {"bm": "model_size_mb", "bv": "5", "fl": "0.5"},
    {"x": "latency_ms_p50", "y": "throughput_per_s", "dom": "0"},
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("points")
    return build_store(Path(folder) / "mixed.duckdb", "mixed").runs_frame()


def _wide(fp: FrontierPoints) -> FrontierPoints:
    """``fp`` with points that carry every column (what ``points`` held before issue 13)."""
    return dataclasses.replace(fp, points=fp.full_rows(fp.points))


@pytest.mark.parametrize("query", QUERIES, ids=[json.dumps(q) for q in QUERIES])
def test_the_chart_and_tables_are_those_of_the_full_points(
    runs: pd.DataFrame, query: dict[str, Any]
) -> None:
    view = FrontierView.from_query(query)[0]
    narrow = frontier_points(runs, view)
    wide = _wide(narrow)
    assert len(narrow.points.columns) < len(runs.columns)
    assert set(runs.columns) <= set(wide.points.columns)

    drawn, expected = frontier_drawing(narrow), frontier_drawing(wide)
    assert [a.run_id for a in drawn.answers] == [a.run_id for a in expected.answers]
    for got, want in zip(drawn.answers, expected.answers, strict=True):
        if want.run is not None:
            assert got.run is not None
            shown = list(got.run.index)  # what the page's answer line reads is among them
            assert {"model", "runtime", "device", "precision", "batch_size"} <= set(shown)
            assert got.run.to_dict() == want.run[shown].to_dict()
    assert (drawn.spec is None) == (expected.spec is None)
    if drawn.spec is not None and expected.spec is not None:
        got_spec, want_spec = dict(drawn.spec), dict(expected.spec)
        got_data = got_spec.pop("datasets")[DATASET]
        want_data = want_spec.pop("datasets")[DATASET]
        assert json.dumps(got_spec, sort_keys=True) == json.dumps(want_spec, sort_keys=True)
        pd.testing.assert_frame_equal(got_data, want_data)
    pd.testing.assert_frame_equal(
        points_table(narrow.frontier, view.objectives, group=view.by),
        points_table(wide.frontier, view.objectives, group=view.by),
    )


def test_full_rows_are_the_runs_rows(runs: pd.DataFrame) -> None:
    fp = frontier_points(runs, FrontierView())
    full = fp.full_rows(fp.points)
    assert list(full.columns[: len(runs.columns)]) == list(runs.columns)
    assert {"group", "on_frontier", "noise_partner", "noise_partner_model"} <= set(full.columns)
    pd.testing.assert_frame_equal(full[list(runs.columns)], runs.loc[fp.points.index])


def test_a_frame_with_repeated_labels_still_finds_each_runs_row(runs: pd.DataFrame) -> None:
    doubled = pd.concat([runs, runs.assign(run_id=runs["run_id"] + "-b")])  # labels repeat
    fp = frontier_points(doubled, FrontierView())
    full = fp.full_rows(fp.points)
    assert full["run_id"].tolist() == fp.points["run_id"].tolist()
    assert full["runtime_version"].notna().all()


def test_the_dominators_of_a_run_carry_every_column(tmp_path: Path) -> None:
    store = Store(tmp_path / "dominated.duckdb")
    store.ingest_many(
        [
            make_record(model="slow-worse", latency_ms=2.0, accuracy=0.90),
            make_record(model="fast-better", latency_ms=1.0, accuracy=0.95),
        ]
    )
    runs = store.runs_frame()
    fp = frontier_points(runs, FrontierView())
    slow = fp.points.loc[fp.points["model"] == "slow-worse", "run_id"].iloc[0]
    dom = dominated_by(fp, str(slow))
    assert dom["model"].tolist() == ["fast-better"]
    assert set(runs.columns) <= set(dom.columns)


def test_the_downloaded_table_has_every_plotted_run_with_its_provenance(
    runs: pd.DataFrame,
) -> None:
    view = FrontierView()
    table = frontier_table(runs, view)()
    fp = frontier_points(runs, view)
    expected = points_table(_wide(fp).points, view.objectives, group=view.by)
    pd.testing.assert_frame_equal(table, expected)
