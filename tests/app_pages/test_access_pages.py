"""Who may do what, under AppTest: a viewer browses, shares and saves views but cannot upload,
run, cancel, import or delete; the right token makes a profiler, a wrong one is refused; with an
identity provider, the access file's mapping applies (a fake user at the ``st.user`` seam)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from paretoscope.core import access as rules
from paretoscope.jobs import queue as jobs
from paretoscope.ui import access as ui_access
from store import Store
from store.saved_views import list_views, save_view
from tests.app_pages.conftest import APP, OpenPage
from tests.app_pages.hostile import shown

TOKEN = "s3cret-profiler-token-42"
UNLOCK = "paretoscope.access.unlock"
ENTRY = "paretoscope.access.token"


@pytest.fixture
def store(small_store: Store) -> Store:
    """The small store with a queued job, a failed one and a saved view."""
    jobs.submit_job(small_store, {"model_path": "/m.onnx"}, title="queued one", submitted_by="a")
    save_view(small_store, name="team view", page="", query={})
    return small_store


def app(store: Store, monkeypatch: pytest.MonkeyPatch, page: str | None = None) -> AppTest:
    monkeypatch.setenv("PARETOSCOPE_STORE", str(store.path))
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.run()
    if page is not None:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    kinds = ("info", "warning", "error", "success", "markdown", "caption", "text")
    # As read: data in messages is escaped by present.markup.markdown_text.
    return "\n".join(shown(str(e.value)) for kind in kinds for e in getattr(at, kind))


def labels(at: AppTest) -> list[str]:
    return [b.label for b in at.button]


def uploaders(at: AppTest) -> list[Any]:
    return list(at.get("file_uploader"))


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(rules.TOKEN_ENV, TOKEN)
    monkeypatch.delenv(rules.ACCESS_ENV, raising=False)
    monkeypatch.delenv(rules.TOKEN_FILE_ENV, raising=False)
    return TOKEN


def enter(at: AppTest, value: str) -> AppTest:
    at.text_input(key=ENTRY).input(value)
    at.button(key=UNLOCK).click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_viewer_cannot_upload_run_or_cancel(
    store: Store, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app(store, monkeypatch, "app_pages/profile.py")
    assert "Viewer" in texts(at) and "needs the profiler role" in texts(at)
    assert "Enter the profiler token in the sidebar" in texts(at)
    assert uploaders(at) == []  # no model upload, so nothing to submit
    assert "Submit" not in labels(at)
    assert "queued one" in texts(at) and "Submitted by a" in texts(at)  # the jobs are listed
    assert "Cancel" not in labels(at) and "Start the job runner" not in labels(at)
    assert TOKEN not in repr(at.session_state) and TOKEN not in texts(at)


def test_viewer_cannot_import_or_delete(
    store: Store, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app(store, monkeypatch, "app_pages/data.py")
    assert "Importing a bundle needs the profiler role" in texts(at)
    (upload,) = uploaders(at)
    assert upload.proto.disabled
    assert "Import" not in labels(at)
    at = app(store, monkeypatch, "app_pages/saved_views.py")
    assert "team view" in texts(at)  # browsing the saved views is fine
    assert "Delete" not in labels(at) and "Save changes" not in labels(at)
    assert "Renaming or deleting a saved view needs the profiler role" in texts(at)
    assert [v.name for v in list_views(store)] == ["team view"]


def test_viewer_cannot_start_the_demo(
    tmp_path: Path, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app(Store(tmp_path / "empty.duckdb"), monkeypatch)
    assert "No runs yet" in texts(at)
    assert "Running the demo needs the profiler role" in texts(at)
    assert "Run the demo" not in labels(at)


def test_viewer_browses_shares_and_saves_views(
    store: Store, token: str, monkeypatch: pytest.MonkeyPatch, open_page: OpenPage
) -> None:
    for page in ("app_pages/runs.py", "app_pages/compare.py", "app_pages/methodology.py"):
        app(store, monkeypatch, page)
    at = open_page(store, "app_pages/runs.py", query={"status": "failed"})
    assert "?status=failed" in [c.value for c in at.code]  # the view's link, to share
    key = "runs.share.save"
    at.text_input(key="runs.share.name").set_value("viewer's view")
    (form,) = [f for f in at.get("form") if f.proto.form.form_id == key]
    form.button[0].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert "viewer's view" in [v.name for v in list_views(store)]


def test_a_wrong_token_is_refused_and_the_right_one_makes_a_profiler(
    store: Store, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app(store, monkeypatch, "app_pages/profile.py")
    enter(at, "not-the-token-at-all")
    assert "Wrong token" in texts(at)
    assert uploaders(at) == [] and "Cancel" not in labels(at)
    enter(at, TOKEN)
    assert "Wrong token" not in texts(at) and "Profiler (token entered" in texts(at)
    assert len(uploaders(at)) == 1 and "Cancel" in labels(at)
    assert TOKEN not in repr(at.session_state) and TOKEN not in texts(at)
    # Once per session: other pages know it too.
    at.switch_page("app_pages/data.py")
    at.run()
    (upload,) = uploaders(at)
    assert not upload.proto.disabled and "needs the profiler role" not in texts(at)
    at.button(key="paretoscope.access.forget").click()
    at.run()
    assert "Importing a bundle needs the profiler role" in texts(at)


def test_without_settings_everyone_is_a_profiler_and_the_page_says_so(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    for env in (rules.TOKEN_ENV, rules.TOKEN_FILE_ENV, rules.ACCESS_ENV):
        monkeypatch.delenv(env, raising=False)
    at = app(store, monkeypatch, "app_pages/profile.py")
    assert "anyone who reaches this port is a profiler" in texts(at)
    assert len(uploaders(at)) == 1 and "Cancel" in labels(at)


def test_a_broken_access_file_fails_closed(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "access.toml"
    bad.write_text("[quotas.profiler]\nruns_per_job = -1\n")
    monkeypatch.setenv(rules.ACCESS_ENV, str(bad))
    monkeypatch.delenv(rules.TOKEN_ENV, raising=False)
    at = app(store, monkeypatch, "app_pages/profile.py")
    assert "Access settings cannot be used" in texts(at) and "runs_per_job" in texts(at)
    assert uploaders(at) == [] and "Cancel" not in labels(at)


class FakeUser:
    """What ``st.user`` answers: ``get`` over the identity provider's claims."""

    def __init__(self, **claims: Any) -> None:
        self.claims = claims

    def get(self, key: str, default: Any = None) -> Any:
        return self.claims.get(key, default)


ACCESS_FILE = """
[oidc]
groups_claim = "groups"

[users]
"alice@example.com" = "profiler"

[groups]
"ml-platform" = "profiler"
"""


@pytest.mark.parametrize(
    ("claims", "profiler"),
    [
        ({"is_logged_in": True, "email": "Alice@example.com"}, True),
        ({"is_logged_in": True, "email": "bob@example.com", "groups": ["ml-platform"]}, True),
        ({"is_logged_in": True, "email": "bob@example.com", "groups": ["sales"]}, False),
        ({"is_logged_in": False}, False),
    ],
)
def test_oidc_role_mapping_is_applied(
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    claims: dict[str, Any],
    profiler: bool,
) -> None:
    path = tmp_path / "access.toml"
    path.write_text(ACCESS_FILE)
    monkeypatch.setenv(rules.ACCESS_ENV, str(path))
    monkeypatch.delenv(rules.TOKEN_ENV, raising=False)
    monkeypatch.setattr(ui_access, "_user", lambda: FakeUser(**claims))
    at = app(store, monkeypatch, "app_pages/profile.py")
    assert ("Cancel" in labels(at)) is profiler
    assert (len(uploaders(at)) == 1) is profiler
    if claims["is_logged_in"]:
        assert f"Signed in as {claims['email']}" in texts(at) and "Sign out" in labels(at)
    else:
        assert "Sign in (sidebar)" in texts(at)
        authlib = importlib.util.find_spec("authlib") is not None
        assert ("Sign in" in labels(at)) is authlib
        assert ("needs `Authlib>=1.3.2`" in texts(at)) is not authlib
    if not profiler and claims["is_logged_in"]:
        assert "ask the operator to map your account" in texts(at)
