"""A new user profiles their own ONNX classifier in headless Chromium, start to frontier."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from paretoscope.jobs import queue as jobs
from store import Store
from tests.browser.conftest import Server, start_server, stop_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def user_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, np.ndarray]:
    """A trained digits classifier as ONNX, and its held-out split as an ``.npz`` by input name."""
    from measure.testing import digits_split, export_onnx, train_mlp

    folder = tmp_path_factory.mktemp("user")
    x_train, y_train, x_eval, y_eval = digits_split(200)
    model = export_onnx(
        train_mlp(x_train, y_train, epochs=40), folder / "digits_mlp.onnx", x_eval[:2]
    )
    data = folder / "digits_eval.npz"
    np.savez(data, x=x_eval, labels=y_eval)
    return model, data, y_eval


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = start_server(tmp_path / "new-user.duckdb", tmp_path / "streamlit.log")
    yield srv
    stop_server(srv)


def test_upload_profile_and_see_four_measured_runs(
    server: Server, page: Any, user_files: tuple[Path, Path, np.ndarray], tmp_path: Path
) -> None:
    model, data, y_eval = user_files
    shots = tmp_path / "shots"
    shots.mkdir()
    page.goto(server.url, wait_until="domcontentloaded")
    page.get_by_role("link", name="Profile").click()
    page.get_by_text("Profile a model").first.wait_for(timeout=30_000)

    page.locator("input[type=file]").first.set_input_files(str(model))
    page.get_by_text("Parameters").first.wait_for(timeout=60_000)
    page.get_by_text("Symbolic dimensions:").first.wait_for(timeout=10_000)  # the table is a canvas
    page.locator("input[type=file]").nth(1).set_input_files(str(data))
    page.get_by_text("digits_eval.npz").first.wait_for(timeout=30_000)

    page.locator("label").filter(has_text=re.compile(r"^int8$")).click()
    batches = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Batch sizes")
    batches.locator("input").click()
    page.get_by_role("option", name="8", exact=True).click()
    page.keyboard.press("Escape")
    page.locator("label").filter(has_text=re.compile(r"^quick")).click()
    page.screenshot(path=str(shots / "1-form.png"), full_page=True)

    page.get_by_role("button", name="Submit").click()
    page.get_by_text("Submitted").first.wait_for(timeout=30_000)
    # The default of 3 repeats: each run is timed in three fresh processes.
    title = "digits_mlp.onnx: fp32, int8 · batch 1, 8 · 3 repeats · 4 run(s)"
    page.get_by_text(title).first.wait_for(timeout=30_000)
    # Watch it run: the bar counts steps (variants to make, then runs), with an ETA.
    page.locator('[data-testid="stProgress"]').first.wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"^\d+/\d+ — ")).first.wait_for(timeout=30_000)
    page.locator('[data-testid="stProgress"]').first.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "2-running.png"), full_page=True)
    link = page.get_by_text("See its 4 run(s) on the Frontier page")
    link.wait_for(timeout=150_000)
    link.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "3-done.png"), full_page=True)

    store = Store(server.store_path)
    (job,) = jobs.list_jobs(store)
    assert job.status == "done" and job.runs_ok == 4 and len(job.run_ids) == 4
    runs = store.runs_frame()
    assert sorted(zip(runs["precision"], runs["batch_size"], strict=True)) == [
        ("fp32", 1), ("fp32", 8), ("int8", 1), ("int8", 8)
    ]  # fmt: skip
    assert (runs["accuracy_origin"] == "measured").all()
    assert runs["accuracy"].between(0.5, 1.0).all()
    assert (runs["accuracy_n"] == len(y_eval)).all()

    link.click()
    page.locator(".vega-embed svg").first.wait_for(timeout=30_000)
    page.wait_for_function(
        "document.querySelectorAll('.vega-embed svg g.mark-symbol.role-mark path').length >= 4",
        timeout=30_000,
    )
    page.screenshot(path=str(shots / "4-frontier.png"), full_page=True)
    assert page.console_errors == []
