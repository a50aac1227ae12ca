"""The dashboard's frame: page config, the store, the shared sidebar, and navigation.

The pages live in ``app_pages/``, not ``pages/``: Streamlit treats a folder
named ``pages`` beside the entry point as a legacy multipage app until a
session has called ``st.navigation``, so on a fresh server a link straight to
``/runs`` would run that page without this frame.

Started by ``paretoscope serve`` as ``streamlit run app.py -- --store PATH``;
``$PARETOSCOPE_STORE`` and the default location apply when no ``--store`` is
given. Never imports ``measure``: the server must not load torch.
"""

from __future__ import annotations

import sys

import streamlit as st

from paretoscope.core.errors import StoreError
from paretoscope.present.markup import markdown_text
from paretoscope.ui import access, dashboard, share_panel

st.set_page_config(page_title="Paretoscope", page_icon="📈", layout="wide")

store_path = dashboard.store_path_from_argv(sys.argv)
try:
    store = dashboard.use_store(store_path)
    ok_runs, failed_runs = dashboard.run_counts(store)
except StoreError as err:
    st.error(f"**Cannot open the store.** {markdown_text(err)}")
    st.stop()

pages = [
    st.Page(
        "app_pages/frontier.py", title="Frontier", icon=":material/scatter_plot:", default=True
    ),
    st.Page("app_pages/runs.py", title="Runs", icon=":material/table_rows:"),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare_arrows:"),
    st.Page("app_pages/decide.py", title="Decide", icon=":material/rule:"),
    st.Page("app_pages/run_detail.py", title="Run detail", icon=":material/info:", url_path="run"),
    st.Page("app_pages/profile.py", title="Profile", icon=":material/upload_file:"),
    st.Page("app_pages/methodology.py", title="Methodology", icon=":material/science:"),
    # The Saved views page keeps its URL, /views, whatever its script is called.
    st.Page(
        "app_pages/saved_views.py",
        title="Saved views",
        icon=":material/bookmarks:",
        url_path="views",
    ),
    st.Page("app_pages/data.py", title="Import & export", icon=":material/swap_vert:"),
]
page = st.navigation(pages)
share_panel.remember_navigation(pages, page)

with st.sidebar:
    st.markdown("**Paretoscope**")
    st.caption(f"Store: `{store.path}`")
    failed = f", {failed_runs} failed" if failed_runs else ""
    st.caption(f"{ok_runs} successful run{'s' if ok_runs != 1 else ''}{failed}")
    access.sidebar_panel()

notice_slot = share_panel.saved_view_banner(store)
try:
    page.run()
except StoreError as err:  # e.g. the lock held past our patience by a long writer
    st.error(f"**The store could not be read.** {markdown_text(err)}")
finally:  # also after st.stop(): say which link parameters the page ignored
    share_panel.ignored_params_notice(notice_slot)
