"""The Compare and Run detail views round-trip through the URL, and docs/url.md lists their keys."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from paretoscope.analysis.selection import dominated_by, frontier_points, lineage_segments
from paretoscope.core.errors import InputError
from paretoscope.views import COMPARE_KEYS, RUN_KEYS, CompareView, FrontierView, RunFilters, RunView

DOC = Path(__file__).resolve().parents[2] / "docs" / "url.md"


def _table_keys(section: str) -> set[str]:
    body = DOC.read_text(encoding="utf-8").split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([a-z]+)` \|", body, flags=re.MULTILINE))


@pytest.mark.parametrize(("section", "keys"), [("Compare", COMPARE_KEYS), ("Run detail", RUN_KEYS)])
def test_every_url_key_is_documented(section: str, keys: dict[str, str]) -> None:
    assert _table_keys(section) == set(keys)


def test_views_round_trip() -> None:
    views: list[FrontierView | CompareView] = [
        FrontierView(z=("peak_mem_mb",), by="runtime", facet="device", budget=5.0, floor=0.97,
                     budget_metric="peak_mem_mb", selected="abc", lineage=False, y_log=True),
        FrontierView(by=None),
        CompareView(runs=("b", "a"), baseline="a", shift_field="precision", a="fp32", b="int8",
                    x="peak_mem_mb", filters=RunFilters(runtime=("ort",))),
        CompareView(),
    ]  # fmt: skip
    for view in views:
        back, notices = type(view).from_query(view.to_query())
        assert (back, notices) == (view, [])
    assert RunView.from_query(RunView("r1").to_query()) == (RunView("r1"), [])
    assert CompareView(runs=("b", "a")).to_query() == {"run": ["b", "a"]}  # order kept


def test_bad_links_fall_back_with_notices() -> None:
    view, notices = FrontierView.from_query(
        {"z": ["accuracy", "nope"], "by": "colour", "bv": "fast", "fl": "inf", "sel": "a b",
         "bm": "accuracy"}
    )  # fmt: skip
    assert view == FrontierView()
    assert len(notices) == 7
    cview, notices = CompareView.from_query({"run": ["a", "../x"], "base": "zzz", "sf": "colour"})
    assert cview == CompareView(runs=("a",)) and len(notices) == 3
    assert RunView.from_query({"run": "x" * 500})[0] == RunView()
    with pytest.raises(InputError):
        CompareView(runs=("a",), baseline="b")
    with pytest.raises(InputError):
        FrontierView(z=("accuracy",))


def _runs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": ["p1", "c1", "p32", "c32", "x"],
            "model_id": ["P", "C", "P", "C", "X"],
            "parent_model_id": [None, "P", None, "P", None],
            "runtime": ["ort"] * 5,
            "device": ["cpu"] * 5,
            "batch_size": [1, 1, 32, 32, 1],
            "threads": [1] * 5,
            "latency_ms_p50": [2.0, 1.0, 20.0, 10.0, 3.0],
            "accuracy": [0.95, 0.94, 0.95, 0.94, 0.90],
        }
    )


def test_default_groups_by_batch_size_and_dominators() -> None:
    fp = frontier_points(_runs(), FrontierView())
    assert fp.groups == ["1", "32"]
    on = dict(zip(fp.points["run_id"], fp.points["on_frontier"], strict=True))
    assert on == {"p1": True, "c1": True, "p32": True, "c32": True, "x": False}
    assert set(dominated_by(fp, "x")["run_id"]) == {"p1", "c1"}
    assert dominated_by(fp, "p1").empty
    single = frontier_points(_runs(), FrontierView(by=None))
    assert not dict(zip(single.points["run_id"], single.points["on_frontier"], strict=True))["p32"]


def test_lineage_joins_parent_and_variant_on_the_same_configuration() -> None:
    fp = frontier_points(_runs(), FrontierView())
    seg = lineage_segments(fp.points, "latency_ms_p50", "accuracy")
    assert sorted(zip(seg["x"], seg["x2"], strict=True)) == [(2.0, 1.0), (20.0, 10.0)]
