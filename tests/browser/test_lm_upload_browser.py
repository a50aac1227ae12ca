"""A user profiles their own causal LM from the browser: a zipped folder in, an LM frontier out.

The zip is a real tiny GPT-2 saved with ``save_pretrained`` (safetensors,
a tokenizer trained here; ``tests.llm.conftest.build_tiny_gpt2``). A copy
with a ``../`` entry is refused first. The good zip goes through the
Profile page's file uploader with an evaluation text, the LM options are
set, the job runs in the background runner, and its runs are seen on the
Frontier (perplexity against decode tokens/s). Two runs (fp32
and its int8 variant) keep it short on two cores. Screenshots go to
``$PARETOSCOPE_SHOTS`` (default: the test's tmp folder).
"""

from __future__ import annotations

import os
import re
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest

from paretoscope.jobs import queue as jobs
from paretoscope.profiling import uploads
from store import Store
from tests.browser.conftest import start_server, stop_server
from tests.llm.conftest import _text, build_tiny_gpt2

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def lm_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("user-lm")
    build_tiny_gpt2(root / "my-gpt2")
    zipped = Path(shutil.make_archive(str(root / "my-gpt2"), "zip", root, "my-gpt2"))
    text = root / "held-out.txt"
    text.write_text(_text()[100_000:102_000], encoding="utf-8")
    bad = root / "bad-gpt2.zip"
    shutil.copyfile(zipped, bad)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("my-gpt2/../../escaped.txt", b"x")
    return zipped, text, bad


def _fill(page: Any, label: str, value: str) -> None:
    box = page.get_by_label(label)
    box.fill(value)
    box.press("Enter")


def test_upload_a_zipped_lm_profile_it_and_see_its_frontier(
    page: Any, lm_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    zipped, text, bad = lm_files
    shots = Path(os.environ.get("PARETOSCOPE_SHOTS", str(tmp_path)))
    shots.mkdir(parents=True, exist_ok=True)
    server = start_server(tmp_path / "lm-user.duckdb", tmp_path / "streamlit.log")
    try:
        page.goto(server.url, wait_until="domcontentloaded")
        page.get_by_role("link", name="Profile").click()
        page.get_by_text("Profile a model").first.wait_for(timeout=30_000)

        # A zip with a path-traversal entry first: refused, with the reason, and nothing kept.
        page.locator("input[type=file]").first.set_input_files(str(bad))
        page.get_by_text("refused bad-gpt2.zip").first.wait_for(timeout=60_000)
        page.get_by_text("'..' component").first.wait_for(timeout=10_000)
        page.screenshot(path=str(shots / "lm-0-refused.png"), full_page=True)
        store = Store(server.store_path)
        assert not list((store.files_dir / uploads.QUARANTINE).glob("*/*"))
        assert jobs.list_jobs(store) == []

        page.locator("input[type=file]").first.set_input_files(str(zipped))
        page.get_by_text("GPT2LMHeadModel").first.wait_for(timeout=60_000)
        page.get_by_text("Perplexity measured on").first.wait_for(timeout=10_000)
        page.get_by_text("GPT2LMHeadModel").first.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "lm-0-checked.png"), full_page=True)
        page.locator("input[type=file]").nth(1).set_input_files(str(text))
        page.get_by_text("held-out.txt").first.wait_for(timeout=30_000)
        _fill(page, "Prompt lengths (tokens)", "8")
        _fill(page, "Generated lengths (tokens, ≥ 2)", "2")
        _fill(page, "Perplexity context (tokens)", "32")
        page.locator("label").filter(has_text=re.compile(r"^int8$")).click()
        page.locator("label").filter(has_text=re.compile(r"^quick")).click()
        page.wait_for_timeout(500)  # let the last widget's rerun land before the screenshot
        page.screenshot(path=str(shots / "lm-1-form.png"), full_page=True)

        page.get_by_role("button", name="Submit").click()
        page.get_by_text("Submitted").first.wait_for(timeout=30_000)
        title = "my-gpt2.zip: fp32, int8 · batch 1 · context=32 · gen_len=2 · prompt_len=8"
        page.get_by_text(title).first.wait_for(timeout=30_000)
        # Progress in the jobs list, as for any job: a bar counting the runs, with an ETA.
        page.locator('[data-testid="stProgress"]').first.wait_for(timeout=60_000)
        page.get_by_text(re.compile(r"^\d+/\d+ — ")).first.wait_for(timeout=60_000)
        page.locator('[data-testid="stProgress"]').first.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "lm-1b-running.png"), full_page=True)
        link = page.get_by_text("See its 2 run(s) on the Frontier page")
        link.wait_for(timeout=240_000)
        link.scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "lm-2-done.png"), full_page=True)

        (job,) = jobs.list_jobs(store)
        assert job.status == "done" and job.runs_ok == 2, job.message
        runs = store.runs_frame()
        assert sorted(runs["precision"]) == ["fp32", "int8"]
        assert (runs["perplexity"] > 1).all() and (runs["decode_tokens_per_s"] > 0).all()
        assert set(runs["model"]) == {"my-gpt2", "my-gpt2 int8"}

        link.click()
        chart = page.locator(".vega-embed svg").first
        chart.wait_for(timeout=60_000)
        page.wait_for_function(
            "document.querySelectorAll('.vega-embed svg g.mark-symbol.role-mark path').length >= 2",
            timeout=30_000,
        )
        assert "Perplexity (lower is better" in (chart.text_content() or "")
        page.screenshot(path=str(shots / "lm-3-frontier.png"), full_page=True)
        assert page.console_errors == []
    finally:
        stop_server(server)
