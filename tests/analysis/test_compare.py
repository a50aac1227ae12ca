"""Deltas against a baseline, frontier shift between groups, and thinning for the browser."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from paretoscope.analysis.compare import delta_table, frontier_shift
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
