"""View state <-> URL: defaults stay out of links, bad links never raise, views round-trip."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paretoscope.analysis.frontier import pareto_mask_bruteforce
from paretoscope.analysis.selection import (
    filter_runs,
    frontier_points,
    select_runs,
    unmatched_filters,
)
from paretoscope.core.errors import InputError
from paretoscope.core.metrics import METRICS
from paretoscope.views import (
    FILTER_COLUMNS,
    FRONTIER_KEYS,
    MAX_VALUE_CHARS,
    RUNS_KEYS,
    FrontierView,
    RunFilters,
    RunsView,
)
from store import Store
from tests.factories import make_record


def test_default_view_has_an_empty_query() -> None:
    assert FrontierView().to_query() == {}
    assert FrontierView.from_query({}) == (FrontierView(), [])
    assert RunsView().to_query() == {}


def test_query_keys_are_short_and_lists_are_repeated_keys() -> None:
    view = FrontierView(
        x="peak_mem_mb",
        y="latency_ms_p50",
        x_log=True,
        filters=RunFilters(runtime=("torch", "ort"), batch_size=(32, 1), family=("cnn",)),
        show_dominated=False,
    )
    assert view.to_query() == {
        "x": "peak_mem_mb",
        "y": "latency_ms_p50",
        "xlog": "1",
        "rt": ["ort", "torch"],
        "bs": ["1", "32"],
        "fam": ["cnn"],
        "dom": "0",
    }


def test_every_emitted_key_is_a_documented_key() -> None:
    view = FrontierView(
        x="throughput_per_s",
        y="peak_mem_mb",
        x_log=False,
        filters=RunFilters(
            ("ort",),
            ("cpu",),
            ("int8",),
            (1,),
            ("mlp",),
            ("Test CPU",),
            ("h1",),
            ("imported",),
            ("digits (test, 450 items, 00000000)",),
            (("seq", 128),),
        ),
        show_dominated=False,
        y_log=True,
        z=("accuracy",),
        by=None,
        facet="device",
        lineage=False,
        budget_metric="latency_ms_p50",
        budget=5.0,
        floor=0.9,
        selected="abc123",
    )
    assert set(view.to_query()) == set(FRONTIER_KEYS)
    runs = RunsView(status=("failed",), filters=view.filters, page=2)
    assert set(runs.to_query()) == set(RUNS_KEYS)


def test_x_log_equal_to_the_registry_default_is_not_an_override() -> None:
    assert METRICS["latency_ms_p50"].log_scale_default
    assert FrontierView(x_log=True) == FrontierView()
    assert FrontierView(x_log=True).to_query() == {}
    linear = FrontierView(x_log=False)
    assert linear.to_query() == {"xlog": "0"} and not linear.log_x


def test_changing_x_drops_the_scale_override() -> None:
    view = FrontierView(x_log=False).with_x("peak_mem_mb")
    assert view.x_log is None
    assert view.log_x == METRICS["peak_mem_mb"].log_scale_default


def test_filters_are_canonical_sets() -> None:
    a = RunFilters(runtime=("torch", "ort", "torch"))
    assert a == RunFilters(runtime=("ort", "torch"))
    assert FrontierView.from_query({"rt": ["torch", "ort"]})[0].filters == a


@pytest.mark.parametrize(("x", "match"), [("nope", "unknown metric"), ("accuracy", "both")])
def test_invalid_views_raise_input_error(x: str, match: str) -> None:
    with pytest.raises(InputError, match=match):
        FrontierView(x=x)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"batch_size": (0,)}, "batch"),
        ({"batch_size": (True,)}, "batch"),
        ({"runtime": ("",)}, "runtime"),
        ({"family": ("x" * (MAX_VALUE_CHARS + 1),)}, "family"),
    ],
)
def test_invalid_filters_raise_input_error(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InputError, match=match):
        RunFilters(**kwargs)


@pytest.mark.parametrize(
    ("params", "expected", "notice"),
    [
        ({"x": "bogus"}, FrontierView(), "not a metric"),
        ({"x": "accuracy"}, FrontierView(), "also the y axis"),
        (
            {"y": "latency_ms_p50"},
            FrontierView(x="accuracy", y="latency_ms_p50"),
            None,
        ),
        ({"xlog": "maybe"}, FrontierView(), "use 1 or 0"),
        ({"bs": ["1", "x", "-2", "0"]}, FrontierView(filters=RunFilters(batch_size=(1,))), "bs"),
        ({"zzz": "1"}, FrontierView(), "unknown parameter 'zzz'"),
        ({"x": ["peak_mem_mb", "params"]}, FrontierView(x="params"), "2 times"),
        ({"dom": "off"}, FrontierView(show_dominated=False), None),
        ({"fam": "x" * (MAX_VALUE_CHARS + 1)}, FrontierView(), "longer than"),
        ({"embed": "true"}, FrontierView(), None),
    ],
)
def test_bad_links_fall_back_with_a_notice(
    params: dict[str, Any], expected: FrontierView, notice: str | None
) -> None:
    view, notices = FrontierView.from_query(params)
    assert view == expected
    if notice is None:
        assert notices == []
    else:
        assert any(notice in n for n in notices), notices


def test_y_taking_the_default_x_moves_x_elsewhere() -> None:
    view, notices = FrontierView.from_query({"y": "latency_ms_p50", "x": "latency_ms_p50"})
    assert view.y == "latency_ms_p50" and view.x != "latency_ms_p50"
    assert notices


def test_runs_view_status() -> None:
    view, notices = RunsView.from_query({"status": ["failed", "weird"], "rt": "ort"})
    assert view == RunsView(status=("failed",), filters=RunFilters(runtime=("ort",)))
    assert notices == ["Ignored status='weird': not ok/failed."]


# -- properties -----------------------------------------------------------

texts = st.text(min_size=1, max_size=MAX_VALUE_CHARS)
metric_keys = st.sampled_from(list(METRICS))
filters = st.builds(
    RunFilters,
    runtime=st.lists(texts, max_size=3).map(tuple),
    device=st.lists(texts, max_size=3).map(tuple),
    precision=st.lists(texts, max_size=3).map(tuple),
    batch_size=st.lists(st.integers(1, 2**31 - 1), max_size=3).map(tuple),
    family=st.lists(texts, max_size=3).map(tuple),
    device_name=st.lists(texts, max_size=2).map(tuple),
    host_id=st.lists(texts, max_size=2).map(tuple),
    origin=st.lists(st.sampled_from(["measured", "imported"]), max_size=2).map(tuple),
    dataset=st.lists(texts, max_size=2).map(tuple),
    dims=st.lists(
        st.tuples(st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True), st.integers(-5, 2**40)),
        max_size=3,
    ).map(tuple),
)


@st.composite
def valid_frontier_views(draw: st.DrawFn) -> FrontierView:
    x, y = draw(st.lists(metric_keys, min_size=2, max_size=2, unique=True))
    return FrontierView(
        x=x,
        y=y,
        x_log=draw(st.none() | st.booleans()),
        filters=draw(filters),
        show_dominated=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None)
@given(valid_frontier_views())
def test_frontier_view_round_trips_through_its_query(view: FrontierView) -> None:
    again, notices = FrontierView.from_query(view.to_query())
    assert again == view
    assert notices == []


@settings(max_examples=200, deadline=None)
@given(
    st.builds(
        RunsView,
        status=st.lists(st.sampled_from(["ok", "failed"]), max_size=2).map(tuple),
        filters=filters,
    )
)
def test_runs_view_round_trips_through_its_query(view: RunsView) -> None:
    assert RunsView.from_query(view.to_query()) == (view, [])


hostile_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=300)
    | st.sampled_from([*METRICS, "1", "0", "", "ort", "-1", "99999999999"]),
    lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner),
    max_leaves=6,
)
hostile_keys = st.sampled_from([*FRONTIER_KEYS, "status", "embed"]) | st.text(max_size=8)
hostile_params: st.SearchStrategy[Any] = (
    st.dictionaries(hostile_keys | st.integers(), hostile_values, max_size=8) | hostile_values
)


@settings(max_examples=500, deadline=None)
@given(hostile_params)
def test_hostile_queries_never_raise(params: Any) -> None:
    for view_type in (FrontierView, RunsView):
        view, notices = view_type.from_query(params)
        assert isinstance(view, view_type)
        assert all(isinstance(n, str) for n in notices)
        # Whatever was accepted is a valid, canonical view.
        assert view_type.from_query(view.to_query()) == (view, [])


# -- applying a view ------------------------------------------------------


def _runs(n: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "run_id": [f"r{i}" for i in range(n)],
            "runtime": ["ort", "torch"] * (n // 2),
            "device": ["cpu"] * n,
            "precision": ["fp32", "fp32", "int8"] * (n // 3),
            "batch_size": pd.array([1, 32] * (n // 2), dtype="Int32"),
            "family": ["mlp"] * n,
            "status": ["ok"] * (n - 1) + ["failed"],
            "accuracy": rng.uniform(0.8, 1.0, n),
            "latency_ms_p50": rng.uniform(0.1, 3.0, n),
            "energy_j_per_item": [np.nan] * n,
            "energy_unavailable_reason": ["no RAPL counter"] * n,
        }
    )


def test_filter_runs_and_select_runs() -> None:
    runs = _runs()
    assert filter_runs(runs, RunFilters()).equals(runs)
    only = filter_runs(runs, RunFilters(runtime=("torch",), batch_size=(32,)))
    assert set(only["runtime"]) == {"torch"} and set(only["batch_size"]) == {32}
    failed = select_runs(runs, RunsView(status=("failed",)))
    assert list(failed["run_id"]) == ["r5"]


def test_unmatched_filters_name_the_stale_value() -> None:
    notes = unmatched_filters(_runs(), RunFilters(runtime=("tvm",), batch_size=(1, 7)))
    assert len(notes) == 2
    assert "'tvm'" in notes[0] and "bs=7" in notes[1]


def test_frontier_points_split_and_mask() -> None:
    runs = _runs(12)
    runs.loc[0, "accuracy"] = np.nan
    runs.loc[1, "latency_ms_p50"] = np.nan
    fp = frontier_points(runs, FrontierView(filters=RunFilters(runtime=("ort",))))
    assert fp.n_total == 12 and fp.n_filtered_out == 6
    assert fp.n_excluded == 1 and fp.excluded == ("1 run without Accuracy",)
    pts = fp.points[["latency_ms_p50", "accuracy"]].to_numpy()
    expected = pareto_mask_bruteforce(pts, [1, -1])
    assert (fp.points["on_frontier"].to_numpy() == expected).all()
    xs = list(fp.frontier["latency_ms_p50"])
    assert xs == sorted(xs)


def test_missing_energy_carries_its_reason() -> None:
    fp = frontier_points(_runs(), FrontierView(x="energy_j_per_item"))
    assert fp.points.empty
    assert fp.excluded == ("6 runs without Energy per item (no RAPL counter)",)


def test_log_axis_falls_back_to_linear_for_non_positive_values() -> None:
    runs = _runs()
    runs.loc[2, "latency_ms_p50"] = 0.0
    fp = frontier_points(runs, FrontierView())
    assert not fp.log_x and fp.notices
    assert math.isclose(fp.points["latency_ms_p50"].min(), 0.0)


def test_every_filter_field_is_a_runs_frame_column(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.ingest(make_record())
    assert set(FILTER_COLUMNS.values()) <= set(store.runs_frame().columns)
