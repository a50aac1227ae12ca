"""A copied link rebuilds the same view in a fresh browser: chart, grouping, filters, selection."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from store import Store
from tests.browser.conftest import Server, start_server, stop_server
from tests.factories import make_record

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SYMBOLS = ".vega-embed svg g.mark-symbol.role-mark path"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("share-link")
    store = Store(folder / "s.duckdb")
    records = []
    for i in range(4):
        for prec, factor in (("fp32", 1.0), ("int8", 0.6)):
            records.append(
                make_record(
                    model=f"mlp-{i}",
                    precision=prec,
                    runtime="ort" if i % 2 else "torch",
                    latency_ms=(1.0 + i) * factor,
                    accuracy=0.90 + i / 50 - (0.01 if prec == "int8" else 0),
                    peak_mem_mb=100.0 + 20 * i * factor,
                )
            )
    records.append(make_record(model="cnn", family="cnn", latency_ms=9.0, accuracy=0.99))
    store.ingest_many(records)
    srv = start_server(store.path, folder / "streamlit.log")
    yield srv
    stop_server(srv)


def _wait_for_chart(page: Any) -> None:
    page.locator(".vega-embed svg").first.wait_for(timeout=60_000)
    page.wait_for_function(f"document.querySelectorAll('{SYMBOLS}').length > 0", timeout=60_000)


def _share_panel(page: Any) -> tuple[str, str]:
    """Open the share panel; return (the link in its box, the chart fingerprint)."""
    page.get_by_text("Share this view").first.click()
    code = page.locator('[data-testid="stCode"] code').first
    code.wait_for(timeout=30_000)
    caption = page.get_by_text("Chart fingerprint").first
    caption.wait_for(timeout=30_000)
    m = re.search(r"fingerprint ([0-9a-f]{12})", caption.text_content() or "")
    assert m, caption.text_content()
    return (code.text_content() or "").strip(), m.group(1)


def _state(page: Any) -> dict[str, Any]:
    """What the page shows: chart text (axes, legends), symbol positions, selection."""
    svg = page.locator(".vega-embed svg").first
    marks = sorted(
        page.eval_on_selector_all(SYMBOLS, "els => els.map(e => e.getAttribute('transform') || '')")
    )
    detail = page.locator('a[href*="run="]')
    return {
        "svg_text": svg.text_content(),
        "marks": marks,
        "selected_heading": page.get_by_text("Selected run").count() > 0,
        "detail_link": detail.first.get_attribute("href") if detail.count() else None,
    }


def test_a_copied_link_rebuilds_the_view_in_a_fresh_browser(
    browser: Any, server: Server, tmp_path: Path
) -> None:
    # Alice sets up a view: peak memory against accuracy, ONNX Runtime and
    # PyTorch MLPs only, one frontier per precision; then clicks a point.
    alice_ctx = browser.new_context(viewport={"width": 1400, "height": 1200})
    alice_ctx.grant_permissions(["clipboard-read", "clipboard-write"])
    alice = alice_ctx.new_page()
    errors: list[str] = []
    alice.on("pageerror", lambda e: errors.append(str(e)))
    alice.goto(f"{server.url}/?x=peak_mem_mb&fam=mlp&by=precision", wait_until="domcontentloaded")
    _wait_for_chart(alice)
    symbol = alice.locator(SYMBOLS).nth(2)
    symbol.click(force=True)
    alice.wait_for_url(re.compile(r"[?&]sel="), timeout=60_000)
    alice.get_by_text("Selected run").first.wait_for(timeout=60_000)
    _wait_for_chart(alice)
    link, alice_fp = _share_panel(alice)
    # Copy it as a person would: the code box's copy button, then read the clipboard.
    alice.locator('[data-testid="stCode"]').first.hover()
    copy = alice.locator('[data-testid="stCode"] button').first
    if copy.count():
        copy.click()
        copied = alice.evaluate("navigator.clipboard.readText()")
        assert copied.strip() == link
    before = _state(alice)
    alice.screenshot(path=str(tmp_path / "alice.png"), full_page=True)

    query = parse_qs(urlsplit(link).query)
    assert link.startswith(server.url)
    assert query["x"] == ["peak_mem_mb"] and query["fam"] == ["mlp"]
    assert query["by"] == ["precision"] and len(query["sel"]) == 1

    # Bob opens the link in a fresh browser context (no cookies, no session).
    bob_ctx = browser.new_context(viewport={"width": 1400, "height": 1200})
    bob = bob_ctx.new_page()
    bob.on("pageerror", lambda e: errors.append(str(e)))
    bob.goto(link, wait_until="domcontentloaded")
    bob.get_by_text("Selected run").first.wait_for(timeout=60_000)
    _wait_for_chart(bob)
    bob_link, bob_fp = _share_panel(bob)
    after = _state(bob)
    bob.screenshot(path=str(tmp_path / "bob.png"), full_page=True)
    alice_ctx.close()
    bob_ctx.close()

    assert bob_fp == alice_fp, "the chart specification (with its data) differs"
    assert bob_link == link
    assert after == before
    assert before["selected_heading"] and before["detail_link"]
    assert f"run={query['sel'][0]}" in before["detail_link"]
    assert "Peak memory" in (before["svg_text"] or "")
    assert errors == []
