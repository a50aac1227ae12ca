"""View state of the pages as it lives in the URL; what a view selects is in ``analysis.selection``.

A view is a frozen dataclass (``views.state``) that round-trips through the
query string: ``View.from_query(params)`` never raises (a bad link falls back
to defaults and returns a notice for every parameter it ignored; the reading
is in ``views.query``) and ``View.from_query(view.to_query())[0] == view``.
Defaults are left out of the query so links stay short; lists are repeated
keys (``?rt=ort&rt=torch``). ``views.links`` turns a query into a link. The
keys are a public contract documented in ``docs/url.md``: change them only
with a CHANGELOG entry.

Pure: imports only ``paretoscope.core``; no Streamlit, DuckDB or torch.
"""

from __future__ import annotations

from paretoscope.views.decide import DECIDE_KEYS, DecideView
from paretoscope.views.links import query_string, view_url
from paretoscope.views.query import MAX_VALUE_CHARS, ORIGINS
from paretoscope.views.state import (
    COMPARE_KEYS,
    DEFAULT_BY,
    DEFAULT_X,
    DEFAULT_Y,
    DIM_KEY,
    FIELDS,
    FILTER_COLUMNS,
    FILTER_KEYS,
    FRONTIER_KEYS,
    RUN_KEYS,
    RUNS_KEYS,
    RUNS_PAGE_SIZE,
    STATUSES,
    CompareView,
    FrontierView,
    RunFilters,
    RunsView,
    RunView,
)

__all__ = [
    "COMPARE_KEYS",
    "DECIDE_KEYS",
    "DEFAULT_BY",
    "DEFAULT_X",
    "DEFAULT_Y",
    "DIM_KEY",
    "FIELDS",
    "FILTER_COLUMNS",
    "FILTER_KEYS",
    "FRONTIER_KEYS",
    "MAX_VALUE_CHARS",
    "ORIGINS",
    "RUNS_KEYS",
    "RUNS_PAGE_SIZE",
    "RUN_KEYS",
    "STATUSES",
    "CompareView",
    "DecideView",
    "FrontierView",
    "RunFilters",
    "RunView",
    "RunsView",
    "query_string",
    "view_url",
]
