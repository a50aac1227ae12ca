"""Within-noise frontier runs, drawn by Vega in headless Chromium: hollow, with a legend entry.

The points frame carries ``noise_partner``/``noise_partner_model`` (from the
frontier analysis); here they are set on a small frame so the drawing alone is
checked, through the chart's standalone HTML export (the same spec the page
embeds). Screenshots go to ``$PARETOSCOPE_SHOTS`` (default: the test's tmp folder).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from paretoscope.analysis.selection import frontier_points
from paretoscope.present.charts import frontier_chart
from paretoscope.present.charts.frontier import WITHIN_NOISE
from paretoscope.present.display import IMPORTED
from paretoscope.present.exports import chart_html
from paretoscope.views import FrontierView
from tests.present.test_frontier_trust import _runs

pytestmark = [pytest.mark.browser]


def test_within_noise_runs_are_hollow_and_in_the_legend(page: Any, tmp_path: Path) -> None:
    fp = frontier_points(_runs(), FrontierView(by=None))
    # A chosen pairing in place of the computed one: run c within noise of run d (m4).
    fp.points["noise_partner"] = [("d" if r == "c" else None) for r in fp.points["run_id"]]
    fp.points["noise_partner_model"] = [("m4" if r == "c" else None) for r in fp.points["run_id"]]
    chart = frontier_chart(fp)
    html = tmp_path / "noise.html"
    html.write_text(chart_html(chart), encoding="utf-8")
    page.goto(html.as_uri())
    svg = page.locator(".vega-embed svg, svg.marks").first
    svg.wait_for(timeout=30_000)
    text = svg.text_content() or ""
    assert WITHIN_NOISE in text and "Frontier run" in text and IMPORTED in text
    # The within-noise run (m3, run c) is drawn with no fill; the other frontier runs are filled.
    hollow = page.locator(
        f'g.mark-symbol.role-mark path[aria-label*="Frontier run: {WITHIN_NOISE}"]'
    )
    assert hollow.count() == 1
    assert hollow.first.get_attribute("fill") in (None, "transparent", "none")
    assert hollow.first.get_attribute("stroke")
    shots = Path(os.environ.get("PARETOSCOPE_SHOTS", str(tmp_path)))
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "frontier-within-noise.png"), full_page=True)
    assert page.console_errors == []
