"""Light pages (issue 13): no costly work on a plain rerun, one shared frame, a paged Runs page.

Counting calls of the real functions (a wrapper that counts, then calls them)
shows what a rerun does; the pages run in Streamlit's AppTest over real stores.
"""

from __future__ import annotations

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
