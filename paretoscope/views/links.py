"""A view's link: its query string, joined to the address of the page that shows it.

``view_url`` joins a view's query (``View.to_query()``, documented in
docs/url.md) to the address the browser used, so the link opens the same page
with the same view on any machine that can reach the dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

__all__ = ["query_string", "view_url"]


def query_string(query: Mapping[str, str | list[str] | tuple[str, ...]]) -> str:
    """``{'rt': ['ort', 'torch'], 'x': 'peak_mem_mb'}`` -> ``rt=ort&rt=torch&x=peak_mem_mb``."""
    pairs: list[tuple[str, str]] = []
    for key, value in query.items():
        if isinstance(value, str):
            pairs.append((key, value))
        else:
            pairs.extend((key, v) for v in value)
    return urlencode(pairs)


def view_url(page_url: str | None, query: Mapping[str, Any]) -> str:
    """The link to a page's view: the page's address with the view's query string.

    ``page_url`` is the address of the page as the browser sees it (scheme,
    host, port, path; ``st.context.url``); any query or fragment it has is
    replaced. Without one (a test, an unknown proxy) the link is relative, a
    path and query to append to the dashboard's address.
    """
    qs = query_string(query)
    if not page_url:
        return "?" + qs if qs else "/"
    parts = urlsplit(page_url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", qs, ""))
