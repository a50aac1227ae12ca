"""The Frontier chart's cached structure gives exactly the chart built afresh (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from paretoscope.analysis.budget import budget_answers
from paretoscope.analysis.selection import frontier_points, lineage_segments
from paretoscope.present.charts import drawn_points, frontier_chart
from paretoscope.present.charts import frontier_spec as cache
from paretoscope.present.charts.spec import DATASET, vega_lite_spec
from paretoscope.views import FrontierView
from store import Store
from tests.app_pages.catalogue import build_store
from tests.synthetic import synthetic_records

QUERIES: list[dict[str, Any]] = [
    {},
    {"runtime": "ort"},
    {"runtime": "torch"},
    {"precision": "int8"},
    {"by": "none"},
    {"by": "runtime"},
    {"by": "precision", "facet": "runtime"},
    {"x": "peak_mem_mb", "y": "accuracy", "xlog": "1"},
    {"x": "latency_ms_p50", "y": "accuracy", "z": "peak_mem_mb"},
    {"dom": "0"},
    {"lin": "1"},
    {"bm": "latency_ms_p50", "bv": "5", "fl": "0.5"},
    {"x": "latency_ms_p50", "y": "throughput_per_s"},
]


def _canonical(spec: dict[str, Any]) -> tuple[str, pd.DataFrame]:
    spec = dict(spec)
    data = spec.pop("datasets")[DATASET]
    return json.dumps(spec, sort_keys=True, default=str), data


def _both(runs: pd.DataFrame, query: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    view = FrontierView.from_query(query)[0]
    fp = frontier_points(runs, view)
    answers = budget_answers(
        fp.points, fp.points["group"], view.cost, view.y, limit=view.budget, floor=view.floor
    )
    ids = [a.run_id for a in answers if a.run_id]
    thinned = drawn_points(fp, ids)
    lineage = lineage_segments(thinned.rows, view.x, view.y, view.facet) if view.lineage else None
    fresh = vega_lite_spec(frontier_chart(fp, ids, thinned, lineage))
    return fresh, cache.frontier_spec(fp, ids, thinned, lineage)


@pytest.fixture(scope="module")
def mixed_runs(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    folder = tmp_path_factory.mktemp("spec")
    return build_store(Path(folder) / "mixed.duckdb", "mixed").runs_frame()


@pytest.mark.parametrize("query", QUERIES, ids=[json.dumps(q) for q in QUERIES])
def test_cached_spec_equals_the_fresh_chart(
    mixed_runs: pd.DataFrame, query: dict[str, Any]
) -> None:
    # Twice: the first call builds the structure, the second reuses it.
    for _ in range(2):
        fresh, cached = _both(mixed_runs, query)
        fresh_text, fresh_data = _canonical(fresh)
        cached_text, cached_data = _canonical(cached)
        assert cached_text == fresh_text
        pd.testing.assert_frame_equal(cached_data, fresh_data)


def test_every_query_after_every_other_still_matches(mixed_runs: pd.DataFrame) -> None:
    """A shape seen under one view never leaks into another view's chart."""
    cache._shapes.clear()
    for query in QUERIES + QUERIES[::-1]:
        fresh, cached = _both(mixed_runs, query)
        assert _canonical(cached)[0] == _canonical(fresh)[0], query


def test_a_filter_change_reuses_the_structure(mixed_runs: pd.DataFrame) -> None:
    cache._shapes.clear()
    _both(mixed_runs, {})
    _both(mixed_runs, {"family": "mlp"})  # rows change; runtimes/precisions may too
    n = len(cache._shapes)
    _both(mixed_runs, {})
    assert len(cache._shapes) == n  # the first view's structure was kept and reused


def test_the_cache_is_bounded(mixed_runs: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    cache._shapes.clear()
    monkeypatch.setattr(cache, "_MAX_SHAPES", 2)
    for query in QUERIES[:5]:
        _both(mixed_runs, query)
    assert len(cache._shapes) <= 2


def test_the_cached_structure_is_not_changed_by_a_caller(mixed_runs: pd.DataFrame) -> None:
    cache._shapes.clear()
    _, first = _both(mixed_runs, {})
    first["layer"].clear()
    first["usermeta"]["x"] = 1
    fresh, again = _both(mixed_runs, {})
    assert _canonical(again)[0] == _canonical(fresh)[0]


def test_a_runtime_filter_reuses_the_structure_unless_runtimes_colour_the_runs(
    tmp_path: Path,
) -> None:
    """Grouped by batch size, the runtimes present do not shape the chart; uncoloured, they do."""
    store = Store(tmp_path / "synthetic.duckdb")
    store.ingest_many(synthetic_records(400, seed=3))  # every runtime has every precision
    runs = store.runs_frame(status="ok")
    cache._shapes.clear()
    _both(runs, {})
    n = len(cache._shapes)
    fresh, cached = _both(runs, {"rt": "ort"})
    assert len(cache._shapes) == n  # the batch-size view's structure, reused
    assert _canonical(cached)[0] == _canonical(fresh)[0]
    _both(runs, {"by": "none"})
    m = len(cache._shapes)
    fresh, cached = _both(runs, {"by": "none", "rt": "ort"})
    assert len(cache._shapes) == m + 1  # the runtime colours' legend changed
    assert _canonical(cached)[0] == _canonical(fresh)[0]
