"""The Frontier explorer in headless Chromium: pick metrics, group by runtime, click a point."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paretoscope.analysis.selection import dominated_by, frontier_points
from paretoscope.views import FrontierView
from tests.app_pages.catalogue import build_store
from tests.browser.conftest import Server, start_server, stop_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Any]]:
    folder = tmp_path_factory.mktemp("explore")
    store = build_store(folder / "mixed.duckdb", "mixed")
    server = start_server(store.path, folder / "streamlit.log")
    yield server, store
    stop_server(server)


def _choose(page: Any, label: str, option: str) -> None:
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label).first
    box.locator("input").click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option).first.click()


def test_two_metrics_grouped_by_runtime_then_click_a_point(
    mixed: tuple[Server, Any], page: Any, tmp_path: Path
) -> None:
    server, store = mixed
    page.goto(server.url, wait_until="domcontentloaded")
    page.locator(".vega-embed svg").first.wait_for(timeout=30_000)
    # Pick two metrics: peak memory on x, accuracy on y (already y), then group by runtime.
    _choose(page, "x axis", "Peak memory (MB)")
    page.wait_for_function("location.search.includes('x=peak_mem_mb')", timeout=30_000)
    _choose(page, "Group and colour by", "Runtime")
    page.wait_for_function("location.search.includes('by=runtime')", timeout=30_000)
    page.get_by_text("2 groups by runtime").wait_for(timeout=30_000)
    # Two frontiers: one step line per runtime.
    page.wait_for_function(
        "document.querySelectorAll('.vega-embed svg g.mark-line.role-mark path').length == 2",
        timeout=30_000,
    )
    svg = page.locator(".vega-embed svg").first
    assert "Peak memory (MB, lower is better)" in (svg.text_content() or "")

    # Click a dominated run: the page shows it and the frontier runs that dominate it.
    view = FrontierView(x="peak_mem_mb", by="runtime")
    fp = frontier_points(store.runs_frame(), view)
    victim = str(fp.points.loc[~fp.points["on_frontier"], "run_id"].iloc[0])
    expected = set(dominated_by(fp, victim)["model"])
    assert expected
    target = page.locator(f'.vega-embed svg path[aria-label*="{victim}"]').last
    target.click(force=True)
    page.wait_for_function(f"location.search.includes('sel={victim}')", timeout=30_000)
    page.get_by_text("Selected run").wait_for(timeout=30_000)
    line = page.locator('[data-testid="stMarkdownContainer"]').filter(has_text="Dominated by").first
    line.wait_for(timeout=30_000)
    text = line.inner_text()
    assert f"Dominated by {len(expected)} frontier run" in text
    for model in expected:
        assert model in text
    page.screenshot(path=str(tmp_path / "explore.png"), full_page=True)
    assert page.console_errors == []


def test_compare_and_run_detail_pages_render(mixed: tuple[Server, Any], page: Any) -> None:
    server, store = mixed
    ids = store.runs_frame()["run_id"].astype(str).tolist()[:2]
    page.goto(f"{server.url}/compare?run={ids[0]}&run={ids[1]}", wait_until="domcontentloaded")
    page.get_by_text("Speed-up is baseline latency").wait_for(timeout=30_000)
    page.get_by_text("Frontier shift between two groups").wait_for(timeout=30_000)
    page.goto(f"{server.url}/run?run={ids[0]}", wait_until="domcontentloaded")
    page.get_by_text("Configuration and provenance").wait_for(timeout=30_000)
    page.locator(".vega-embed svg").first.wait_for(timeout=30_000)  # the latency distribution
    # A deep link makes Streamlit's client probe <page>/_stcore/health and host-config
    # first (404) before the root ones: that is Streamlit's, not ours (/runs does it too).
    errors = [e for e in page.console_errors if "status of 404" not in e]
    assert errors == []
