"""Saved views: the views saved on this store by anyone, to open, rename or delete."""

from __future__ import annotations

import streamlit as st

from paretoscope.core.errors import InputError
from paretoscope.present.markup import markdown_text
from paretoscope.ui import access
from paretoscope.ui import dashboard as dash
from paretoscope.ui import share_panel as share
from paretoscope.ui.widgets import show_notices
from store.saved_views import SavedView, delete_view, list_views, rename_view

store = dash.current_store()
st.title("Saved views")
show_notices(share.ignored_params())
# Not cached: a view someone else saved a moment ago must be listed now.
views = list_views(store)
if not views:
    st.info(
        "**No saved views yet.** Every page's *Share this view* panel saves the view you are "
        "looking at, for everyone using this store: **live** (it shows whatever runs match "
        "when opened) or **pinned** (exactly the runs shown when it was saved)."
    )
    st.stop()
st.caption(
    f"{len(views)} saved view{'s' if len(views) != 1 else ''}, newest change first. "
    "A live view follows the store's runs; a pinned view shows only the runs it was saved with."
)
access.require_profiler("Renaming or deleting a saved view")


def _edit(view: SavedView) -> None:
    with st.expander("Rename or delete"):
        with st.form(f"views.edit.{view.view_id}", border=False):
            name = st.text_input("Name", value=view.name, max_chars=100)
            description = st.text_area("Description", value=view.description, height=68)
            c_save, c_confirm, c_delete = st.columns([1, 1.4, 1], vertical_alignment="bottom")
            save = c_save.form_submit_button("Save changes")
            confirm = c_confirm.checkbox("Yes, delete it")
            delete = c_delete.form_submit_button("Delete", type="secondary")
        if delete:
            if not confirm:
                st.warning("Tick *Yes, delete it* to delete this view.")
            elif delete_view(store, view.view_id):
                st.toast(f"Deleted the view {markdown_text(repr(view.name))}.")
                st.rerun()
            else:
                st.warning("Someone else deleted this view already.")
        elif save:
            try:
                rename_view(store, view.view_id, name, description)
            except InputError as err:
                st.error(f"Not saved: {markdown_text(err)}.")
            else:
                st.rerun()


for view in views:
    with st.container(border=True):
        c_text, c_open = st.columns([5, 1], vertical_alignment="center")
        badge = ":violet-badge[pinned]" if view.pinned else ":green-badge[live]"
        c_text.markdown(f"**{markdown_text(view.name)}** {badge}")
        if view.description:
            c_text.markdown(markdown_text(view.description, multiline=True))
        target = share.page_for(view.page)
        where = target.title if target is not None else f"/{view.page}"
        runs = f" · {len(view.run_ids or ())} runs pinned" if view.pinned else ""
        link = share.saved_view_link(view)
        c_text.caption(
            f"{where} page{runs} · saved {view.created_at[:16].replace('T', ' ')} UTC"
            f" · changed {view.updated_at[:16].replace('T', ' ')} UTC · `{link}`"
        )
        if target is None:
            c_open.caption("Its page no longer exists.")
        else:
            c_open.page_link(
                target,
                label="Open",
                icon=":material/open_in_new:",
                query_params={**view.query, share.VIEW_KEY: view.view_id},
            )
        if access.current().profiler:  # renaming and deleting are a profiler's
            _edit(view)
