"""The Frontier in headless Chromium over runs measured here plus the imported GPU example.

Imported runs are marked in the chart itself (an outline with a legend entry)
and named in the tooltip; error bars are drawn. Screenshots go to
``$PARETOSCOPE_SHOTS`` (default: the test's tmp folder) for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paretoscope.present.display import IMPORTED
from paretoscope.profiling.examples import import_example
from store import Store
from tests.browser.conftest import Server, start_server, stop_server
from tests.factories import make_record

pytestmark = [pytest.mark.browser, pytest.mark.slow]

_SYMBOLS = ".vega-embed svg g.mark-symbol.role-mark path"


@pytest.fixture(scope="module")
def mixed_origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("trust")
    store = Store(folder / "trust.duckdb")
    import_example(store, "h100")
    store.ingest_many(
        make_record(model=f"here-{i}", latency_ms=0.004 + 0.002 * i, accuracy=0.95 + 0.01 * i)
        for i in range(4)
    )
    server = start_server(store.path, folder / "streamlit.log")
    yield server
    stop_server(server)


def _tables_drawn(page: Any, n: int) -> None:
    """Wait until at least ``n`` data frames have drawn their grid and the script has finished."""
    page.wait_for_function(
        "[...document.querySelectorAll('[data-testid=\"stDataFrame\"]')]"
        f".filter(e => e.querySelector('canvas')).length >= {n}",
        timeout=30_000,
    )
    page.wait_for_function(
        "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000
    )
    page.wait_for_timeout(1000)  # the grids paint their cells a frame after their canvas


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PARETOSCOPE_SHOTS", str(tmp_path)))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_imported_runs_are_marked_in_the_chart_legend_and_tooltip(
    mixed_origin: Server, page: Any, tmp_path: Path
) -> None:
    page.goto(mixed_origin.url, wait_until="domcontentloaded")
    chart = page.locator(".vega-embed svg").first
    chart.wait_for(timeout=30_000)
    page.wait_for_function(f"document.querySelectorAll('{_SYMBOLS}').length > 100", timeout=30_000)
    legend = chart.text_content() or ""
    assert "Origin" in legend and IMPORTED in legend
    # The outline layer: one square per imported run drawn (its description names the origin),
    # plus the same words in each imported run's tooltip on the click layer.
    outlined = page.locator(f'{_SYMBOLS}[aria-label*="{IMPORTED}"]').count()
    assert outlined >= 2 * 100
    # Error bars: one rule per run and axis with an interval (latency and accuracy).
    assert page.locator(".vega-embed svg g.mark-rule.role-mark line").count() >= 2 * 100
    page.screenshot(path=str(_shots(tmp_path) / "frontier-default.png"), full_page=True)
    # The tooltip of an imported run says so, with its host.
    target = page.locator(f'{_SYMBOLS}[aria-label*="Origin: {IMPORTED}"]').last
    target.hover(force=True)
    tip = page.locator("#vg-tooltip-element")
    tip.wait_for(state="visible", timeout=10_000)
    text = tip.inner_text()
    assert "Origin" in text and IMPORTED in text and "vm" in text
    assert "within one process" in text
    page.screenshot(path=str(_shots(tmp_path) / "frontier-tooltip.png"))
    assert page.console_errors == []


def test_gpu_memory_view_names_the_memory_source(
    mixed_origin: Server, page: Any, tmp_path: Path
) -> None:
    page.goto(
        f"{mixed_origin.url}/?x=peak_mem_mb&dev=cuda:0&by=none", wait_until="domcontentloaded"
    )
    chart = page.locator(".vega-embed svg").first
    chart.wait_for(timeout=30_000)
    page.get_by_text("32 runs without Peak memory").first.wait_for(timeout=30_000)
    page.wait_for_function(f"document.querySelectorAll('{_SYMBOLS}').length > 40", timeout=30_000)
    target = page.locator(f'{_SYMBOLS}[aria-label*="Memory source"]').last
    target.hover(force=True)
    tip = page.locator("#vg-tooltip-element")
    tip.wait_for(state="visible", timeout=10_000)
    assert "torch-allocator" in tip.inner_text()
    page.screenshot(path=str(_shots(tmp_path) / "frontier-gpu-memory.png"), full_page=True)
    assert page.console_errors == []


def test_methodology_and_run_detail_say_what_each_run_rests_on(
    mixed_origin: Server, page: Any, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1400, "height": 2200})  # the whole page in one shot
    page.goto(f"{mixed_origin.url}/methodology", wait_until="domcontentloaded")
    page.get_by_text("What this store's runs were measured with").wait_for(timeout=30_000)
    page.get_by_text("148 runs (4 measured here, 144 imported) on 2 hosts").wait_for(timeout=30_000)
    page.get_by_text("Every run: memory source, budget").wait_for(timeout=30_000)
    page.get_by_text("How it is measured").wait_for(timeout=30_000)  # the script's end
    _tables_drawn(page, 3)
    page.screenshot(path=str(_shots(tmp_path) / "methodology.png"), full_page=True)
    store = Store(mixed_origin.store_path)
    runs = store.runs_frame()
    ort_gpu = runs[(runs["device"] == "cuda:0") & (runs["runtime"] == "ort")]["run_id"].iloc[0]
    page.goto(f"{mixed_origin.url}/run?run={ort_gpu}", wait_until="domcontentloaded")
    page.get_by_text("Configuration and provenance").wait_for(timeout=30_000)
    page.get_by_text("95% CI of p50, within one process").wait_for(timeout=30_000)
    _tables_drawn(page, 3)
    page.screenshot(path=str(_shots(tmp_path) / "run-detail-ort-cuda.png"), full_page=True)
    errors = [e for e in page.console_errors if "status of 404" not in e]
    assert errors == []
