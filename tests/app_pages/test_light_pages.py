"""Light pages (issue 13): no costly work on a plain rerun, one shared frame, a paged Runs page.

Counting calls of the real functions (a wrapper that counts, then calls them)
shows what a rerun does; the pages run in Streamlit's AppTest over real stores.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from paretoscope.present import exports
from paretoscope.ui import widgets
from paretoscope.views import RUNS_PAGE_SIZE, RunsView
from store import Store
from store.bulk import bulk_ingest
from tests.app_pages.conftest import OpenPage
from tests.app_pages.hostile import shown
from tests.synthetic import synthetic_records


def _counting(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[tuple[Any, ...]]:
    """Replace ``owner.name`` by a wrapper that records each call's arguments, then calls it."""
    calls: list[tuple[Any, ...]] = []
    real: Callable[..., Any] = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


def _param(at: AppTest, key: str) -> list[str]:
    value = at.query_params.get(key, [])
    return [value] if isinstance(value, str) else list(value)


def _texts(at: AppTest) -> str:
    return "\n".join(shown(str(e.value)) for e in [*at.markdown, *at.caption, *at.info])


def test_a_filter_rerun_builds_no_share_spec_or_fingerprint(
    small_store: Store, open_page: OpenPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    specs = _counting(monkeypatch, exports, "chart_spec")
    prints = _counting(monkeypatch, exports, "chart_fingerprint")
    tables = _counting(monkeypatch, exports, "table_csv")
    at = open_page(small_store)
    assert not at.exception, [e.value for e in at.exception]
    assert at.get("vega_lite_chart")  # a chart to share
    at.multiselect(key="frontier.runtime").set_value(["ort"])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _param(at, "rt") == ["ort"]
    # The panel is there (its link names the filter), but nothing was rendered or hashed.
    assert any("rt=ort" in c.value for c in at.code)
    assert specs == [] and prints == [] and tables == []


def test_every_rerun_gets_the_same_cached_frame_object(
    small_store: Store, open_page: OpenPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = _counting(monkeypatch, widgets, "filter_options")
    reads = _counting(monkeypatch, Store, "runs_frame")
    at = open_page(small_store)
    for runtime in (["ort"], ["torch"], []):
        at.multiselect(key="frontier.runtime").set_value(runtime)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    seen = [args[0] for args in frames]
    assert len(seen) >= 4
    # The very object (kept alive here, so an id cannot be reused): no copy per rerun...
    assert all(frame is seen[0] for frame in seen)
    # ...read from the store once, and never written to by a page.
    assert len([a for a in reads if a]) == 1
    assert "group" not in seen[0].columns and "on_frontier" not in seen[0].columns


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """More runs than one page of the Runs page holds (read-only for the tests)."""
    store = Store(tmp_path_factory.mktemp("light") / "big.duckdb")
    bulk_ingest(store, synthetic_records(RUNS_PAGE_SIZE + 57, seed=3))
    return store


def _table(at: AppTest) -> pd.DataFrame:
    (frame,) = at.dataframe
    value = frame.value
    assert isinstance(value, pd.DataFrame)
    return value


def test_the_runs_page_sends_one_page_and_pages_on(big_store: Store, open_page: OpenPage) -> None:
    total = RUNS_PAGE_SIZE + 57
    at = open_page(big_store, "app_pages/runs.py")
    assert not at.exception, [e.value for e in at.exception]
    assert len(_table(at)) == RUNS_PAGE_SIZE
    text = _texts(at)
    assert f"{total} of {total} runs shown" in text
    assert f"Rows 1–{RUNS_PAGE_SIZE} of {total} (page 1 of 2" in text
    assert "The download holds every row shown by the filters" in text
    labels = [b.proto.label for b in at.get("download_button")]
    assert "All rows (CSV)" in labels

    first_ids = set(_table(at)["Run"])
    at.number_input(key="runs.page").set_value(2)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _param(at, "page") == ["2"]
    second = _table(at)
    assert len(second) == 57 and not set(second["Run"]) & first_ids
    assert f"Rows {RUNS_PAGE_SIZE + 1}–{total} of {total} (page 2 of 2" in _texts(at)


def test_a_runs_link_with_a_page_opens_that_page_and_a_filter_goes_back_to_the_first(
    big_store: Store, open_page: OpenPage
) -> None:
    at = open_page(big_store, "app_pages/runs.py", query={"page": "2"})
    assert not at.exception, [e.value for e in at.exception]
    assert len(_table(at)) == 57
    at.multiselect(key="runs.runtime").set_value(["ort"])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _param(at, "page") == []  # a new filter starts at page 1
    # A page past the last shows the last; a bad value is ignored with a notice.
    past = open_page(big_store, "app_pages/runs.py", query={"page": "99"})
    assert len(_table(past)) == 57
    bad = open_page(big_store, "app_pages/runs.py", query={"page": "0"})
    assert len(_table(bad)) == RUNS_PAGE_SIZE
    assert "Ignored page=0: use a whole number from 1." in shown(
        "\n".join(str(w.value) for w in bad.warning)
    )


def test_the_full_download_holds_every_filtered_row(big_store: Store) -> None:
    # What *All rows (CSV)* sends: the filtered table, every row, not the page.
    from paretoscope.analysis.selection import select_runs
    from paretoscope.present.tables import runs_table

    frame = big_store.runs_frame(status=None)
    view, _ = RunsView.from_query({"rt": ["ort"], "page": ["2"]})
    rows = select_runs(frame, view)
    csv = exports.table_csv(runs_table(rows)).decode("utf-8")
    assert len(csv.strip().splitlines()) == len(rows) + 1
    assert view.page_bounds(len(rows), 10) == (2, -(-len(rows) // 10), 10, 20)


def test_page_bounds_clamp_to_the_last_page() -> None:
    assert RunsView().page_bounds(0) == (1, 1, 0, 0)
    assert RunsView(page=3).page_bounds(25, 10) == (3, 3, 20, 25)
    assert RunsView(page=9).page_bounds(25, 10) == (3, 3, 20, 25)
    assert RunsView(page=2).to_query() == {"page": "2"}
    assert RunsView().to_query() == {}


# -- issue 13, light pages (second pass): the chart as a dict, the Compare page's shift
# table, and a cache version that only runs change.


def test_a_frontier_filter_rerun_validates_no_altair_schema(
    small_store: Store, open_page: OpenPage, monkeypatch: pytest.MonkeyPatch
) -> None:
    import altair.utils.schemapi as schemapi
    import streamlit as st

    at = open_page(small_store)
    assert not at.exception, [e.value for e in at.exception]
    validations: list[Any] = []
    real = schemapi.SchemaBase.validate.__func__  # type: ignore[attr-defined]

    def counting(cls: Any, instance: Any, schema: Any = None) -> None:
        validations.append(cls)
        real(cls, instance, schema)

    monkeypatch.setattr(schemapi.SchemaBase, "validate", classmethod(counting))
    altair_charts = _counting(monkeypatch, st, "altair_chart")
    at.multiselect(key="frontier.runtime").set_value(["ort"])
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # The chart went out as a plain dict: Streamlit did not convert (and validate) an
    # Altair chart, and no whole chart (nor layer, nor encoding) was validated; only
    # Altair's own merging of the click selection checks its few parameter objects.
    assert altair_charts == []
    assert {c.__name__ for c in validations} <= {"SelectionParameter", "TopLevelSelectionParameter"}
    (chart,) = at.get("vega_lite_chart")
    spec = json.loads(chart.proto.spec)
    assert spec["data"] == {"name": "runs"} and spec["layer"]
    assert [d.name for d in chart.proto.datasets] == ["runs"]
    assert "pick" in {p["name"] for p in spec["params"]}  # clicking a run still selects it


def test_the_frontier_spec_as_a_dict_is_what_streamlit_makes_of_the_altair_chart() -> None:
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    from paretoscope.analysis.selection import frontier_points
    from paretoscope.present.charts import frontier_chart
    from paretoscope.present.charts.spec import vega_lite_spec
    from paretoscope.views import FrontierView

    store_runs = _synthetic_frame(400)
    for view in (FrontierView(), FrontierView(facet="runtime"), FrontierView(by="precision")):
        chart = frontier_chart(frontier_points(store_runs, view))
        theirs = _convert_altair_to_vega_lite_spec(chart)
        ours = vega_lite_spec(chart)
        (name,) = theirs.pop("datasets")
        assert theirs.pop("data") == {"name": name} and ours.pop("data") == {"name": "runs"}
        frame = ours.pop("datasets").pop("runs")
        assert frame is chart.data  # the chart's own frame, not a copy
        theirs.pop("$schema", None)
        assert json.dumps(ours, sort_keys=True) == json.dumps(theirs, sort_keys=True)
        chart.to_dict()  # and the chart is a valid Vega-Lite spec (validated here, once)


def _synthetic_frame(n: int) -> pd.DataFrame:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "s.duckdb")
        bulk_ingest(store, synthetic_records(n, seed=5))
        return store.runs_frame()


@pytest.fixture(scope="module")
def shift_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """3 000 runs: the Compare page's shift (cpu vs cuda:0) matches about 2 500 configurations."""
    store = Store(tmp_path_factory.mktemp("light2") / "shift.duckdb")
    bulk_ingest(store, synthetic_records(3000, seed=3))
    return store


def test_the_compare_page_sends_at_most_a_capped_shift_table(
    shift_store: Store, open_page: OpenPage
) -> None:
    import re

    from paretoscope.analysis.compare import frontier_shift
    from paretoscope.ui.compare import MAX_SHIFT_ROWS

    at = open_page(shift_store, "app_pages/compare.py", timeout_s=180)
    assert not at.exception, [e.value for e in at.exception]
    runs = shift_store.runs_frame()
    full = frontier_shift(runs, "device", "cpu", "cuda:0", ["latency_ms_p50", "accuracy"]).table
    assert len(full) > MAX_SHIFT_ROWS  # the store is big enough to need the cap
    tables = [t.value for t in at.dataframe]
    assert tables and max(len(t) for t in tables) <= MAX_SHIFT_ROWS
    shown_rows = max(tables, key=len)
    # The most telling rows first: the ones that move, as in the full table.
    moves = int(full["change"].isin(["moves onto", "moves off"]).sum())
    assert list(shown_rows["Change"].head(moves)) == list(full["change"].head(moves))
    text = _texts(at)
    assert re.search(rf"The first {MAX_SHIFT_ROWS:,} of {len(full):,} matched", text), text
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Every matched configuration (CSV)" in labels
    # No element of the page is large: the picker offers a capped list, the tables are capped.
    sizes = [e.proto.ByteSize() for e in _elements(at) if hasattr(e, "proto")]
    assert max(sizes) < 600_000, max(sizes)


def _elements(at: AppTest) -> list[Any]:
    out: list[Any] = []
    stack: list[Any] = [at._tree]
    while stack:
        node = stack.pop()
        children = getattr(node, "children", None)
        if isinstance(children, dict):
            stack.extend(children.values())
        else:
            out.append(node)
    return out


def test_the_shift_download_holds_every_matched_configuration(shift_store: Store) -> None:
    from paretoscope.analysis.compare import frontier_shift
    from paretoscope.ui import compare as ui

    runs = shift_store.runs_frame()
    full = frontier_shift(runs, "device", "cpu", "cuda:0", ["latency_ms_p50", "accuracy"]).table
    csv = ui._shift_csv(runs, "device", "cpu", "cuda:0", ["latency_ms_p50", "accuracy"], {})
    assert len(csv.decode("utf-8").strip().splitlines()) == len(full) + 1


def test_the_cache_version_stays_while_pages_read_and_moves_with_an_ingest(
    small_store: Store, open_page: OpenPage
) -> None:
    from tests.factories import make_record

    before = small_store.data_version()
    for page in ("app_pages/frontier.py", "app_pages/runs.py", "app_pages/compare.py",
                 "app_pages/methodology.py", "app_pages/saved_views.py"):  # fmt: skip
        at = open_page(small_store, page)
        assert not at.exception, [e.value for e in at.exception]
        at.run()
        assert small_store.data_version() == before, page
    small_store.ingest(make_record(model="late", latency_ms=0.5, accuracy=0.99))
    assert small_store.data_version() != before


def test_page_scripts_hand_streamlit_no_lambdas() -> None:
    """A lambda in a page script keeps the whole run's globals alive (``ui.later``'s docstring)."""
    import ast

    from tests.app_pages.conftest import WEBAPP, all_pages

    for page in all_pages():
        tree = ast.parse((WEBAPP / page).read_text(encoding="utf-8"))
        immediate = {  # lambdas that per_frame calls at once and does not keep
            id(arg)
            for node in ast.walk(tree)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "per_frame"
            for arg in node.args
        }
        kept = [
            node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Lambda) and id(node) not in immediate
        ]
        assert kept == [], f"{page}: lambda on line(s) {kept}; build it in paretoscope.ui.later"


def test_the_later_callables_hold_only_the_shared_frame_and_the_view(small_store: Store) -> None:
    from paretoscope.ui import later
    from paretoscope.views import FrontierView

    runs = small_store.runs_frame()
    view = FrontierView()
    build = later.frontier_table(runs, view)
    cells = [c.cell_contents for c in build.__closure__ or ()]
    assert len(cells) == 2 and any(c is runs for c in cells) and any(c is view for c in cells)
    assert build.__globals__ is vars(later)
    assert len(build()) == len(runs)


def test_on_canvas_sets_the_renderer_only_from_the_threshold() -> None:
    from paretoscope.present.charts.spec import CANVAS_FROM, on_canvas

    svg: dict[str, Any] = {
        "mark": "point",
        "usermeta": {"embedOptions": {"renderer": "svg", "actions": False}},
    }
    assert on_canvas(svg, CANVAS_FROM - 1) is svg
    canvas = on_canvas(svg, CANVAS_FROM)
    assert canvas["usermeta"] == {"embedOptions": {"renderer": "canvas", "actions": False}}
    assert svg["usermeta"]["embedOptions"]["renderer"] == "svg"  # the input is left alone
    assert on_canvas({"mark": "point"}, CANVAS_FROM)["usermeta"] == {
        "embedOptions": {"renderer": "canvas"}
    }


def _chart_spec(at: AppTest) -> dict[str, Any]:
    (chart,) = at.get("vega_lite_chart")
    spec: dict[str, Any] = json.loads(chart.proto.spec)
    return spec


def test_the_frontier_draws_many_runs_on_a_canvas_and_few_as_svg(
    small_store: Store, shift_store: Store, open_page: OpenPage
) -> None:
    few = open_page(small_store)
    assert not few.exception, [e.value for e in few.exception]
    # A small chart stays SVG (its marks in the DOM, as the browser tests read them).
    assert _chart_spec(few)["usermeta"]["embedOptions"]["renderer"] == "svg"
    many = open_page(shift_store)
    assert not many.exception, [e.value for e in many.exception]
    spec = _chart_spec(many)
    assert spec["usermeta"]["embedOptions"]["renderer"] == "canvas"
    (chart,) = many.get("vega_lite_chart")
    (data,) = chart.proto.datasets
    assert data.name == "runs"
    # Every run of the view drawn (2 964, under MAX_MARKS), as before: only the surface moved.
    import pyarrow as pa

    from paretoscope.analysis.selection import frontier_points
    from paretoscope.views import FrontierView

    drawn = pa.ipc.open_stream(data.data.data).read_all().to_pandas()
    fp = frontier_points(shift_store.runs_frame(), FrontierView())
    assert set(drawn["run_id"].dropna().astype(str)) == set(fp.points["run_id"].astype(str))
    # The same chart otherwise: its layers and its click selection.
    assert spec["layer"] and "pick" in {p["name"] for p in spec["params"]}
