"""Roles in headless Chromium: with a profiler token set, a session without it is a viewer.

It cannot upload, run, cancel, import or delete, but browses and shares; a wrong
token is refused; the right one, entered once, makes the session a profiler.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paretoscope.core.access import TOKEN_ENV
from paretoscope.jobs import queue as jobs
from store import Store
from store.saved_views import save_view
from tests.browser.conftest import REPO, Server, start_server, stop_server
from tests.factories import make_record

pytestmark = [pytest.mark.browser]

TOKEN = "browser-test-profiler-token"
ROLE_NEEDED = "needs the profiler role"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    store = Store(tmp_path / "team.duckdb")
    store.ingest_many(
        [make_record(model=f"m{i}", latency_ms=1.0 + i, accuracy=0.9 + i / 100) for i in range(4)]
    )
    jobs.submit_job(store, {"model_path": "/gone.onnx"}, title="someone's job", submitted_by="a")
    save_view(store, name="team view", page="", query={})
    # PYTHONPATH: the server imports this checkout (a worktree), not the venv's editable one.
    env = {TOKEN_ENV: TOKEN, "PYTHONPATH": str(REPO)}
    srv = start_server(store.path, tmp_path / "streamlit.log", env)
    yield srv
    stop_server(srv)


def open_page(page: Any, server: Server, name: str, heading: str) -> None:
    page.get_by_role("link", name=name).first.click()
    page.get_by_text(heading).first.wait_for(timeout=30_000)


def test_a_viewer_browses_but_cannot_act_until_the_token_is_entered(
    page: Any, server: Server
) -> None:
    page.goto(server.url, wait_until="domcontentloaded")
    sidebar = page.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("Viewer. Enter the profiler token").wait_for(timeout=30_000)
    page.locator(".vega-embed svg").first.wait_for(timeout=30_000)  # the Frontier chart
    page.get_by_text("Share this view").first.click()
    page.get_by_role("button", name="Save view").first.wait_for(timeout=10_000)

    open_page(page, server, "Profile", "Profile a model")
    page.get_by_text("someone's job").first.wait_for(timeout=30_000)
    page.get_by_text(f"Uploading and profiling a model {ROLE_NEEDED}").wait_for(timeout=10_000)
    assert page.locator("[data-testid='stFileUploader']").count() == 0
    assert page.get_by_role("button", name="Cancel").count() == 0

    open_page(page, server, "Import & export", "Import and export runs")
    page.get_by_text(f"Importing a bundle {ROLE_NEEDED}").wait_for(timeout=10_000)
    assert page.get_by_role("button", name="Import").count() == 0
    assert page.locator("[data-testid='stFileUploaderDropzone'] button").first.is_disabled()

    open_page(page, server, "Saved views", "Saved views")
    page.get_by_text("team view").first.wait_for(timeout=10_000)
    assert page.get_by_text("Rename or delete").count() == 0

    token_box = sidebar.get_by_label("Profiler token")
    token_box.fill("guess-the-token-please")
    sidebar.get_by_role("button", name="Unlock").click()
    sidebar.get_by_text("Wrong token").wait_for(timeout=10_000)
    assert page.get_by_text("Rename or delete").count() == 0

    token_box.fill(TOKEN)
    sidebar.get_by_role("button", name="Unlock").click()
    sidebar.get_by_text("Profiler (token entered in this session)").wait_for(timeout=10_000)
    page.get_by_text("Rename or delete").first.wait_for(timeout=10_000)
    assert TOKEN not in page.content()

    open_page(page, server, "Profile", "Profile a model")
    page.get_by_role("button", name="Cancel").first.wait_for(timeout=30_000)
    assert page.locator("[data-testid='stFileUploader']").count() >= 1
    assert page.console_errors == []
