"""The Frontier page in headless Chromium over a store measured by the real (quick) demo."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import Server, start_server, stop_server
from tests.conftest import QuickDemo

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def demo_server(
    quick_demo: QuickDemo, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("server") / "streamlit.log"
    server = start_server(quick_demo.store.path, log)
    yield server
    stop_server(server)


def test_frontier_page_draws_the_demo_points(
    demo_server: Server, quick_demo: QuickDemo, page: Any, tmp_path: Path
) -> None:
    page.goto(demo_server.url, wait_until="domcontentloaded")
    page.get_by_text("Accuracy–efficiency frontier").wait_for(timeout=30_000)
    chart = page.locator(".vega-embed svg").first
    chart.wait_for(timeout=30_000)
    # Every run with both metrics is a symbol in the SVG (frontier layer + dominated layer).
    n_runs = len(quick_demo.store.runs_frame())
    selector = ".vega-embed svg g.mark-symbol.role-mark path"
    page.wait_for_function(
        f"document.querySelectorAll('{selector}').length >= {n_runs}", timeout=30_000
    )
    # Each run is drawn once visibly and once in the invisible click/tooltip layer on top.
    assert page.locator(selector).count() == 2 * n_runs
    # The frontier's step line is drawn.
    assert page.locator(".vega-embed svg g.mark-line.role-mark path").count() >= 1
    # Axis titles carry units and direction.
    svg_text = chart.text_content() or ""
    assert "Latency p50 (ms, lower is better" in svg_text
    assert "Accuracy (fraction, higher is better)" in svg_text
    page.screenshot(path=str(tmp_path / "frontier.png"), full_page=True)
    assert page.console_errors == []


def test_a_link_with_a_metric_opens_that_view(demo_server: Server, page: Any) -> None:
    page.goto(f"{demo_server.url}/?x=peak_mem_mb", wait_until="domcontentloaded")
    page.locator(".vega-embed svg").first.wait_for(timeout=30_000)
    page.get_by_text("Peak memory (MB, lower is better)").first.wait_for(timeout=30_000)
    assert page.console_errors == []
