"""Decide in Chromium: the page gives the CLI's answer, its link rebuilds it in a fresh browser,
and the downloaded HTML report opens offline with no script or console errors."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from paretoscope.cli import main
from paretoscope.core.decision import Constraint, Decision, Objective, Where
from paretoscope.profiling.examples import import_example
from paretoscope.views import DecideView, query_string
from store import Store
from tests.browser.conftest import Server, start_server, stop_server
from tests.factories import make_record

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SHOTS = Path(os.environ.get("PARETOSCOPE_SHOTS", "/tmp/shots-decide"))
HOSTILE = "<img src=x onerror=alert(1)>**bold**"
ARGV = [
    "--where=device_name=NVIDIA H100 80GB HBM3",
    "--require=latency_ms_p99<=0.2",
    "--require=accuracy>=0.97",
    "--maximize=throughput_per_s",
]
DECISION = Decision(
    require=(Constraint.parse("latency_ms_p99<=0.2"), Constraint.parse("accuracy>=0.97")),
    where=(Where("device_name", "NVIDIA H100 80GB HBM3"),),
    objective=Objective("throughput_per_s", "max"),
)
SYMBOLS = ".vega-embed svg g.mark-symbol.role-mark path"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("decide-browser")
    store = Store(folder / "s.duckdb")
    import_example(store, "h100")
    # A run whose model name is markup: the page and the report must show it as text.
    store.ingest_many([make_record(model=HOSTILE, latency_ms=0.01, accuracy=0.99)])
    srv = start_server(store.path, folder / "streamlit.log")
    yield srv
    stop_server(srv)


def _cli_answer(store_path: Path) -> str:
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        assert main(["decide", "--store", str(store_path), "--format", "json", *ARGV]) == 0
    return str(json.loads(out.getvalue())["recommended"]["run_id"])


def _recommended(page: Any) -> str:
    card = page.get_by_text("Recommended run:").first
    card.wait_for(timeout=90_000)
    code = page.locator('[data-testid="stMarkdownContainer"] p:has-text("Recommended run:") code')
    return (code.first.text_content() or "").strip()


def _wait_for_chart(page: Any) -> None:
    page.wait_for_function(f"document.querySelectorAll('{SYMBOLS}').length > 0", timeout=90_000)


def test_page_link_and_report_agree_with_the_cli(browser: Any, server: Server) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    expected = _cli_answer(server.store_path)
    qs = query_string(DecideView(DECISION).to_query())
    errors: list[str] = []

    alice_ctx = browser.new_context(viewport={"width": 1400, "height": 1100}, accept_downloads=True)
    alice = alice_ctx.new_page()
    alice.on("pageerror", lambda e: errors.append(str(e)))
    alice.goto(f"{server.url}/decide?{qs}", wait_until="domcontentloaded")
    assert _recommended(alice) == expected
    _wait_for_chart(alice)
    alice.screenshot(path=str(SHOTS / "decide-page.png"), full_page=True)
    for i, heading in enumerate(("Candidates", "Decision report")):
        alice.get_by_text(heading, exact=True).first.scroll_into_view_if_needed()
        alice.screenshot(path=str(SHOTS / f"decide-page-{i + 2}.png"))

    # The share panel's link rebuilds the decision in a fresh browser context.
    alice.get_by_text("Share this view").first.click()
    code = alice.locator('[data-testid="stCode"] code').first
    code.wait_for(timeout=30_000)
    link = (code.text_content() or "").strip()
    assert "/decide?" in link and "req=latency_ms_p99" in link
    bob_ctx = browser.new_context(viewport={"width": 1400, "height": 1100})
    bob = bob_ctx.new_page()
    bob.on("pageerror", lambda e: errors.append(str(e)))
    bob.goto(link, wait_until="domcontentloaded")
    assert _recommended(bob) == expected
    _wait_for_chart(bob)
    bob.screenshot(path=str(SHOTS / "decide-link.png"), full_page=True)
    bob_ctx.close()

    # The reports: Markdown names the answer; HTML opens offline without errors.
    with alice.expect_download(timeout=90_000) as md_info:
        alice.get_by_role("button", name="Decision report (Markdown)").click()
    md = Path(md_info.value.path()).read_text(encoding="utf-8")
    assert "# Decision report" in md and expected in md
    with alice.expect_download(timeout=90_000) as html_info:
        alice.get_by_role("button", name="Decision report (HTML, offline)").click()
    report = SHOTS / "decision-report.html"
    html_info.value.save_as(str(report))
    alice_ctx.close()
    text = report.read_text(encoding="utf-8")
    assert expected in text and "<img src=x" not in text
    _open_offline(browser, report, expected)
    assert errors == []


def _open_offline(browser: Any, report: Path, expected: str) -> None:
    context = browser.new_context(offline=True, viewport={"width": 1300, "height": 1000})
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
        page.goto(report.as_uri(), wait_until="load")
        _wait_for_chart(page)
        assert expected in (page.locator("#answer").text_content() or "") or expected in (
            page.content()
        )
        assert page.locator("img").count() == 0  # the hostile name stayed text
        page.screenshot(path=str(SHOTS / "decide-report-offline.png"), full_page=True)
    finally:
        context.close()
    assert blocked == [], f"the report tried to fetch {blocked}"
    assert errors == []


def test_editing_a_limit_rewrites_the_link_and_the_answer(page: Any, server: Server) -> None:
    page.goto(f"{server.url}/decide?req=latency_ms_p99%3C%3D0.2&obj=max%3Athroughput_per_s",
              wait_until="domcontentloaded")  # fmt: skip
    _recommended(page)
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    # The constraint table's first row, Limit column: select it, open the editor, type.
    page.mouse.click(box["x"] + box["width"] * 0.85, box["y"] + 52)
    page.keyboard.press("Enter")
    page.wait_for_timeout(700)
    page.keyboard.press("Control+a")
    page.keyboard.type("0.1", delay=80)
    page.keyboard.press("Enter")
    page.wait_for_function("location.search.includes('%3D0.1')", timeout=60_000)
    page.get_by_text("latency_ms_p99 ≤ 0.1").first.wait_for(timeout=60_000)
    argv = ["--require=latency_ms_p99<=0.1", "--maximize=throughput_per_s"]
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        main(["decide", "--store", str(server.store_path), "--format", "json", *argv])
    expected = json.loads(out.getvalue())["recommended"]["run_id"]
    assert _recommended(page) == expected
    page.screenshot(path=str(SHOTS / "decide-edited.png"))
    # A deep link makes Streamlit's client probe <page>/_stcore/health and host-config first
    # (404) before the root ones: Streamlit's, not ours (test_explore_browser says the same).
    assert [e for e in page.console_errors if "status of 404" not in e] == []
