"""No string from data renders as Markdown on any page: every text field of the store is hostile.

The store is built through the real paths (bundle import, saved views, upload
quarantine, the job queue; ``tests.app_pages.hostile``); every page of the app
is opened over it, on its own and with a saved view, a failed run or a sweep
chosen, and every Markdown-rendering element (messages, titles, captions,
expander and tab labels, metrics, widget labels and helps) is checked for a
payload in live form.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from streamlit.testing.v1 import AppTest

from paretoscope.present.markup import markdown_text
from store import Store
from store.saved_views import list_views
from tests.app_pages.conftest import OpenPage, all_pages
from tests.app_pages.hostile import PAYLOADS, build_hostile_store, live_in, markdown_bodies

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return build_hostile_store(tmp_path_factory.mktemp("hostile") / "h.duckdb")


def _open(open_page: OpenPage, store: Store, page: str, query: dict[str, Any]) -> AppTest:
    at = open_page(store, page, query, timeout_s=90)
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("page", all_pages())
def test_no_page_renders_data_as_markdown(open_page: OpenPage, store: Store, page: str) -> None:
    at = _open(open_page, store, page, {})
    bodies = markdown_bodies(at)
    assert bodies, f"{page} rendered no text at all"
    assert live_in(bodies) == [], page


def test_data_shown_in_messages_is_there_as_text(open_page: OpenPage, store: Store) -> None:
    """The check above is not vacuous: the hostile strings do reach Markdown, escaped."""
    failed = store.runs_frame("failed")["run_id"].iloc[0]
    views = {v.page: v for v in list_views(store)}
    cases = [
        ("app_pages/runs.py", {}),  # failed runs' expander labels
        ("app_pages/run_detail.py", {"run": failed}),  # title and error
        ("app_pages/saved_views.py", {}),  # names and descriptions
        ("app_pages/frontier.py", {"view": views[""].view_id}),  # the saved view's banner
        ("app_pages/runs.py", {"view": views["runs"].view_id}),
        ("app_pages/profile.py", {}),  # job titles, progress and failure messages
        ("app_pages/frontier.py", {"run": failed, "bv": "1000"}),  # selected run, budget
    ]
    for page, query in cases:
        at = _open(open_page, store, page, query)
        bodies = markdown_bodies(at)
        assert live_in(bodies) == [], (page, query)
        shown = "\n".join(bodies)
        assert markdown_text(PAYLOADS[0]) in shown, (page, query)


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # shrinking whole-app runs takes minutes
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payload=st.one_of(
        st.sampled_from(PAYLOADS),
        st.text(
            alphabet=st.sampled_from(list("![]()<>&*_`#|~$:/\\\n =-+.x")), min_size=1, max_size=40
        ),
    )
)
def test_any_hostile_string_through_bundle_view_and_upload_renders_as_text(
    open_page: OpenPage, tmp_path_factory: pytest.TempPathFactory, payload: str
) -> None:
    """Every field a bundle, a saved view and an upload set holds ``payload``; none renders live."""
    # Fenced by "zq", so the raw string cannot be a piece of the pages' own text.
    payload = f"zq{payload}zq"
    store = build_hostile_store(tmp_path_factory.mktemp("payload") / "p.duckdb", payload)
    failed = store.runs_frame("failed")["run_id"].iloc[0]
    for page, query in [
        ("app_pages/runs.py", {}),
        ("app_pages/run_detail.py", {"run": failed}),
        ("app_pages/saved_views.py", {}),
        ("app_pages/profile.py", {}),
    ]:
        at = _open(open_page, store, page, query)
        bodies = markdown_bodies(at)
        assert live_in(bodies) == [], (page, payload)
        # Where the payload has anything Markdown could read, only its escaped form is shown.
        if markdown_text(payload) != payload:
            assert not [b for b in bodies if payload in b], (page, payload)
        shown = "\n".join(bodies)
        if page != "app_pages/profile.py":  # (the job list shows the payload inside a title)
            assert markdown_text(payload) in shown, (page, payload)
