"""Which runs the measurements cannot tell apart: intervals that overlap on every objective.

A metric with an interval (``Metric.ci_keys``: latency p50, accuracy) is an
interval; a metric without one is a point, so two runs differ there unless
their values are equal. Run A is *within noise* of run B when, on every
objective, A's interval and B's overlap: the data cannot say which is better.
The Frontier marks frontier runs that are within noise of another run of the
same group, and budget answers say when the runner-up is within noise of the
winner.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from paretoscope.core.metrics import metric

__all__ = ["interval_bounds", "intervals_overlap", "within_noise_of"]


def interval_bounds(frame: pd.DataFrame, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of metric ``key`` per row: its 95% interval, or the point.

    Where an interval column is missing or empty the bound is the value itself.
    """
    value = pd.to_numeric(frame[key], errors="coerce").to_numpy(dtype=np.float64)
    keys = metric(key).ci_keys
    if keys is None:
        return value, value
    low, high = (
        pd.to_numeric(frame[k], errors="coerce").to_numpy(dtype=np.float64)
        if k in frame.columns
        else np.full(len(frame), np.nan)
        for k in keys
    )
    return np.where(np.isnan(low), value, low), np.where(np.isnan(high), value, high)


def intervals_overlap(frame: pd.DataFrame, metrics: Sequence[str]) -> np.ndarray:
    """``(n, n)`` booleans: rows i and j overlap on every metric (the diagonal is True).

    A row with a missing value on a metric overlaps nothing.
    """
    n = len(frame)
    out = np.ones((n, n), dtype=bool)
    for key in metrics:
        low, high = interval_bounds(frame, key)
        # Closed intervals: [a, b] and [c, d] overlap when a <= d and c <= b.
        out &= (low[:, None] <= high[None, :]) & (low[None, :] <= high[:, None])
    return out


def within_noise_of(
    frame: pd.DataFrame,
    metrics: Sequence[str],
    candidates: np.ndarray,
    groups: pd.Series | None = None,
) -> pd.Series:
    """For each row flagged in ``candidates``: the run id of the closest run it overlaps.

    ``frame`` needs ``run_id`` and the metric columns; ``groups`` (aligned with
    ``frame``) keeps comparisons inside a group. Rows not flagged, or
    distinguishable from every other run, get ``None``. "Closest" is the
    smallest sum of gaps between point values, each scaled by the spread of
    that metric in the frame, so the label names the most similar run.
    O(c·n·k) time and O(c·n) memory for c candidates (a frontier) among n runs.
    """
    n = len(frame)
    result: list[str | None] = [None] * n
    cand = np.flatnonzero(np.asarray(candidates, dtype=bool))
    if n < 2 or not metrics or cand.size == 0:
        return pd.Series(result, index=frame.index, dtype=object)
    # Candidate rows against every row: the frontier is small, the frame may not be.
    overlap = np.ones((cand.size, n), dtype=bool)
    dist = np.zeros((cand.size, n))
    for key in metrics:
        low, high = interval_bounds(frame, key)
        # Closed intervals: [a, b] and [c, d] overlap when a <= d and c <= b.
        overlap &= (low[cand, None] <= high[None, :]) & (low[None, :] <= high[cand, None])
        v = pd.to_numeric(frame[key], errors="coerce").to_numpy(dtype=np.float64)
        spread = np.nanmax(v) - np.nanmin(v) if np.isfinite(v).any() else 0.0
        dist += np.abs(v[cand, None] - v[None, :]) / (spread if spread > 0 else 1.0)
    overlap[np.arange(cand.size), cand] = False
    if groups is not None:
        g = groups.astype(str).to_numpy()
        overlap &= g[cand, None] == g[None, :]
    ids = frame["run_id"].astype(str).to_numpy()
    for row, i in enumerate(cand):
        partners = np.flatnonzero(overlap[row])
        if partners.size:
            result[i] = str(ids[partners[np.argmin(dist[row, partners])]])
    return pd.Series(result, index=frame.index, dtype=object)
