"""The explorer pages (issue 4) driven through the URL: groups, z, budgets, selection, scale.

The command line and the pages must agree: ``paretoscope frontier --z --by``
lists the runs the Frontier page's table lists for the same view.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from paretoscope import cli
from paretoscope.analysis.budget import best_within_budget, cheapest_above_floor
from paretoscope.analysis.frontier import frontier_mask
from paretoscope.analysis.selection import frontier_points
from paretoscope.present.headline import frontier_headline
from paretoscope.present.sampling import MAX_MARKS
from paretoscope.views import FrontierView
from tests.app_pages.conftest import MakeStore, RunApp
from tests.app_pages.hostile import shown


def _text(at: AppTest) -> str:
    kinds = ("title", "caption", "info", "warning", "error", "success", "markdown", "subheader")
    return shown("\n".join(str(e.value) for kind in kinds for e in getattr(at, kind)))


def _frontier_table(at: AppTest) -> list[str]:
    tables = [d.value for d in at.dataframe if "Run" in d.value.columns]
    return [str(r) for r in tables[-1]["Run"]]  # "Runs on the frontier" comes last


def _cli_runs(capsys: pytest.CaptureFixture[str], store_path: str, *args: str) -> set[str]:
    assert cli.main(["frontier", *args, "--store", store_path, "--format", "json"]) == 0
    return {row["run_id"] for row in json.loads(capsys.readouterr().out)}


@pytest.mark.parametrize(
    ("query", "args"),
    [
        ({"by": "runtime"}, ["--by", "runtime"]),
        ({"z": "peak_mem_mb", "by": "none"}, ["--z", "peak_mem_mb"]),
        (
            {"x": "peak_mem_mb", "z": ["energy_j_per_item"], "by": "precision"},
            ["--x", "peak_mem_mb", "--z", "energy_j_per_item", "--by", "precision"],
        ),
        ({"z": ["peak_mem_mb", "model_size_mb"]}, ["--z", "peak_mem_mb", "--z", "model_size_mb",
                                                   "--by", "batch_size"]),
    ],
)  # fmt: skip
def test_cli_frontier_lists_the_runs_the_page_lists(
    make_store: MakeStore,
    run_app: RunApp,
    capsys: pytest.CaptureFixture[str],
    query: dict[str, object],
    args: list[str],
) -> None:
    store = make_store("mixed")
    at = run_app(store, query=query)
    page_runs = set(_frontier_table(at))
    if "--x" not in args:
        args = ["--x", "latency_ms_p50", *args]
    cli_runs = _cli_runs(capsys, str(store.path), *args, "--y", "accuracy")
    assert page_runs == cli_runs


def test_selected_run_shows_what_dominates_it(make_store: MakeStore, run_app: RunApp) -> None:
    store = make_store("all_dominated_but_one")
    runs = store.runs_frame()
    worst = runs.sort_values("accuracy")["run_id"].iloc[0]
    at = run_app(store, query={"sel": worst})
    text = _text(at)
    assert "Selected run" in text and "Dominated by 1 frontier run" in text and "**best**" in text
    best = runs.loc[runs["model"] == "best", "run_id"].iloc[0]
    at = run_app(store, query={"sel": best})
    assert "On the frontier" in _text(at)
    at = run_app(store, query={"sel": "not-a-stored-run"})
    assert "is not plotted under this view" in _text(at)


def test_budget_answers_on_the_page_equal_the_library(
    make_store: MakeStore, run_app: RunApp
) -> None:
    store = make_store("many")
    at = run_app(store, query={"bv": "2", "fl": "0.9", "by": "none"})
    runs = store.runs_frame()
    best = best_within_budget(runs, "latency_ms_p50", 2.0)
    cheap = cheapest_above_floor(runs, "latency_ms_p50", 0.9)
    shown = [s.value for s in at.success]
    assert len(shown) == 2
    assert best.run_id is not None and best.run_id in shown[0]
    assert cheap.run_id is not None and cheap.run_id in shown[1]
    at = run_app(store, query={"bv": "0.0001"})
    assert any("no run qualifies" in w.value for w in at.warning)


def test_three_objectives_mark_the_frontier_and_draw_parallel_coordinates(
    make_store: MakeStore, run_app: RunApp
) -> None:
    at = run_app(make_store("many"), query={"z": "peak_mem_mb"})
    assert "3 objectives: parallel coordinates" in _text(at)
    assert len(at.get("vega_lite_chart")) == 2


def test_facet_and_log_y(make_store: MakeStore, run_app: RunApp) -> None:
    at = run_app(make_store("mixed"), query={"facet": "runtime", "ylog": "1", "lin": "0"})
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert "facet" in spec
    assert at.toggle(key="frontier.ylog").value is True


def test_huge_store_frontier_is_exact_and_the_chart_is_thinned(
    make_store: MakeStore, run_app: RunApp
) -> None:
    store = make_store("huge")
    at = run_app(store)
    runs = store.runs_frame()
    assert len(runs) == 100_000
    expected = frontier_mask(runs, ["latency_ms_p50", "accuracy"], by="batch_size")
    assert sorted(_frontier_table(at)) == sorted(runs.loc[expected.to_numpy(), "run_id"])
    spec = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert "Thinned for the browser" in _text(at)
    # The data travels as Arrow beside the spec: count the rows the page kept instead.
    fp = frontier_points(runs, FrontierView())
    assert len(fp.points) > MAX_MARKS and spec["layer"]


def test_compare_page_deltas_and_shift(make_store: MakeStore, run_app: RunApp) -> None:
    store = make_store("mixed")
    runs = store.runs_frame()
    ids = runs["run_id"].astype(str).tolist()[:3]
    at = run_app(store, page="compare", query={"run": ids, "base": ids[1]})
    table = next(d.value for d in at.dataframe if "Speed-up (×)" in d.value.columns)
    assert list(table["Run"]) == ids
    base = table[table["Baseline"]]
    assert list(base["Run"]) == [ids[1]] and float(base["Speed-up (×)"].iloc[0]) == 1.0
    lat = runs.set_index("run_id")["latency_ms_p50"]
    want = lat[ids[1]] / lat[ids[0]]
    assert np.isclose(float(table["Speed-up (×)"].iloc[0]), want)
    at = run_app(store, page="compare", query={"sf": "runtime", "sa": "ort", "sb": "torch"})
    assert "move onto the frontier from ort to torch" in _text(at)


def test_run_detail_page(make_store: MakeStore, run_app: RunApp) -> None:
    store = make_store("reported_accuracy")
    card = store.runs_frame().query("model == 'from-a-card'")["run_id"].iloc[0]
    at = run_app(store, page="run_detail", query={"run": card})
    text = _text(at)
    assert "Configuration and provenance" in text
    assert any("reported elsewhere" in w.value for w in at.warning)
    assert len(at.get("vega_lite_chart")) == 1  # the latency distribution
    at = run_app(store, page="run_detail", query={"run": "nope"})
    assert any("No stored run has the id" in w.value for w in at.warning)
    at = run_app(store, page="run_detail")
    assert any("Choose a run" in i.value for i in at.info)


def test_frontier_page_opens_with_its_question_and_answer(
    make_store: MakeStore, run_app: RunApp
) -> None:
    store = make_store("mixed")
    at = run_app(store)
    fp = frontier_points(store.runs_frame(), FrontierView())
    want = frontier_headline(
        "latency_ms_p50",
        "accuracy",
        by="batch_size",
        separated=fp.separated,
        n_groups=len(fp.groups),
        n_on_frontier=int(fp.points["on_frontier"].sum()),
        n_points=len(fp.points),
    )
    assert f"**{want}**" in [shown(str(m.value)) for m in at.main.markdown]
    # Only the main pickers sit above the chart; the rest are in one expander.
    labels = [e.label for e in at.expander]
    assert "Filters, scales, more objectives and budgets" in labels
    assert at.selectbox(key="frontier.x").value == "latency_ms_p50"
    assert at.multiselect(key="frontier.runtime").value == []
