"""No silent pooling: device names and data sets never share a frontier; sweeps filter and group."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paretoscope.analysis.frontier import frontier_mask, partition_fields
from paretoscope.analysis.selection import (
    filter_runs,
    frontier_points,
    lineage_segments,
    unmatched_filters,
)
from paretoscope.views import FrontierView, RunFilters

DIGITS = "digits (test, 450 items, 3fa2c1d0)"
CANCER = "breast-cancer (test, 114 items, 9bb01e22)"


def _runs() -> pd.DataFrame:
    """Two devices and two data sets; the fast CPU runs dominate everything else if pooled."""
    return pd.DataFrame(
        {
            "run_id": ["cpu-a", "cpu-b", "gpu-a", "cpu-c"],
            "model": ["m1", "m2", "m1", "m3"],
            "device": ["cpu", "cpu", "cuda:0", "cpu"],
            "device_name": ["Xeon", "Xeon", "H100", "Xeon"],
            "dataset": [DIGITS, DIGITS, DIGITS, CANCER],
            "batch_size": [1, 1, 1, 1],
            "latency_ms_p50": [0.5, 1.0, 2.0, 3.0],
            "accuracy": [0.99, 0.95, 0.90, 0.80],
        }
    )


def test_partition_is_the_grouping_then_device_then_data_set_when_scored() -> None:
    assert partition_fields(["latency_ms_p50", "accuracy"], "batch_size") == [
        "batch_size",
        "device_name",
        "dataset",
    ]
    # Latency against memory is not scored on data: data sets do not split it.
    assert partition_fields(["latency_ms_p50", "throughput_per_s"]) == ["device_name"]
    assert partition_fields(["accuracy", "peak_mem_mb"], "device_name") == [
        "device_name",
        "dataset",
        "peak_mem_source",
    ]


def test_frontier_mask_never_pools_devices_or_data_sets() -> None:
    runs = _runs()
    metrics = ["latency_ms_p50", "accuracy"]
    # Pooled, cpu-a dominates every other run.
    assert frontier_mask(runs, metrics, separate=False).tolist() == [True, False, False, False]
    # Separated: the H100 run and the breast-cancer run head their own frontiers.
    assert frontier_mask(runs, metrics).tolist() == [True, False, True, True]
    assert frontier_mask(runs, metrics, by="batch_size").tolist() == [True, False, True, True]
    # Not scored on data: the breast-cancer run is on the Xeon's frontier and dominated there.
    lat_only = runs.assign(peak_mem_mb=[10.0, 10.0, 10.0, 10.0])
    assert frontier_mask(lat_only, ["latency_ms_p50", "peak_mem_mb"]).tolist() == [
        True,
        False,
        True,
        False,
    ]


def test_one_model_with_two_data_sets_gives_two_groups() -> None:
    runs = _runs()
    runs.loc[3, "model"] = "m1"  # the same model, scored on the other data set
    fp = frontier_points(runs, FrontierView(by="batch_size"))
    groups = dict(zip(fp.points["run_id"], fp.points["group"], strict=True))
    assert groups["cpu-a"] != groups["gpu-a"]
    assert groups["cpu-a"] != groups["cpu-c"]
    assert fp.separated == ("device_name", "dataset")
    assert groups["cpu-c"] == f"1 · Xeon · {CANCER}"
    assert fp.group_title == "Batch size · Device name · Data set"
    assert not fp.points.set_index("run_id").loc["cpu-b", "on_frontier"]
    # Each group's frontier is computed alone: a single-run group is on its frontier.
    assert fp.points.set_index("run_id")["on_frontier"][["cpu-a", "gpu-a", "cpu-c"]].all()
    none = frontier_points(runs, FrontierView(by=None))
    assert set(none.points["group"]) == {f"Xeon · {DIGITS}", f"H100 · {DIGITS}", f"Xeon · {CANCER}"}


def test_a_view_of_one_device_and_one_data_set_keeps_its_plain_groups() -> None:
    runs = _runs().iloc[:2]
    fp = frontier_points(runs, FrontierView())
    assert fp.separated == ()
    assert set(fp.points["group"]) == {"1"}
    assert fp.groups == ["1"]


def test_groups_sort_numbers_by_value_part_by_part() -> None:
    runs = pd.concat([_runs().iloc[:3]] * 3, ignore_index=True)
    runs["batch_size"] = [4, 4, 4, 32, 32, 32, 1, 1, 1]
    runs["run_id"] = [f"r{i}" for i in range(9)]
    fp = frontier_points(runs, FrontierView())
    assert fp.groups == ["1 · H100", "1 · Xeon", "4 · H100", "4 · Xeon", "32 · H100", "32 · Xeon"]


def _noisy() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": ["fast", "twin", "slow", "other-device"],
            "model": ["int8", "fp32", "big", "gpu"],
            "device_name": ["Xeon", "Xeon", "Xeon", "H100"],
            "dataset": [DIGITS] * 4,
            "batch_size": [1] * 4,
            "latency_ms_p50": [1.00, 1.02, 5.0, 1.01],
            "latency_ms_p50_ci_low": [0.97, 0.99, 4.9, 0.98],
            "latency_ms_p50_ci_high": [1.03, 1.05, 5.1, 1.04],
            "accuracy": [0.95, 0.951, 0.99, 0.95],
            "accuracy_ci_low": [0.93, 0.93, 0.98, 0.93],
            "accuracy_ci_high": [0.97, 0.97, 0.995, 0.97],
        }
    )


def test_frontier_runs_within_noise_name_their_partner_of_the_same_group() -> None:
    fp = frontier_points(_noisy(), FrontierView())
    pts = fp.points.set_index("run_id")
    assert pts["on_frontier"].to_dict() == {
        "fast": True,
        "twin": True,
        "slow": True,
        "other-device": True,
    }
    assert pts.loc["fast", "noise_partner"] == "twin"
    assert pts.loc["fast", "noise_partner_model"] == "fp32"
    assert pts.loc["twin", "noise_partner"] == "fast"
    # Overlapping on every interval, but on another device: never compared.
    assert pts.loc["other-device", "noise_partner"] is None
    assert pts.loc["slow", "noise_partner"] is None
    assert pts.loc["slow", "noise_partner_model"] is None


def test_off_frontier_runs_have_no_noise_partner() -> None:
    runs = _noisy()
    runs.loc[1, "accuracy"] = 0.90  # twin is now dominated by fast
    fp = frontier_points(runs, FrontierView())
    pts = fp.points.set_index("run_id")
    assert not pts.loc["twin", "on_frontier"]
    assert pts.loc["twin", "noise_partner"] is None
    assert pts.loc["fast", "noise_partner"] == "twin"  # still within noise of it


def _sweep() -> pd.DataFrame:
    runs = pd.concat([_runs().iloc[:2]] * 2, ignore_index=True)
    runs["run_id"] = ["a32", "b32", "a128", "b128"]
    runs["dim_seq"] = pd.array([32, 32, 128, 128], dtype="Int64")
    return runs


def test_dimensions_filter_group_and_name_a_missing_dimension() -> None:
    runs = _sweep()
    only = filter_runs(runs, RunFilters(dims=(("seq", 128),)))
    assert list(only["run_id"]) == ["a128", "b128"]
    assert filter_runs(runs, RunFilters(dims=(("batch", 1),))).empty
    notes = unmatched_filters(runs, RunFilters(dims=(("seq", 64), ("batch", 1))))
    assert notes == [
        "No stored run has the dimension 'batch' (dim=batch:…).",
        "No stored run has seq 64 (dim=seq:64).",
    ]
    fp = frontier_points(runs, FrontierView(by="dim_seq"))
    assert fp.groups == ["32", "128"]
    assert int(fp.points["on_frontier"].sum()) == 2


def test_new_filters_keep_their_rows() -> None:
    runs = _runs().assign(
        host_id=["h1", "h1", "h2", "h1"], origin=["measured", "measured", "imported", "measured"]
    )
    assert list(filter_runs(runs, RunFilters(origin=("imported",)))["run_id"]) == ["gpu-a"]
    assert list(filter_runs(runs, RunFilters(host_id=("h2",)))["run_id"]) == ["gpu-a"]
    assert list(filter_runs(runs, RunFilters(dataset=(CANCER,)))["run_id"]) == ["cpu-c"]
    assert len(filter_runs(runs, RunFilters(device_name=("Xeon",)))) == 3
    assert np.array_equal(
        filter_runs(runs, RunFilters(device_name=("Xeon",), dataset=(DIGITS,)))["run_id"],
        ["cpu-a", "cpu-b"],
    )


def test_lineage_joins_a_variant_to_its_parent_on_the_same_machine() -> None:
    runs = pd.DataFrame(
        {
            "run_id": ["p-xeon", "p-epyc", "v-xeon"],
            "model_id": ["p", "p", "v"],
            "parent_model_id": [None, None, "p"],
            "runtime": ["ort"] * 3,
            "device": ["cpu"] * 3,
            "device_name": ["Xeon", "EPYC", "Xeon"],
            "batch_size": [1] * 3,
            "threads": [1] * 3,
            "latency_ms_p50": [1.0, 9.0, 0.5],
            "accuracy": [0.9, 0.9, 0.89],
            "group": ["1"] * 3,
        }
    )
    seg = lineage_segments(runs, "latency_ms_p50", "accuracy")
    assert seg[["x", "x2"]].to_numpy().tolist() == [[1.0, 0.5]]


def test_memory_read_by_different_means_is_never_on_one_frontier() -> None:
    assert partition_fields(["latency_ms_p50", "peak_mem_mb"]) == [
        "device_name",
        "peak_mem_source",
    ]
    frame = pd.DataFrame(
        {
            "run_id": ["torch", "ort"],
            "device_name": ["H100", "H100"],
            "peak_mem_source": ["torch-allocator", "nvml-process"],
            "latency_ms_p50": [1.0, 0.5],
            "peak_mem_mb": [35.0, 700.0],
        }
    )
    # Pooled, both would be on the frontier anyway; apart, each is alone on its own.
    assert frontier_mask(frame, ["latency_ms_p50", "peak_mem_mb"]).tolist() == [True, True]
    frame.loc[1, "latency_ms_p50"] = 2.0  # the allocator figure would dominate if pooled
    assert frontier_mask(frame, ["latency_ms_p50", "peak_mem_mb"]).tolist() == [True, True]
    assert frontier_mask(frame, ["latency_ms_p50", "peak_mem_mb"], separate=False).tolist() == [
        True,
        False,
    ]
