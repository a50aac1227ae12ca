"""Chart and table exports open as what they claim to be; links carry the view."""

from __future__ import annotations

import io
import struct
import xml.etree.ElementTree as ET

import altair as alt
import pandas as pd
import pyarrow.parquet as pq
import pytest

from paretoscope.analysis.selection import frontier_points
from paretoscope.present.charts import frontier_chart
from paretoscope.present.exports import (
    chart_fingerprint,
    chart_html,
    chart_png,
    chart_spec,
    chart_svg,
    table_csv,
    table_parquet,
)
from paretoscope.present.tables import frontier_points_table
from paretoscope.views import FrontierView, RunFilters, query_string, view_url
from store import Store
from tests.factories import make_record


@pytest.fixture(scope="module")
def chart_and_table(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[alt.TopLevelMixin, pd.DataFrame]:
    store = Store(tmp_path_factory.mktemp("exports") / "s.duckdb")
    store.ingest_many(
        [make_record(model=f"m{i}", latency_ms=1.0 + i, accuracy=0.9 + i / 100) for i in range(6)]
        + [make_record(model="q", precision="int8", runtime="torch", latency_ms=0.5, accuracy=0.8)]
    )
    fp = frontier_points(store.runs_frame(), FrontierView())
    return frontier_chart(fp), frontier_points_table(fp)


def test_png_is_a_png_of_a_sensible_size(
    chart_and_table: tuple[alt.TopLevelMixin, pd.DataFrame],
) -> None:
    png = chart_png(chart_and_table[0])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    assert 600 <= width <= 4000 and 200 <= height <= 3000


def test_svg_parses_as_xml_with_axis_titles(
    chart_and_table: tuple[alt.TopLevelMixin, pd.DataFrame],
) -> None:
    svg = chart_svg(chart_and_table[0])
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    texts = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    assert "Latency p50" in texts and "Accuracy" in texts


def test_html_is_standalone(chart_and_table: tuple[alt.TopLevelMixin, pd.DataFrame]) -> None:
    html = chart_html(chart_and_table[0], title="A <b> title")
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "<title>A &lt;b&gt; title</title>" in html
    # No script or stylesheet is fetched from elsewhere: everything is inline.
    assert "<script src=" not in html
    assert 'src="http' not in html and 'href="http' not in html
    assert "vegaEmbed" in html


def test_chart_spec_fixes_a_container_width() -> None:
    chart = (
        alt.Chart(pd.DataFrame({"a": [1]})).mark_point().encode(x="a").properties(width="container")
    )
    assert chart_spec(chart)["width"] == 900
    assert chart_spec({"mark": "point", "width": 300})["width"] == 300


def test_tables_round_trip(chart_and_table: tuple[alt.TopLevelMixin, pd.DataFrame]) -> None:
    table = chart_and_table[1]
    csv = pd.read_csv(io.BytesIO(table_csv(table)))
    assert list(csv.columns) == list(table.columns) and len(csv) == len(table)
    back = pq.read_table(io.BytesIO(table_parquet(table))).to_pandas()
    assert list(back.columns) == list(table.columns) and len(back) == len(table)
    mixed = pd.DataFrame({"v": pd.Series([1, "two", None], dtype=object)})
    assert pq.read_table(io.BytesIO(table_parquet(mixed))).column("v").to_pylist() == [
        "1", "two", None,
    ]  # fmt: skip


def test_links() -> None:
    view = FrontierView(x="peak_mem_mb", filters=RunFilters(precision=("int8", "fp32")))
    qs = query_string(view.to_query())
    assert qs == "x=peak_mem_mb&prec=fp32&prec=int8"
    url = view_url("http://lab:8501/?old=1#frag", view.to_query())
    assert url == "http://lab:8501/?x=peak_mem_mb&prec=fp32&prec=int8"
    assert (
        view_url("https://h/base/runs", {"status": ["failed"]})
        == "https://h/base/runs?status=failed"
    )
    assert view_url(None, {}) == "/"
    assert view_url("http://h/", {"fam": "a&b=c"}) == "http://h/?fam=a%26b%3Dc"


def test_fingerprint_follows_the_chart_and_its_data() -> None:
    frame = pd.DataFrame({"a": [1, 2], "b": [3, 4]})
    one = alt.Chart(frame).mark_point().encode(x="a", y="b")
    assert chart_fingerprint(one) == chart_fingerprint(one.to_dict())
    assert chart_fingerprint(one) == chart_fingerprint(
        alt.Chart(frame).mark_point().encode(x="a", y="b")
    )
    assert chart_fingerprint(one) != chart_fingerprint(one.encode(x="b", y="a"))
    other = alt.Chart(frame.assign(b=[3, 5])).mark_point().encode(x="a", y="b")
    assert chart_fingerprint(one) != chart_fingerprint(other)
