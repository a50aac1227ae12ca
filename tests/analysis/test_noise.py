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


def _bruteforce(frame: pd.DataFrame, metrics: list[str], cand: np.ndarray, groups: pd.Series):  # type: ignore[no-untyped-def]
    """The O(n²) definition: the closest run overlapping on every metric, in the same group."""
    ov = intervals_overlap(frame, metrics)
    np.fill_diagonal(ov, False)
    g = groups.to_numpy()
    ov &= g[:, None] == g[None, :]
    dist = np.zeros(ov.shape)
    for key in metrics:
        v = frame[key].to_numpy(dtype=float)
        spread = np.nanmax(v) - np.nanmin(v)
        dist += np.abs(v[:, None] - v[None, :]) / (spread if spread > 0 else 1.0)
    out: list[str | None] = []
    for i in range(len(frame)):
        partners = np.flatnonzero(ov[i])
        if not cand[i] or partners.size == 0:
            out.append(None)
            continue
        best = partners[dist[i, partners] == dist[i, partners].min()]
        out.append(",".join(frame["run_id"].to_numpy()[best]))
    return out


def test_windowed_search_equals_the_quadratic_definition() -> None:
    rng = np.random.default_rng(3)
    n = 300
    lat = rng.uniform(0.1, 5.0, n)
    acc = rng.uniform(0.7, 0.99, n)
    frame = pd.DataFrame(
        {
            "run_id": [f"r{i}" for i in range(n)],
            "latency_ms_p50": lat,
            "latency_ms_p50_ci_low": lat - rng.uniform(0, 0.2, n),
            "latency_ms_p50_ci_high": lat + rng.uniform(0, 0.2, n),
            "accuracy": acc,
            "accuracy_ci_low": acc - rng.uniform(0, 0.02, n),
            "accuracy_ci_high": acc + rng.uniform(0, 0.02, n),
        }
    )
    frame.loc[5, "accuracy"] = np.nan
    groups = pd.Series(rng.choice(["a", "b"], n))
    cand = rng.uniform(size=n) < 0.3
    metrics = ["latency_ms_p50", "accuracy"]
    got = within_noise_of(frame, metrics, cand, groups).tolist()
    want = _bruteforce(frame, metrics, cand, groups)
    assert sum(w is not None for w in want) > 20
    for g, w in zip(got, want, strict=True):
        assert (g is None and w is None) or (g is not None and w is not None and g in w.split(","))
