"""The dashboard's sharing controls: copy a link, save the view, download the chart and table.

Pages call ``share_panel(query, chart=..., table=..., run_ids=...)`` once,
below what they draw. ``app.py`` calls ``remember_navigation`` (so links and
saved views know the pages), ``saved_view_banner`` before the page (so a page
opened from a saved view says which, and a pinned one shows only its runs; see
``pinned_run_ids``) and ``ignored_params_notice`` after it: a page that never
read the URL (``binding.query_params`` or ``ignored_params``) says that it
ignored the link's parameters, so no page drops a parameter silently.
``saved_view_link`` makes a saved view's link here, not in the store, which
knows no page URL. Never imports ``measure``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import pandas as pd
import streamlit as st

from paretoscope.core.errors import InputError, StoreError
from paretoscope.present import exports as sharing
from paretoscope.present.markup import markdown_text
from paretoscope.views import view_url
from store import Store
from store.bundle import BundleFilters, bundle_bytes
from store.saved_views import VIEW_KEY, SavedView, get_view, save_view

__all__ = [
    "VIEW_KEY",
    "active_saved_view",
    "active_view_id",
    "current_page_path",
    "ignored_params",
    "ignored_params_notice",
    "mark_params_read",
    "page_for",
    "pin_runs",
    "pinned_run_ids",
    "remember_navigation",
    "saved_view_banner",
    "saved_view_link",
    "share_panel",
    "view_link",
]

_PAGES_KEY = "paretoscope.pages"
_PAGE_PATH_KEY = "paretoscope.page_path"
_ACTIVE_KEY = "paretoscope.saved_view"
_READ_KEY = "paretoscope.params_read"


def remember_navigation(pages: Sequence[Any], current: Any) -> None:
    """Keep the app's pages (by URL path) and the page now running, for links (``app.py``)."""
    st.session_state[_PAGES_KEY] = {str(p.url_path): p for p in pages}
    st.session_state[_PAGE_PATH_KEY] = str(current.url_path)


def current_page_path() -> str:
    """The URL path of the page now running ('' for the default page)."""
    return str(st.session_state.get(_PAGE_PATH_KEY, ""))


def page_for(path: str) -> Any | None:
    """The ``st.Page`` with this URL path, or None when the app has no such page (now)."""
    pages: Mapping[str, Any] = st.session_state.get(_PAGES_KEY, {})
    return pages.get(path)


def _page_url() -> str | None:
    try:
        url = st.context.url
    except Exception:  # no browser context (AppTest, bare mode)
        return None
    return url or None


def view_link(query: Mapping[str, Any]) -> str:
    """The full link to this page with ``query`` (and the open saved view, if any)."""
    full = dict(query)
    view_id = active_view_id()
    if view_id is not None:
        full[VIEW_KEY] = view_id
    return view_url(_page_url(), full)


# -- saved views in the URL ---------------------------------------------------


def saved_view_link(view: SavedView) -> str:
    """A saved view's path and query string, relative to the app's root: ``/runs?status=failed``.

    The view's page is its URL path ('' is the Frontier page); ``view=<id>`` names it.
    """
    pairs = [(k, v) for k, values in view.query.items() for v in values]
    pairs.append((VIEW_KEY, view.view_id))
    return f"/{view.page}?{urlencode(pairs)}"


def active_saved_view(store: Store) -> tuple[SavedView | None, list[str]]:
    """The saved view the URL names (``view=…``) for this page, and a notice if it is unusable."""
    raw = st.query_params.get_all(VIEW_KEY)
    if not raw:
        return None, []
    value = raw[-1]
    shown = repr(value if len(value) <= 40 else value[:40] + "…")
    saved = get_view(store, value)
    if saved is None:
        return None, [
            f"Ignored {VIEW_KEY}={shown}: no saved view has this id (it may have been "
            "deleted); showing the live data."
        ]
    if saved.page != current_page_path():
        return None, [
            f"Ignored {VIEW_KEY}={shown}: the saved view {saved.name!r} belongs to another page."
        ]
    return saved, []


def saved_view_banner(store: Store) -> Any:
    """Say which saved view this page shows (pinned or live), or why the link's one is ignored.

    Returns a placeholder for ``ignored_params_notice``, at the top of the page.
    """
    st.session_state[_READ_KEY] = False
    placeholder = st.empty()
    try:
        saved, notices = active_saved_view(store)
    except StoreError as err:
        saved, notices = None, [f"Ignored the saved view of this link: {err}"]
    st.session_state[_ACTIVE_KEY] = saved
    for notice in notices:
        st.warning(markdown_text(notice))
    if saved is None:
        return placeholder
    n = len(saved.run_ids or ())
    what = (
        f"pinned: exactly the {n} run{'s' if n != 1 else ''} visible when it was saved "
        f"({saved.updated_at[:16].replace('T', ' ')} UTC); newer runs are not shown"
        if saved.pinned
        else "live: it follows the store's current runs"
    )
    text = f"Saved view **{markdown_text(saved.name)}** — {what}."
    if saved.description:
        text += f"\n\n{markdown_text(saved.description, multiline=True)}"
    st.info(text, icon=":material/bookmark:")
    return placeholder


def active_view_id() -> str | None:
    """The id of the saved view open on this page (kept in the URL when the page rewrites it)."""
    saved = st.session_state.get(_ACTIVE_KEY)
    if isinstance(saved, SavedView) and saved.page == current_page_path():
        return saved.view_id
    return None


def mark_params_read() -> None:
    """Note that the page read its URL parameters (and so reports what it ignored)."""
    st.session_state[_READ_KEY] = True


def ignored_params_notice(placeholder: Any) -> None:
    """After a page ran: if it never read the URL, say which of the link's parameters it ignored."""
    if st.session_state.get(_READ_KEY, True):
        return
    notices = ignored_params()
    if notices:
        body = "\n".join(f"- {markdown_text(n)}" for n in notices)
        placeholder.warning(f"Some of the link could not be used.\n\n{body}")


def pinned_run_ids() -> frozenset[str] | None:
    """The run ids a pinned saved view open on this page allows; None when none is open."""
    saved = st.session_state.get(_ACTIVE_KEY)
    if isinstance(saved, SavedView) and saved.pinned and saved.page == current_page_path():
        return frozenset(saved.run_ids or ())
    return None


def pin_runs(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` restricted to the runs of the open pinned view (unchanged when none is open)."""
    ids = pinned_run_ids()
    if ids is None or "run_id" not in frame.columns:
        return frame
    return frame[frame["run_id"].isin(list(ids))]


def ignored_params(known: Sequence[str] = ()) -> list[str]:
    """A notice for each URL parameter a page without (these) keys ignores."""
    mark_params_read()
    skip = {VIEW_KEY, "embed", "embed_options", *known}
    out = []
    for key in st.query_params:
        if key not in skip:
            shown = repr(key if len(key) <= 40 else key[:40] + "…")
            out.append(f"Ignored unknown parameter {shown}: this page has no view settings.")
    return out


# -- the panel ------------------------------------------------------------------


def _download(
    col: Any, label: str, data: Callable[[], bytes | str], stem: str, fmt: str, key: str
) -> None:
    suffix, mime = sharing.EXPORT_FORMATS[fmt]
    col.download_button(
        label,
        data=data,
        file_name=f"{stem}{suffix}",
        mime=mime,
        on_click="ignore",
        key=key,
        width="stretch",
    )


Table = pd.DataFrame | Callable[[], pd.DataFrame]


def share_panel(
    query: Mapping[str, Any],
    *,
    store: Store,
    chart: Any = None,
    table: Table | None = None,
    run_ids: Sequence[str] | pd.Series | None = None,
    stem: str = "paretoscope",
    key: str = "share",
) -> None:
    """The sharing controls of a page's view, in one expander.

    ``query`` is the view's ``to_query()``; ``chart`` its Altair chart (PNG,
    SVG, HTML downloads) or a function that builds it (called only when the
    panel is open or a file is downloaded), ``table`` the table behind it (CSV, Parquet) or a
    function that builds it, and ``run_ids`` the runs visible now (a pinned
    saved view keeps them; they can also be downloaded as a result bundle).

    Nothing costly happens on a plain rerun (issue 13): the chart's
    specification and fingerprint are made only while the expander is open,
    the files only when a download button is clicked, the table only for a
    download, and the panel is a fragment, so opening it reruns only it.
    """
    _panel(query, store, chart, table, run_ids, stem, key)


@st.fragment
def _panel(
    query: Mapping[str, Any],
    store: Store,
    chart: Any,
    table: Table | None,
    run_ids: Sequence[str] | pd.Series | None,
    stem: str,
    key: str,
) -> None:
    panel = st.expander(
        "Share this view", icon=":material/share:", key=f"{key}.open", on_change="rerun"
    )
    with panel:
        st.markdown("**Link** — opens this page with exactly this view (copy it from the box):")
        st.code(view_link(query), language=None, wrap_lines=True)
        if chart is not None and panel.open:
            chart = chart() if callable(chart) else chart  # a builder: the chart only now
        if chart is not None and panel.open:
            spec = sharing.chart_spec(chart)
            st.caption(
                f"Chart fingerprint `{sharing.chart_fingerprint(spec)}`: whoever opens the "
                "link sees the same fingerprint when the chart (settings and data) is the same."
            )
        _save_form(query, store, run_ids, key)
        st.markdown("**Download**")
        cols = st.columns(6)
        if chart is not None:
            for col, fmt, label, render in (
                (cols[0], "png", "PNG", sharing.chart_png),
                (cols[1], "svg", "SVG", sharing.chart_svg),
                (cols[2], "html", "HTML", sharing.chart_html),
            ):
                _download(col, label, _chart_file(render, chart), stem, fmt, f"{key}.{fmt}")
        if table is not None:
            _download(cols[3], "CSV", _table_file(sharing.table_csv, table), stem, "csv",
                      f"{key}.csv")  # fmt: skip
            _download(cols[4], "Parquet", _table_file(sharing.table_parquet, table), stem,
                      "parquet", f"{key}.parquet")  # fmt: skip
        if run_ids is not None and len(run_ids):
            ids = run_ids
            cols[5].download_button(
                "Result bundle",
                data=lambda: bundle_bytes(store, BundleFilters(run_ids=_ids(ids)))[0],
                file_name=f"{stem}-runs.parquet",
                mime="application/vnd.apache.parquet",
                on_click="ignore",
                key=f"{key}.bundle",
                width="stretch",
                help="These runs with their provenance, for `paretoscope import` elsewhere",
            )
        st.caption(
            "Chart files are drawn from the same specification as the page (HTML opens "
            "offline); the table is the one shown above, with every run's provenance."
        )


def _ids(run_ids: Sequence[str] | pd.Series) -> tuple[str, ...]:
    return tuple(str(i) for i in run_ids)


def _chart_file(render: Callable[[Any], bytes | str], chart: Any) -> Callable[[], bytes | str]:
    return lambda: render(sharing.chart_spec(chart() if callable(chart) else chart))


def _table_file(
    render: Callable[[pd.DataFrame], bytes | str], table: Table
) -> Callable[[], bytes | str]:
    # The page's table is never changed after it is drawn: no defensive copy is needed.
    return lambda: render(table() if callable(table) else table)


def _save_form(
    query: Mapping[str, Any], store: Store, run_ids: Sequence[str] | pd.Series | None, key: str
) -> None:
    n = len(run_ids) if run_ids is not None else 0
    modes = ["live", "pinned"] if run_ids is not None else ["live"]
    labels = {
        "live": "Live: show whatever runs match when opened",
        "pinned": f"Pinned: exactly the {n} run{'s' if n != 1 else ''} shown now",
    }
    with st.form(f"{key}.save", clear_on_submit=True, border=True):
        st.markdown("**Save this view** — for everyone using this store")
        name = st.text_input("Name", key=f"{key}.name", max_chars=100)
        description = st.text_area("Description", key=f"{key}.description", height=68)
        mode = st.radio(
            "Data", modes, format_func=labels.__getitem__, key=f"{key}.mode", horizontal=True
        )
        submitted = st.form_submit_button("Save view", icon=":material/bookmark_add:")
    if not submitted:
        return
    try:
        saved = save_view(
            store,
            name=name,
            description=description,
            page=current_page_path(),
            query=query,
            pinned=mode == "pinned",
            run_ids=list(_ids(run_ids)) if mode == "pinned" and run_ids is not None else None,
        )
    except InputError as err:
        st.error(f"Not saved: {markdown_text(err)}.")
        return
    except StoreError as err:
        st.error(f"Not saved: {markdown_text(err)}")
        return
    st.success(
        f"Saved **{markdown_text(saved.name)}** ({saved.mode}). The Saved views page lists it."
    )
