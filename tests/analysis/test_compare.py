"""Deltas against a baseline, frontier shift between groups, and thinning for the browser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paretoscope.analysis.compare import (
    NOT_COMPARABLE,
    delta_table,
    frontier_shift,
    paired_accuracy,
)
from paretoscope.core.errors import InputError
from paretoscope.present.sampling import thin_points


def _runs() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": ["a", "b", "c", "d", "e", "f"],
            "model": ["m1", "m2", "m3", "m1", "m2", "m3"],
            "model_id": ["i1", "i2", "i3", "i1", "i2", "i3"],
            "parent_model_id": [None] * 6,
            "device": ["cpu", "cpu", "cpu", "cuda:0", "cuda:0", "cuda:0"],
            "runtime": ["ort"] * 6,
            "precision": ["fp32"] * 6,
            "batch_size": [1] * 6,
            "threads": [1] * 6,
            "latency_ms_p50": [1.0, 2.0, 4.0, 0.5, 0.1, 0.2],
            "accuracy": [0.90, 0.95, 0.97, 0.90, 0.95, 0.97],
            "peak_mem_mb": [100.0, 200.0, np.nan, 100.0, 100.0, 100.0],
            "model_size_mb": [1.0, 2.0, 4.0, 1.0, 2.0, 4.0],
        }
    )


def test_delta_table_ratios_and_points() -> None:
    t = delta_table(_runs(), ["a", "b", "c"], baseline="a")
    assert t["run_id"].tolist() == ["a", "b", "c"]
    assert t["speedup_x"].tolist() == [1.0, 0.5, 0.25]
    assert t["accuracy_delta_pts"].round(6).tolist() == [0.0, 5.0, 7.0]
    assert t["mem_ratio_x"].iloc[1] == 2.0
    assert np.isnan(t["mem_ratio_x"].iloc[2])  # missing memory stays missing
    assert t["baseline"].tolist() == [True, False, False]
    with pytest.raises(InputError, match="zzz"):
        delta_table(_runs(), ["a"], baseline="zzz")


def test_frontier_shift_cpu_to_gpu() -> None:
    s = frontier_shift(_runs(), "device", "cpu", "cuda:0", ["latency_ms_p50", "accuracy"])
    t = s.table.set_index("model")
    # On CPU all three are on the frontier; on GPU m1 (slower and less accurate than m3) falls off.
    assert t.loc["m1", "change"] == "moves off"
    assert t.loc["m2", "change"] == "stays on"
    assert t.loc["m3", "change"] == "stays on"
    assert (s.n_on_a, s.n_on_b) == (3, 2)
    # Ranks by latency: m1 first on CPU, last on GPU.
    assert (t.loc["m1", "rank_a"], t.loc["m1", "rank_b"]) == (1, 3)
    assert t.loc["m2", "rank_change"] == 2 - 1
    with pytest.raises(InputError):
        frontier_shift(_runs(), "device", "cpu", "cpu", ["latency_ms_p50", "accuracy"])


def test_frontier_shift_unmatched_and_empty() -> None:
    runs = _runs()
    runs.loc[5, "model_id"] = "other"
    s = frontier_shift(runs, "device", "cpu", "cuda:0", ["latency_ms_p50", "accuracy"])
    assert set(s.table["change"]) >= {"only in cpu", "only in cuda:0"}
    empty = frontier_shift(runs.iloc[0:0], "device", "x", "y", ["latency_ms_p50", "accuracy"])
    assert empty.table.empty


def test_thinning_keeps_frontier_and_budget() -> None:
    rng = np.random.default_rng(0)
    n = 50_000
    frame = pd.DataFrame({"x": rng.lognormal(size=n), "y": rng.uniform(size=n)})
    keep = np.zeros(n, dtype=bool)
    keep[rng.choice(n, 40, replace=False)] = True
    t = thin_points(frame, "x", "y", keep, log_x=True, max_marks=2000)
    assert len(t.rows) <= 2000
    assert set(frame.index[keep]) <= set(t.rows.index)
    assert t.n_dropped == n - len(t.rows) and "not drawn" in t.note
    small = thin_points(frame.iloc[:10], "x", "y", keep[:10])
    assert len(small.rows) == 10 and small.note == ""


def _scored() -> pd.DataFrame:
    runs = _runs().iloc[:3].copy()
    runs["model"] = ["fp32", "int8", "other"]
    runs["dataset"] = ["digits (test, 450 items, 3fa2c1d0)"] * 2 + ["cancer (test, 114 items, 9b)"]
    runs["dataset_sha256"] = ["3fa2"] * 2 + ["9b01"]
    runs["accuracy_items"] = ["0:450"] * 2 + ["0:114"]
    return runs


def test_accuracy_on_another_data_set_is_not_compared() -> None:
    t = delta_table(_scored(), ["a", "b", "c"], baseline="a")
    assert t["accuracy_delta_pts"].round(6).tolist()[:2] == [0.0, 5.0]
    assert np.isnan(t["accuracy_delta_pts"].iloc[2])
    assert t["accuracy_note"].tolist() == ["", "", NOT_COMPARABLE]
    # The same file but other items is another evaluation too.
    other_items = _scored()
    other_items.loc[1, "accuracy_items"] = "100:450"
    assert np.isnan(delta_table(other_items, ["b"], baseline="a")["accuracy_delta_pts"].iloc[0])


def test_paired_accuracy_is_mcnemar_on_the_baseline_items() -> None:
    from scipy.stats import binomtest

    base = "1" * 40 + "0" * 10
    mine = "0" * 3 + "1" * 37 + "1" * 1 + "0" * 9  # 3 lost, 1 gained
    names = {"a": "fp32", "b": "int8", "c": "other"}
    got = paired_accuracy(_scored(), ["a", "b", "c"], "a", {"a": base, "b": mine}, names)
    assert len(got) == 2
    p = binomtest(1, 4, 0.5).pvalue
    assert got[0].startswith("int8 vs fp32: 4 items changed")
    assert f"p = {p:.2g}" in got[0] and "not significant" in got[0]
    assert got[1].startswith("other vs fp32: scored on different data sets")
    assert "not comparable" in got[1]
    # Without per-item results there is no test (and no made-up one).
    assert paired_accuracy(_scored(), ["a", "b"], "a", {"a": base, "b": None}, names) == []


def test_shift_ranks_and_matches_within_a_device_name() -> None:
    runs = _runs()
    runs["precision"] = ["fp32", "fp32", "fp32", "int8", "int8", "int8"]
    runs["device"] = "cpu"
    runs["device_name"] = ["Xeon", "EPYC", "EPYC", "Xeon", "EPYC", "EPYC"]
    runs["model_id"] = ["i1", "i2", "i3", "i1", "i2", "i3"]
    shift = frontier_shift(runs, "precision", "fp32", "int8", ["latency_ms_p50", "accuracy"])
    table = shift.table.set_index("model")
    # m1 is alone on its Xeon in both groups: rank 1 there, whatever the EPYC runs do.
    assert table.loc["m1", "rank_a"] == 1 and table.loc["m1", "rank_b"] == 1
    assert table.loc["m2", "rank_a"] == 1 and table.loc["m3", "rank_a"] == 2
    assert all("Xeon" in k or "EPYC" in k for k in table["key"])
