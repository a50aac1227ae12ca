"""Sharing in headless Chromium: exported HTML renders offline; a copied link rebuilds a view."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from paretoscope.analysis.selection import frontier_points
from paretoscope.present.charts import frontier_chart
from paretoscope.present.exports import chart_html
from paretoscope.views import FrontierView
from store import Store
from tests.factories import make_record

pytestmark = [pytest.mark.browser]

SYMBOLS = ".vega-embed svg g.mark-symbol.role-mark path"


def test_exported_html_renders_with_the_network_disabled(browser: Any, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    n = 7
    store.ingest_many(
        [make_record(model=f"m{i}", latency_ms=1.0 + i, accuracy=0.9 + i / 100) for i in range(n)]
    )
    chart = frontier_chart(frontier_points(store.runs_frame(), FrontierView()))
    html = tmp_path / "chart.html"
    html.write_text(chart_html(chart), encoding="utf-8")

    context = browser.new_context(offline=True)
    blocked: list[str] = []

    def only_files(route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", only_files)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(html.as_uri(), wait_until="load")
        page.wait_for_function(
            f"document.querySelectorAll('{SYMBOLS}').length >= {n}", timeout=30_000
        )
        assert page.locator(SYMBOLS).count() >= n  # one symbol per run in each point layer
        text = page.locator(".vega-embed svg").first.text_content() or ""
        assert "Latency p50 (ms, lower is better" in text
        page.screenshot(path=str(tmp_path / "offline.png"))
    finally:
        context.close()
    assert blocked == [], f"the exported HTML tried to fetch {blocked}"
    assert errors == []
