"""Run detail's operator profile in headless Chromium: fp32 and int8 runs of one real MLP.

The runs are measured here (ONNX Runtime on CPU, ``--op-profile``), so the
bars are real profiles; a third run's operator names are hostile and must
stay text in the table, the chart and its tooltip. Screenshots go to
``$PARETOSCOPE_SHOTS`` (default: the test's tmp folder) for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from paretoscope.core.records import OpProfile, OpTime
from store import Store
from tests.browser.conftest import Server, start_server, stop_server
from tests.factories import make_record
from tests.opprofile_records import profiled_records

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EVIL_OP = '<img src=x onerror="window.pwned=1"> **bold** [click](javascript:alert(1))'
_BARS_IN_CHART = "g.mark-rect.role-mark path"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("opprof-browser")
    fp32, int8 = profiled_records(folder / "models")
    evil = make_record(
        model="evil-ops",
        op_profile=OpProfile(
            profiler="onnxruntime profiler: node kernel time",
            iterations=10,
            ops=(OpTime(EVIL_OP, 10, 2.0, 0.8), OpTime("Relu", 10, 0.5, 0.2)),
        ),
    )
    store = Store(folder / "ops.duckdb")
    store.ingest_many([fp32, int8, evil])
    srv = start_server(store.path, folder / "streamlit.log")
    yield srv
    stop_server(srv)


def _shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("PARETOSCOPE_SHOTS", str(tmp_path)))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open_run(page: Any, server: Server, model: str) -> list[str]:
    """Open ``model``'s run in Run detail; wait for its op bars; return the bars' labels."""
    runs = Store(server.store_path).runs_frame()
    run_id = runs[runs["model"] == model]["run_id"].iloc[0]
    page.goto(f"{server.url}/run?run={run_id}", wait_until="domcontentloaded")
    page.get_by_text("Operator profile").first.wait_for(timeout=30_000)
    page.get_by_text("Configuration and provenance").wait_for(timeout=30_000)
    page.wait_for_function(
        "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=30_000
    )
    charts = page.locator(".vega-embed svg")
    page.wait_for_function(
        "document.querySelectorAll('.vega-embed svg').length >= 2", timeout=30_000
    )
    ops_chart = charts.nth(1)  # the latency histogram first, then the operator bars
    ops_chart.locator(_BARS_IN_CHART).first.wait_for(timeout=30_000)
    page.wait_for_timeout(1000)  # the grids paint their cells a frame after their canvas
    # Each bar is drawn tall enough to see (the chart's height leaves room for its axes).
    for box in (bar.bounding_box() for bar in ops_chart.locator(_BARS_IN_CHART).all()):
        assert box is not None and box["height"] >= 10, box
    return ops_chart.locator("g.role-axis-label text").all_text_contents()


@pytest.mark.parametrize("model", ["opprof-mlp", "opprof-mlp-int8"])
def test_run_detail_draws_the_op_profile_of_fp32_and_int8(
    server: Server, page: Any, tmp_path: Path, model: str
) -> None:
    page.set_viewport_size({"width": 1400, "height": 2600})  # the whole page in one shot
    labels = " ".join(_open_run(page, server, model))
    rec = Store(server.store_path).records(
        Store(server.store_path).runs_frame().query("model == @model")["run_id"]
    )[0]
    assert rec.op_profile is not None
    top = rec.op_profile.ops[0].op
    assert f"1. {top}" in labels, labels
    if model.endswith("int8"):
        assert "DynamicQuantizeMatMul" in labels or "MatMulInteger" in labels, labels
    name = f"run-detail-op-profile-{'int8' if model.endswith('int8') else 'fp32'}.png"
    page.screenshot(path=str(_shots(tmp_path) / name), full_page=True)
    assert [e for e in page.console_errors if "status of 404" not in e] == []


def test_hostile_operator_names_stay_text_in_the_chart_and_its_tooltip(
    server: Server, page: Any, tmp_path: Path
) -> None:
    labels = _open_run(page, server, "evil-ops")
    assert any(label.startswith("1. <img") for label in labels), labels  # truncated, as text
    bar = page.locator(".vega-embed svg").nth(1).locator(_BARS_IN_CHART).first
    bar.hover(force=True)
    tip = page.locator("#vg-tooltip-element")
    tip.wait_for(state="visible", timeout=10_000)
    assert EVIL_OP in tip.inner_text()
    assert tip.locator("img").count() == 0
    assert page.locator("img[src=x]").count() == 0
    assert page.evaluate("window.pwned") is None
    page.screenshot(path=str(_shots(tmp_path) / "run-detail-op-profile-hostile.png"))
    assert [e for e in page.console_errors if "status of 404" not in e] == []
