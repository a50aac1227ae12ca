"""The Decide page (AppTest): the CLI's answer for the same decision, its widgets, bad links."""

from __future__ import annotations

import io
import json
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from paretoscope.cli import main
from paretoscope.profiling.examples import import_example
from store import Store
from tests.app_pages.conftest import OpenPage
from tests.factories import make_record

PAGE = "app_pages/decide.py"
HOSTILE = "<img src=x onerror=alert(1)> **bold** :red[x]"


@pytest.fixture(scope="module")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The committed H100 example bundle (CPU and GPU runs) and one run with a markup name."""
    store = Store(tmp_path_factory.mktemp("decide-page") / "s.duckdb")
    import_example(store, "h100")
    store.ingest_many([make_record(model=HOSTILE, latency_ms=0.01, accuracy=0.99)])
    return store


def _cli(store: Store, argv: list[str]) -> tuple[int, str | None]:
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        code = main(["decide", "--store", str(store.path), "--format", "json", *argv])
    rec = json.loads(out.getvalue())["recommended"]
    return code, None if rec is None else rec["run_id"]


def _page_answer(at: AppTest) -> str | None:
    for md in at.markdown:
        m = re.match(r"\*\*Recommended run:\*\* `([^`]+)`", md.value)
        if m:
            return m.group(1)
    return None


# (CLI options, the same decision as URL parameters)
CASES = [
    (
        ["--where", "device_name=NVIDIA H100 80GB HBM3", "--require", "latency_ms_p99<=0.2",
         "--require", "accuracy>=0.97", "--maximize", "throughput_per_s"],
        {"where": "device_name=NVIDIA H100 80GB HBM3", "obj": "max:throughput_per_s",
         "req": ["latency_ms_p99<=0.2", "accuracy>=0.97"]},
    ),
    (
        ["--require", "peak_mem_mb<=90", "--maximize", "accuracy", "--then-minimize",
         "latency_ms_p50"],
        {"req": "peak_mem_mb<=90", "then": "min:latency_ms_p50"},
    ),
    (
        ["--where", "runtime=torch", "--minimize", "latency_ms_p99"],
        {"where": "runtime=torch", "obj": "min:latency_ms_p99"},
    ),
    (
        ["--require", "accuracy>=0.999", "--maximize", "accuracy"],
        {"req": "accuracy>=0.999"},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("argv", "query"), CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_page_gives_the_cli_answer(
    open_page: OpenPage, example_store: Store, argv: list[str], query: dict
) -> None:
    code, expected = _cli(example_store, argv)
    at = open_page(example_store, PAGE, query=query, timeout_s=120)
    assert not at.exception, [e.value for e in at.exception]
    assert not at.warning or all("could not be used" not in w.value for w in at.warning)
    assert _page_answer(at) == expected
    if expected is None:
        assert code == 1 and any("Nothing is feasible" in e.value for e in at.error)
    else:
        assert code == 0


def test_changing_the_objective_rewrites_the_link(
    open_page: OpenPage, example_store: Store
) -> None:
    at = open_page(example_store, PAGE, query={"req": "accuracy>=0.97"}, timeout_s=120)
    at.selectbox(key="decide.obj").set_value("throughput_per_s").run()
    assert at.query_params["obj"] == "max:throughput_per_s"
    argv = ["--require", "accuracy>=0.97", "--maximize", "throughput_per_s"]
    assert _page_answer(at) == _cli(example_store, argv)[1]
    at.radio(key="decide.sense").set_value("min").run()
    assert at.query_params["obj"] == "min:throughput_per_s"


def test_a_bad_link_says_what_it_ignored(open_page: OpenPage, example_store: Store) -> None:
    at = open_page(
        example_store,
        PAGE,
        query={"req": ["latency_p99<=1", "accuracy>=0.9"], "where": "gpu=1", "obj": "max:nope"},
        timeout_s=120,
    )
    assert not at.exception
    text = " ".join(w.value for w in at.warning)
    assert "latency\\_ms\\_p99" in text and "gpu" in text
    assert at.query_params["req"] == "accuracy>=0.9"


def test_markup_in_run_fields_stays_text(open_page: OpenPage, example_store: Store) -> None:
    at = open_page(example_store, PAGE, query={"where": f"model={HOSTILE}"}, timeout_s=120)
    assert not at.exception
    card = next(md.value for md in at.markdown if md.value.startswith("**Recommended run:**"))
    assert "\\<img" in card and "<img" not in card.replace("\\<img", "")


def test_an_empty_store_points_to_the_frontier(open_page: OpenPage, tmp_path: Path) -> None:
    at = open_page(Store(tmp_path / "empty.duckdb"), PAGE)
    assert not at.exception
    assert any("No successful runs" in i.value for i in at.info)


def test_a_pinned_saved_view_keeps_its_decision_and_its_runs(
    open_page: OpenPage, tmp_path: Path
) -> None:
    from paretoscope.ui.share_panel import saved_view_link
    from paretoscope.views import DecideView
    from store.saved_views import save_view

    store = Store(tmp_path / "saved.duckdb")
    store.ingest_many(
        [make_record(model=f"m{i}", latency_ms=1.0 + i, accuracy=0.90 + i / 100) for i in range(5)]
    )
    ids = store.runs_frame()["run_id"].astype(str).tolist()
    view, _ = DecideView.from_query({"req": "latency_ms_p50<=4.5"})
    by_model = dict(zip(store.runs_frame()["model"], ids, strict=True))
    # Pinned without m3, the best run within 4.5 ms when the view was saved is m2.
    pinned = [by_model[m] for m in ("m0", "m1", "m2", "m4")]
    saved = save_view(store, name="ship", page="decide", query=view.to_query(), pinned=True,
                      run_ids=pinned)  # fmt: skip
    link = saved_view_link(saved)
    assert link.startswith("/decide?") and "req=latency_ms_p50" in link
    at = open_page(store, PAGE, query={"req": "latency_ms_p50<=4.5", "view": saved.view_id})
    assert not at.exception
    assert _page_answer(at) == by_model["m2"]
    live = open_page(store, PAGE, query={"req": "latency_ms_p50<=4.5"})
    assert _page_answer(live) == by_model["m3"]
