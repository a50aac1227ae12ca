"""Runs whose intervals overlap on every objective are within noise of each other."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paretoscope.analysis.noise import intervals_overlap, within_noise_of


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "run_id": ["a", "b", "c", "d"],
            "latency_ms_p50": [1.00, 1.02, 2.0, 1.01],
            "latency_ms_p50_ci_low": [0.98, 1.00, 1.9, 0.99],
            "latency_ms_p50_ci_high": [1.03, 1.05, 2.1, 1.02],
            "accuracy": [0.90, 0.91, 0.95, 0.70],
            "accuracy_ci_low": [0.87, 0.88, 0.93, 0.65],
            "accuracy_ci_high": [0.93, 0.94, 0.97, 0.75],
            "model_size_mb": [1.0, 1.0, 1.0, 2.0],
        }
    )


def test_overlap_needs_every_objective() -> None:
    ov = intervals_overlap(_frame(), ["latency_ms_p50", "accuracy"])
    assert ov[0, 1] and ov[1, 0]
    assert not ov[0, 2]  # latency intervals apart
    assert not ov[0, 3]  # accuracy intervals apart
    assert ov.diagonal().all()


def test_a_metric_without_interval_is_a_point() -> None:
    frame = _frame()
    frame.loc[1, "model_size_mb"] = 1.5
    ov = intervals_overlap(frame, ["latency_ms_p50", "model_size_mb"])
    assert not ov[0, 1]


def test_within_noise_names_the_closest_overlapping_run_in_the_group() -> None:
    frame = _frame()
    cand = np.array([True, True, True, False])
    out = within_noise_of(frame, ["latency_ms_p50", "accuracy"], cand)
    assert out.tolist() == ["b", "a", None, None]
    groups = pd.Series(["x", "y", "x", "x"])
    assert within_noise_of(frame, ["latency_ms_p50", "accuracy"], cand, groups).tolist() == [
        None,
        None,
        None,
        None,
    ]
