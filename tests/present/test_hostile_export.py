"""The standalone HTML export: no run field can end its script element or add markup to it."""

from __future__ import annotations

import json
import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from paretoscope.analysis.selection import frontier_points
from paretoscope.present.charts import frontier_chart
from paretoscope.present.exports import chart_html, script_json
from paretoscope.views import FrontierView
from store import Store
from tests.factories import make_record

PAYLOADS = [
    "</script><script>alert(1)</script>",
    "<!--<script>alert(2)</script>",
    "<img src=x onerror=alert(3)>",
    "]]></script>&lt;\u2028\u2029",
]


def _spec_script(html: str) -> str:
    """The body's script element, which holds the specification."""
    body = html[html.rindex("<body>") :]
    m = re.search(r"<script[^>]*>(.*?)</script>", body, re.S)
    assert m is not None
    return m.group(1)


def test_exported_html_holds_no_raw_markup_from_data(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.ingest_many(
        [
            make_record(model=p, family=p, latency_ms=1.0 + i, accuracy=0.9 + i / 100)
            for i, p in enumerate(PAYLOADS)
        ]
    )
    chart = frontier_chart(frontier_points(store.runs_frame(), FrontierView()))
    html = chart_html(chart, title=PAYLOADS[0])
    plain = chart_html(frontier_chart(frontier_points(store.runs_frame().head(0), FrontierView())))
    # The page's own elements only (the libraries' and the spec's scripts), as without data.
    assert html.count("</script") == html.count("<script") == plain.count("<script") >= 2
    body = html[html.rindex("<body>") :]
    assert "<img" not in body and "<!--" not in body
    assert "<title>&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;</title>" in html
    script = _spec_script(html)
    assert "<" not in script and ">" not in script.replace("=>", "")
    assert "\u2028" not in script and "\u2029" not in script
    # The data is all there, as the same strings once JavaScript reads the JSON.
    spec = json.loads(script.split("const spec = ", 1)[1].split(";\n", 1)[0])
    names = {v.get("model") for d in spec.get("datasets", {}).values() for v in d}
    assert set(PAYLOADS) <= names


@given(
    st.recursive(
        st.text() | st.integers() | st.none(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=10,
    )
)
def test_script_json_is_the_same_json_without_html_characters(value: object) -> None:
    out = script_json(value)
    assert not set(out) & {"<", ">", "&", "\u2028", "\u2029"}
    assert json.loads(out) == value
