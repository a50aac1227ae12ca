"""A store of language models in headless Chromium: perplexity against decode tokens/s.

The store is real (DuckDB) and its runs synthetic (``tests.lm_store``); the
Frontier opens on perplexity against decode tokens/s by itself, since no run
has an accuracy. The screenshot goes to ``$PARETOSCOPE_SHOTS`` (default: the
test's tmp folder) as ``frontier-lm.png``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from store import Store
from tests.browser.conftest import REPO, start_server, stop_server
from tests.lm_store import lm_records


def test_frontier_of_language_models_in_a_browser(page: Any, tmp_path: Path) -> None:
    records = lm_records()
    store = Store(tmp_path / "lm.duckdb")
    store.ingest_many(records)
    env = {
        "PYTHONPATH": str(REPO),
    }
    server = start_server(store.path, tmp_path / "server.log", extra_env=env)
    try:
        page.goto(server.url, wait_until="domcontentloaded")
        chart = page.locator(".vega-embed svg").first
        chart.wait_for(timeout=60_000)
        selector = ".vega-embed svg g.mark-symbol.role-mark path"
        page.wait_for_function(
            f"document.querySelectorAll('{selector}').length >= {len(records)}", timeout=30_000
        )
        text = chart.text_content() or ""
        assert "Decode tokens/s (tokens/s, higher is better" in text
        assert "Perplexity (lower is better" in text
        assert "x=decode_tokens_per_s" in page.url and "y=perplexity" in page.url
        # The hostile model name is shown as text, never as live markup.
        assert page.locator("img[src*='evil.example']").count() == 0
        shots = Path(os.environ.get("PARETOSCOPE_SHOTS", str(tmp_path)))
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "frontier-lm.png"), full_page=True)
        # The scaling view: TTFT against prompt length, one line per model variant.
        page.goto(f"{server.url}/?x=dim_prompt_len&y=ttft_ms_p50", wait_until="domcontentloaded")
        sweep = page.locator(".vega-embed svg").first
        sweep.wait_for(timeout=60_000)
        page.get_by_text("Prompt length (tokens)").first.wait_for(timeout=30_000)
        lines = ".vega-embed svg g.mark-line.role-mark path"
        page.wait_for_function(f"document.querySelectorAll('{lines}').length >= 4", timeout=30_000)
        assert "TTFT p50 (ms, lower is better" in (sweep.text_content() or "")
        page.screenshot(path=str(shots / "sweep-lm.png"), full_page=True)
        assert page.console_errors == []
    finally:
        stop_server(server)
