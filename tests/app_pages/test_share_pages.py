"""The Saved views and Import & export pages, and two sessions sharing one store (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from store import Store
from store.bundle import export_bundle
from store.saved_views import list_views, save_view
from tests.app_pages.catalogue import CATALOGUE, build_store
from tests.app_pages.conftest import OpenPage
from tests.app_pages.hostile import shown
from tests.factories import make_record

VIEWS = "app_pages/saved_views.py"
DATA = "app_pages/data.py"


def _texts(at: AppTest) -> str:
    kinds = ("title", "caption", "info", "warning", "error", "success", "markdown", "subheader")
    return shown("\n".join(str(e.value) for kind in kinds for e in getattr(at, kind)))


def test_views_page_when_none_is_saved(small_store: Store, open_page: OpenPage) -> None:
    at = open_page(small_store, VIEWS)
    assert not at.exception
    assert "No saved views yet" in _texts(at)


def test_views_page_lists_opens_renames_and_deletes(
    small_store: Store, open_page: OpenPage
) -> None:
    live = save_view(small_store, name="ORT only", page="", query={"rt": ["ort"]},
                     description="for the review")  # fmt: skip
    pinned = save_view(small_store, name="failures", page="runs", query={"status": "failed"},
                       pinned=True, run_ids=["r1"])  # fmt: skip
    at = open_page(small_store, VIEWS)
    assert not at.exception
    text = _texts(at)
    assert "ORT only" in text and "failures" in text and "for the review" in text
    assert ":green-badge[live]" in text and ":violet-badge[pinned]" in text
    assert "1 runs pinned" in text
    links = at.get("page_link")
    assert len(links) == 2 and all(link.proto.label == "Open" for link in links)
    assert f"view={pinned.view_id}" in text and f"view={live.view_id}" in text

    # Rename the live view through its form.
    (form,) = [f for f in at.get("form") if live.view_id in f.proto.form.form_id]
    form.text_input[0].set_value("ORT, batch 1")
    form.button[0].click()  # Save changes
    at.run()
    assert not at.exception
    assert {v.name for v in list_views(small_store)} == {"ORT, batch 1", "failures"}

    # Delete needs the confirmation tick.
    (form,) = [f for f in at.get("form") if pinned.view_id in f.proto.form.form_id]
    form.button[1].click()
    at.run()
    assert "Tick *Yes, delete it*" in _texts(at)
    assert len(list_views(small_store)) == 2
    (form,) = [f for f in at.get("form") if pinned.view_id in f.proto.form.form_id]
    form.checkbox[0].check()
    form.button[1].click()
    at.run()
    assert not at.exception
    assert [v.name for v in list_views(small_store)] == ["ORT, batch 1"]


def test_a_view_saved_in_one_session_appears_in_another(
    small_store: Store, open_page: OpenPage
) -> None:
    alice = open_page(small_store, VIEWS)
    bob = open_page(small_store, VIEWS)
    assert "No saved views yet" in _texts(bob)
    save_view(small_store, name="from alice", page="", query={"x": "peak_mem_mb"})
    alice.run()
    bob.run()
    assert "from alice" in _texts(bob) and "from alice" in _texts(alice)


def test_import_page_imports_a_bundle_and_is_idempotent(
    small_store: Store, open_page: OpenPage, tmp_path: Path
) -> None:
    other = Store(tmp_path / "edge.duckdb")
    other.ingest_many([make_record(model="edge-1"), make_record(model="edge-2")])
    bundle = tmp_path / "edge.parquet"
    export_bundle(other, bundle)
    runs_before = small_store.run_count()

    at = open_page(small_store, DATA)
    assert not at.exception
    at.file_uploader[0].upload("edge.parquet", bundle.read_bytes())
    at.run()
    at.button(key="data.import").click()
    at.run()
    assert not at.exception
    assert "2 runs imported from a bundle of 2" in _texts(at)
    assert small_store.run_count() == runs_before + 2
    frame = small_store.runs_frame().set_index("model")
    assert frame.loc["edge-1", "origin"] == "imported"

    at.button(key="data.import").click()
    at.run()
    assert "0 runs imported, 2 already in the store" in _texts(at)
    assert small_store.run_count() == runs_before + 2


def test_import_page_refuses_a_corrupt_file_and_keeps_the_store(
    small_store: Store, open_page: OpenPage
) -> None:
    before = small_store.run_count()
    at = open_page(small_store, DATA)
    at.file_uploader[0].upload("evil.parquet", b"PAR1\x00\x00garbage")
    at.run()
    at.button(key="data.import").click()
    at.run()
    assert not at.exception
    assert "Nothing was imported" in _texts(at)
    assert small_store.run_count() == before


def test_an_import_by_one_session_does_not_break_anothers_page(
    small_store: Store, open_page: OpenPage, tmp_path: Path
) -> None:
    viewer = open_page(small_store, "app_pages/runs.py")
    assert not viewer.exception and not viewer.error
    other = Store(tmp_path / "lab.duckdb")
    other.ingest_many([make_record(model=f"lab-{i}") for i in range(3)])
    export_bundle(other, tmp_path / "lab.parquet")
    importer = open_page(small_store, DATA)
    importer.file_uploader[0].upload("lab.parquet", (tmp_path / "lab.parquet").read_bytes())
    importer.run()
    importer.button(key="data.import").click()
    importer.run()
    assert "3 runs imported" in _texts(importer)
    viewer.run()
    assert not viewer.exception and not viewer.error
    assert "8 of 8 runs shown" in _texts(viewer)  # the cache follows Store.data_version()


def _plotted_models(at: AppTest) -> set[str]:
    """The models in the page's tables (the Frontier page lists the runs on the frontier)."""
    return {str(m) for d in at.dataframe if "Model" in d.value.columns for m in d.value["Model"]}


def test_a_pinned_view_shows_exactly_its_runs_and_keeps_view_in_the_url(
    small_store: Store, open_page: OpenPage
) -> None:
    ids = small_store.runs_frame().set_index("model").loc[["mlp-a", "cnn-a"], "run_id"]
    pinned = save_view(small_store, name="two runs", page="", query={},
                       pinned=True, run_ids=list(ids))  # fmt: skip
    live = save_view(small_store, name="everything", page="", query={})
    small_store.ingest(make_record(model="newer", latency_ms=0.1, accuracy=0.99))

    at = open_page(small_store, query={"view": pinned.view_id})
    assert not at.exception and not at.warning, [w.value for w in at.warning]
    assert "Saved view **two runs** — pinned: exactly the 2 runs" in _texts(at)
    assert _plotted_models(at) == {"mlp-a", "cnn-a"}
    assert at.query_params.get("view") == pinned.view_id  # the page keeps it in the URL

    at = open_page(small_store, query={"view": live.view_id})
    assert "live: it follows the store's current runs" in _texts(at)
    assert _plotted_models(at) == {"newer"}  # it dominates every other run


def test_a_stale_or_foreign_view_id_is_ignored_with_a_notice(
    small_store: Store, open_page: OpenPage
) -> None:
    runs_view = save_view(small_store, name="runs view", page="runs", query={})
    at = open_page(small_store, query={"view": "0123456789ab"})
    assert not at.exception
    assert "no saved view has this id" in "\n".join(w.value for w in at.warning)
    at = open_page(small_store, query={"view": runs_view.view_id})
    assert "belongs to another page" in "\n".join(w.value for w in at.warning)
    assert "newer" not in _texts(at)


def _save_through_panel(at: AppTest, key: str, name: str, mode: str) -> None:
    at.text_input(key=f"{key}.name").set_value(name)
    at.text_area(key=f"{key}.description").set_value(f"{name}, saved in a test")
    at.radio(key=f"{key}.mode").set_value(mode)
    (form,) = [f for f in at.get("form") if f.proto.form.form_id == f"{key}.save"]
    form.button[0].click()
    at.run()
    assert not at.exception, [e.value for e in at.exception]


def test_runs_page_panel_links_and_saves_pinned_and_live_views(
    small_store: Store, open_page: OpenPage
) -> None:
    at = open_page(small_store, "app_pages/runs.py", query={"status": "failed"})
    assert not at.exception
    links = [c.value for c in at.code if "status=failed" in c.value]
    assert links == ["?status=failed"]  # relative: AppTest has no browser address

    _save_through_panel(at, "runs.share", "failures, pinned", "pinned")
    assert "Saved **failures, pinned** (pinned)" in _texts(at)
    _save_through_panel(at, "runs.share", "failures, live", "live")
    saved = {v.name: v for v in list_views(small_store)}
    pinned, live = saved["failures, pinned"], saved["failures, live"]
    failed_ids = set(small_store.runs_frame(status="failed")["run_id"])
    assert pinned.pinned and set(pinned.run_ids or ()) == failed_ids
    assert not live.pinned and live.run_ids is None
    assert pinned.page == live.page == "runs" and pinned.query == {"status": ["failed"]}

    # A new failed run: the live view shows it, the pinned view does not.
    small_store.ingest(make_record(model="late", status="failed", error="timed out"))
    pinned_at = open_page(small_store, "app_pages/runs.py",
                          query={**pinned.query, "view": pinned.view_id})  # fmt: skip
    live_at = open_page(small_store, "app_pages/runs.py",
                        query={**live.query, "view": live.view_id})  # fmt: skip
    assert "1 of 1 runs shown, 1 failed" in _texts(pinned_at)
    assert "2 of 6 runs shown, 2 failed" in _texts(live_at)
    # The copied link of an open saved view names it, so it opens the same way.
    assert f"?status=failed&view={pinned.view_id}" in [c.value for c in pinned_at.code]

    # The same name again is refused with a message, and nothing is added.
    _save_through_panel(at, "runs.share", "failures, live", "live")
    assert "Not saved: a saved view named 'failures, live' exists" in _texts(at)
    assert len(list_views(small_store)) == 2


@pytest.mark.slow
# "huge" is left to tests/app_pages (which builds it once per session): building it here
# again would take a minute for pages that do not depend on the number of runs.
@pytest.mark.parametrize("name", [n for n in CATALOGUE if n != "huge"])
def test_sharing_pages_over_every_catalogue_store(
    name: str, open_page: OpenPage, tmp_path: Path
) -> None:
    store = build_store(tmp_path / f"{name}.duckdb", name)
    for page in (VIEWS, DATA, "app_pages/runs.py"):
        at = open_page(store, page)
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.title and not at.error, page
