"""Saved views in the store: round trips (pinned and live), rename, delete, bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from paretoscope.core.errors import InputError
from paretoscope.ui.share_panel import saved_view_link
from paretoscope.views import FrontierView, RunFilters
from store import Store
from store.saved_views import (
    MAX_NAME_CHARS,
    VIEW_KEY,
    delete_view,
    get_view,
    list_views,
    rename_view,
    save_view,
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "s.duckdb")


def test_migration_4_creates_the_table(store: Store) -> None:
    assert store.schema_version() >= 4
    cols = set(store.query("SELECT * FROM saved_views LIMIT 0").columns)
    assert {"view_id", "name", "description", "page", "query", "pinned", "run_ids"} <= cols


def test_live_view_round_trips_and_rebuilds_the_frontier_view(store: Store) -> None:
    view = FrontierView(
        x="peak_mem_mb", x_log=True, filters=RunFilters(runtime=("ort",), batch_size=(1, 32))
    )
    saved = save_view(
        store, name="int8 on ORT", description="for the review", page="", query=view.to_query()
    )
    got = get_view(store, saved.view_id)
    assert got == saved
    assert got.pinned is False and got.run_ids is None and got.mode == "live"
    rebuilt, notices = FrontierView.from_query(got.query)
    assert rebuilt == view and notices == []
    assert saved_view_link(got).startswith(
        "/?"
    ) and f"{VIEW_KEY}={saved.view_id}" in saved_view_link(got)
    assert "bs=1&bs=32" in saved_view_link(got)


def test_pinned_view_keeps_exactly_its_runs(store: Store) -> None:
    saved = save_view(
        store,
        name="pinned",
        page="runs",
        query={"status": ["failed"]},
        pinned=True,
        run_ids=["r2", "r1", "r2"],
    )
    got = get_view(store, saved.view_id)
    assert got is not None and got.pinned and got.mode == "pinned"
    assert got.run_ids == ("r1", "r2")
    assert got.query == {"status": ["failed"]}
    assert saved_view_link(got) == f"/runs?status=failed&{VIEW_KEY}={saved.view_id}"


def test_pinned_view_needs_its_runs(store: Store) -> None:
    with pytest.raises(InputError, match="pinned view needs"):
        save_view(store, name="p", page="", query={}, pinned=True)


def test_rename_and_delete(store: Store) -> None:
    a = save_view(store, name="a", page="", query={})
    b = save_view(store, name="b", page="", query={}, description="keep me")
    renamed = rename_view(store, a.view_id, "  alpha   view ")
    assert renamed.name == "alpha view" and renamed.updated_at >= a.updated_at
    with pytest.raises(InputError, match="exists"):
        rename_view(store, b.view_id, "ALPHA VIEW")
    kept = rename_view(store, b.view_id, "beta")
    assert kept.description == "keep me"
    assert list_views(store)[0].name == "beta"  # most recently updated first
    assert delete_view(store, a.view_id) is True
    assert delete_view(store, a.view_id) is False
    with pytest.raises(InputError, match="no longer exists"):
        rename_view(store, a.view_id, "gone")
    assert [v.name for v in list_views(store)] == ["beta"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "   "}, "needs a name"),
        ({"name": "x" * (MAX_NAME_CHARS + 1)}, "at most"),
        ({"page": "../etc"}, "unknown page"),
        ({"query": {VIEW_KEY: "abc"}}, "URL keys"),
        ({"query": {"x": [1]}}, "must be text"),
    ],
)
def test_bad_input_is_refused(store: Store, kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"name": "n", "page": "", "query": {}} | kwargs
    with pytest.raises(InputError, match=message):
        save_view(store, **args)  # type: ignore[arg-type]  # wrong types on purpose
    assert list_views(store) == []


@pytest.mark.parametrize("bad", ["", "../../x", "ABCDEF012345", "0" * 13, "' OR 1=1 --"])
def test_malformed_ids_find_nothing(store: Store, bad: str) -> None:
    save_view(store, name="n", page="", query={})
    assert get_view(store, bad) is None


def test_a_view_saved_through_one_store_object_is_seen_by_another(store: Store) -> None:
    other = Store(store.path)  # another dashboard process or session on the same file
    saved = save_view(store, name="shared", page="", query={"x": "params"})
    assert [v.view_id for v in list_views(other)] == [saved.view_id]
