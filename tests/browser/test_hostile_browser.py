"""Hostile strings in a real browser: the exported HTML runs none of them, the pages fetch nothing.

AppTest sees the Markdown a page sends; only a browser shows what the
frontend makes of it (images fetched, links, icons, scripts run). The server
imports the package this checkout's Python finds (set PYTHONPATH to a worktree
to test that one).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paretoscope.analysis.selection import frontier_points
from paretoscope.present.charts import frontier_chart
from paretoscope.present.exports import chart_html
from paretoscope.views import FrontierView
from store import Store
from tests.app_pages.hostile import EVIL, PAYLOADS, build_hostile_store
from tests.browser.conftest import Server, start_server, stop_server
from tests.factories import make_record

pytestmark = [pytest.mark.browser]

SYMBOLS = ".vega-embed svg g.mark-symbol.role-mark path"
SCRIPTS = [
    "</script><script>window.__pwned = 1; alert(1)</script>",
    "<!--<script>window.__pwned = 2; alert(2)</script>",
    '<img src=x onerror="window.__pwned = 3; alert(3)">',
    "</script><img src=x onerror=alert(4)>\u2028",
]


def test_hostile_export_runs_no_script_and_still_draws(browser: Any, tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.ingest_many(
        [
            make_record(model=p, family=p, latency_ms=1.0 + i, accuracy=0.9 + i / 100)
            for i, p in enumerate(SCRIPTS)
        ]
    )
    chart = frontier_chart(frontier_points(store.runs_frame(), FrontierView()))
    html = tmp_path / "hostile.html"
    html.write_text(chart_html(chart, title=SCRIPTS[0]), encoding="utf-8")

    context = browser.new_context(offline=True)
    page = context.new_page()
    dialogs: list[str] = []
    errors: list[str] = []

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(html.as_uri(), wait_until="load")
        page.wait_for_function(
            f"document.querySelectorAll('{SYMBOLS}').length >= {len(SCRIPTS)}", timeout=30_000
        )
        assert page.evaluate("window.__pwned") is None
        assert page.locator("body img").count() == 0
        assert page.locator("script").count() == 2  # the libraries and the chart's own
        assert page.title() == SCRIPTS[0]  # the title is text
    finally:
        context.close()
    assert dialogs == []
    assert errors == []


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Store]]:
    folder = tmp_path_factory.mktemp("hostile-browser")
    store = build_hostile_store(folder / "h.duckdb")
    server = start_server(store.path, folder / "streamlit.log")
    try:
        yield server, store
    finally:
        stop_server(server)


@pytest.mark.parametrize("where", ["runs", "views", "run_detail", "profile"])
def test_pages_fetch_nothing_and_show_hostile_text_as_text(
    page: Any, hostile_server: tuple[Server, Store], where: str
) -> None:
    server, store = hostile_server
    failed = store.runs_frame("failed")["run_id"].iloc[0]
    path, heading = {
        "runs": ("/runs", "Why runs failed"),
        "views": ("/views", "Saved views"),
        "run_detail": (f"/run?run={failed}", "The run failed"),
        "profile": ("/profile", "Jobs"),
    }[where]
    evil: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda r: evil.append(r.url) if EVIL in r.url else None)

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.goto(server.url + path)
    page.get_by_text(heading).first.wait_for(timeout=60_000)
    # The payload is on the page as the characters typed (first one on the page will do).
    # (less the invisible word joiners that break autolinks and shortcodes)
    page.wait_for_function(
        "t => document.body.innerText.replaceAll('\\u2060', '').includes(t)",
        arg=PAYLOADS[0],
        timeout=30_000,
    )
    assert page.locator(f"img[src*='{EVIL}']").count() == 0
    assert page.locator("a[href^='javascript']").count() == 0
    assert page.locator(f"a[href*='{EVIL}']").count() == 0  # no autolink either
    assert page.locator("[data-testid='stMarkdown'] img").count() == 0
    assert page.locator("span[aria-label='home icon']").count() == 0  # :material/home:
    assert page.locator(".katex").count() == 0  # $x$
    assert page.locator("[data-testid='stMarkdown'] strong", has_text="bold").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert evil == [] and dialogs == []
