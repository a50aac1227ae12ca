"""Sharing a view's chart and table as files (its link is ``paretoscope.views.view_url``).

The chart as PNG, SVG and a standalone HTML page, rendered from its
Vega-Lite specification by ``vl-convert`` (no browser, no network: the HTML
inlines the Vega JavaScript, so it opens offline); the table behind it as CSV
and Parquet. Pure: no Streamlit, DuckDB or torch.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

__all__ = [
    "EXPORT_FORMATS",
    "chart_fingerprint",
    "chart_html",
    "chart_png",
    "chart_spec",
    "chart_svg",
    "script_json",
    "table_csv",
    "table_parquet",
]

# Export format -> (file suffix, MIME type).
EXPORT_FORMATS: dict[str, tuple[str, str]] = {
    "png": (".png", "image/png"),
    "svg": (".svg", "image/svg+xml"),
    "html": (".html", "text/html"),
    "csv": (".csv", "text/csv"),
    "parquet": (".parquet", "application/vnd.apache.parquet"),
}
# PNG at twice the chart's CSS size: sharp on slides and high-density screens.
PNG_SCALE = 2.0
# Width given to a chart that fills its container on the page ("container"
# has no meaning outside a browser page).
EXPORT_WIDTH_PX = 900


def chart_spec(chart: Any) -> dict[str, Any]:
    """A Vega-Lite specification (dict) of an Altair chart or a spec, ready to render alone.

    A width of ``"container"`` (fill the page's column) becomes a fixed width:
    outside the page there is no container to fill.
    """
    spec = chart.to_dict() if hasattr(chart, "to_dict") else json.loads(json.dumps(chart))
    if not isinstance(spec, dict):
        raise TypeError("a chart specification must be a JSON object")
    if spec.get("width") == "container" or "width" not in spec:
        spec["width"] = EXPORT_WIDTH_PX
    return spec


# Altair names a chart's views after a hash and a per-process counter; the
# counter is not part of what the chart shows.
_VIEW_NAME_RE = re.compile(r"\bview_([0-9a-f]+_)?[0-9]+\b")


def chart_fingerprint(chart: Any) -> str:
    """A short hash of a chart's specification, data included: equal charts, equal fingerprints.

    Shown beside the link, so whoever opens it can see they look at the same chart.
    """
    text = json.dumps(chart_spec(chart), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(_VIEW_NAME_RE.sub("view", text).encode("utf-8")).hexdigest()[:12]


def _vl_version(spec: Mapping[str, Any]) -> str | None:
    import vl_convert as vlc

    m = re.search(r"/v(\d+)\.(\d+)", str(spec.get("$schema", "")))
    if not m:
        return None
    wanted = (int(m.group(1)), int(m.group(2)))
    known = [tuple(int(p) for p in v.split(".")) for v in vlc.get_vegalite_versions()]
    same_major = [v for v in known if v[0] == wanted[0] and v <= wanted]
    best = max(same_major) if same_major else None
    return f"{best[0]}.{best[1]}" if best else None


def chart_png(chart: Any, scale: float = PNG_SCALE) -> bytes:
    """The chart as a PNG image (``scale`` × its CSS size). Never fetches anything."""
    import vl_convert as vlc

    spec = chart_spec(chart)
    out: bytes = vlc.vegalite_to_png(
        spec, vl_version=_vl_version(spec), scale=scale, allowed_base_urls=[]
    )
    return out


def chart_svg(chart: Any) -> str:
    """The chart as an SVG document. Never fetches anything."""
    import vl_convert as vlc

    spec = chart_spec(chart)
    out: str = vlc.vegalite_to_svg(spec, vl_version=_vl_version(spec), allowed_base_urls=[])
    return out


# Characters that may not appear raw in JSON inlined in a <script> element:
# ``</script>`` or ``<!--`` in any run field would end or confuse the element
# (and run what follows it), ``&`` starts an entity in some parsers, and
# U+2028/U+2029 end a line in older JavaScript. JSON's ``\\uXXXX`` escapes mean
# the same string, so the chart is unchanged.
_SCRIPT_UNSAFE = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def script_json(value: Any) -> str:
    """``value`` as JSON that is safe inside an HTML ``<script>`` element, whatever its strings."""
    return json.dumps(value, ensure_ascii=False, default=str).translate(_SCRIPT_UNSAFE)


def _escape_html(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def chart_html(chart: Any, title: str = "Paretoscope chart") -> str:
    """A standalone HTML page that draws the chart with no network access.

    The Vega, Vega-Lite and vega-embed JavaScript is inlined (``bundle=True``)
    and the data is in the specification, so the file works offline and from
    an e-mail attachment; the tooltip keeps every run's provenance. The page's
    head (the libraries) comes from ``vl-convert`` for a chart without data;
    the specification is written here with ``script_json``, so no run field
    can end the script element.
    """
    import vl_convert as vlc

    spec = chart_spec(chart)
    version = _vl_version(spec)
    # The libraries only: their page is made for a spec that holds nothing of the data.
    frame = vlc.vegalite_to_html(
        {"$schema": spec.get("$schema", "")}, vl_version=version, bundle=True
    )
    head = frame[: frame.rindex("<body>")]
    head = head.replace("<head>", f"<head>\n<title>{_escape_html(title)}</title>", 1)
    return (
        f"{head}<body>\n"
        '    <div id="vega-chart"></div>\n'
        '    <script type="text/javascript">\n'
        "{\n"
        f"    const spec = {script_json(spec)};\n"
        f"    const opts = {script_json({'renderer': 'svg'})};\n"
        "    vegaEmbed('#vega-chart', spec, opts).catch(console.error);\n"
        "}\n"
        "    </script>\n"
        "  </body>\n"
        "</html>\n"
    )


def table_csv(table: pd.DataFrame) -> bytes:
    """The table as UTF-8 CSV; missing values are empty cells."""
    return table.to_csv(index=False).encode("utf-8")


def table_parquet(table: pd.DataFrame) -> bytes:
    """The table as Parquet (types kept; missing values are nulls)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = table.copy()
    for col in frame.columns:
        if frame[col].dtype == object:
            # Display tables mix text and numbers in object columns; Parquet
            # needs one type per column, so those become text.
            frame[col] = frame[col].map(lambda v: None if v is None or v is pd.NA else str(v))
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), sink)
    return sink.getvalue()
