"""A chart as a plain Vega-Lite dict and its data frame, for ``st.vega_lite_chart``.

``st.altair_chart`` validates the whole specification against Vega-Lite's
JSON schema on every rerun (``to_dict()``), about a quarter of a Frontier
rerun at 100 000 runs (issue 13). The charts here are built from the same
Altair code every time and are checked by the tests (``tests/present``
validates them), so the page converts them once without validation and hands
Streamlit the dict and the frame: the same specification, drawn the same way.
Pure: Altair and pandas, no Streamlit.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

__all__ = ["CANVAS_FROM", "DATASET", "on_canvas", "vega_lite_spec"]

DATASET = "runs"  # the name of a chart's top-level data set in the spec

# What Altair's default theme adds, which Streamlit's own conversion leaves out
# (it converts with the theme "none"): the sizes of a view without width or height.
_THEME_VIEW = {"continuousWidth": 300, "continuousHeight": 300}

# From this many drawn runs a chart is drawn on a canvas instead of as SVG: the browser
# builds no DOM element per mark (several per run), which at 3 000 runs was most of
# its drawing time after a filter change (issue 13). Smaller charts stay SVG.
CANVAS_FROM = 500


def vega_lite_spec(
    chart: alt.Chart | alt.LayerChart | alt.FacetChart, name: str = DATASET
) -> dict[str, Any]:
    """``chart``'s Vega-Lite spec, unvalidated, its top-level frame as the dataset ``name``.

    What ``st.altair_chart`` would send (Streamlit moves named datasets out of
    the spec into Arrow, as it does for Altair's), for ``st.vega_lite_chart(spec)``.
    ``chart`` itself is left as it was. A chart whose top-level data is not a
    frame is converted as it is.
    """
    data = getattr(chart, "data", alt.Undefined)
    frame = data if isinstance(data, pd.DataFrame) else None
    bare = chart.copy(deep=False)
    if frame is not None:
        bare.data = alt.NamedData(name=name)
    spec: dict[str, Any] = bare.to_dict(validate=False)
    if frame is not None:
        spec.setdefault("datasets", {})[name] = frame
    view = spec.get("config", {}).get("view")
    if isinstance(view, dict):
        for k, v in _THEME_VIEW.items():
            if view.get(k) == v:
                del view[k]
        if not view:
            del spec["config"]["view"]
    spec.pop("$schema", None)
    return spec


def on_canvas(
    spec: dict[str, Any], drawn: int, *, canvas_from: int = CANVAS_FROM
) -> dict[str, Any]:
    """``spec`` drawn on a canvas when it draws ``drawn >= canvas_from`` runs, else as it was.

    Sets vega-embed's ``renderer`` through ``usermeta.embedOptions`` (which
    Streamlit passes on), over the charts' own SVG choice (``svg_usermeta``:
    SVG keeps every mark in the DOM, for browser tests and exports). Same
    marks, tooltips and selection; only the browser's drawing surface changes.
    The share panel's export is built from the chart, not from this dict.
    """
    if drawn < canvas_from:
        return spec
    meta = dict(spec.get("usermeta") or {})
    meta["embedOptions"] = {**(meta.get("embedOptions") or {}), "renderer": "canvas"}
    return {**spec, "usermeta": meta}
