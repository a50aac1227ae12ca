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

__all__ = ["interval_bounds", "intervals_overlap", "noise_partner_positions", "within_noise_of"]


def interval_bounds(frame: pd.DataFrame, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of metric ``key`` per row: its 95% interval, or the point.

    Where an interval column is missing or empty the bound is the value itself;
    where the value is missing, so are both bounds.
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
    low, high = np.where(np.isnan(low), value, low), np.where(np.isnan(high), value, high)
    # A run without the value has no interval either, whatever bounds were stored.
    missing = np.isnan(value)
    return np.where(missing, np.nan, low), np.where(missing, np.nan, high)


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
    ``noise_partner_positions`` does the search (its docstring gives the cost).
    """
    # Integer codes: comparing them is ~50x faster than comparing the labels.
    codes = pd.factorize(groups.astype(str))[0] if groups is not None else None
    partner = noise_partner_positions(frame, metrics, candidates, codes)
    result: list[str | None] = [None] * len(frame)
    found = np.flatnonzero(partner >= 0)
    if found.size:
        ids = frame["run_id"].iloc[partner[found]].astype(str).tolist()
        for i, run_id in zip(found.tolist(), ids, strict=True):
            result[i] = run_id
    return pd.Series(result, index=frame.index, dtype=object)


def noise_partner_positions(
    frame: pd.DataFrame,
    metrics: Sequence[str],
    candidates: np.ndarray,
    group_codes: np.ndarray | None = None,
) -> np.ndarray:
    """``within_noise_of`` by position: each flagged row's closest overlapping row, else -1.

    ``group_codes`` (one integer per row; equal codes share a group) keeps
    comparisons inside a group; the Frontier passes the codes it grouped by,
    so no label is compared or turned into text here.

    Rows sorted by the first metric's lower bound give each candidate a window
    of rows whose interval can reach its own (no wider than the widest
    interval), so the work is O(n log n + c·w·k) for c candidates and windows
    of w rows, not O(c·n): a 100 000-run view with 2 000 frontier runs takes
    tens of milliseconds.
    """
    n = len(frame)
    result = np.full(n, -1, dtype=np.int64)
    cand = np.flatnonzero(np.asarray(candidates, dtype=bool))
    if n < 2 or not metrics or cand.size == 0:
        return result
    bounds = [interval_bounds(frame, key) for key in metrics]
    values = [pd.to_numeric(frame[k], errors="coerce").to_numpy(dtype=np.float64) for k in metrics]
    scales = [_spread(v) for v in values]
    g = (
        np.asarray(group_codes, dtype=np.int64)
        if group_codes is not None
        else np.zeros(n, dtype=np.int64)
    )
    low0, high0 = bounds[0]
    finite = np.isfinite(low0) & np.isfinite(high0)
    rows = np.flatnonzero(finite)
    # Sorted by group, then by the first metric's lower bound: a candidate's window is
    # searched inside its own group's stretch only (at 100 000 runs in 4 groups, a
    # quarter of the rows a window over every group held).
    order = rows[np.lexsort((low0[rows], g[rows]))]
    sorted_g = g[order]
    sorted_low = low0[order]
    width = float(np.max(high0[finite] - low0[finite])) if finite.any() else 0.0
    for i in cand:
        if not finite[i]:
            continue
        start = np.searchsorted(sorted_g, g[i], side="left")
        stop = np.searchsorted(sorted_g, g[i], side="right")
        seg = sorted_low[start:stop]
        # Closed intervals: [a, b] and [c, d] overlap when a <= d and c <= b.
        lo = start + np.searchsorted(seg, low0[i] - width, side="left")
        hi = start + np.searchsorted(seg, high0[i], side="right")
        j = order[lo:hi]
        j = j[j != i]
        for low, high in bounds:
            j = j[(low[j] <= high[i]) & (low[i] <= high[j])]
        if j.size:
            dist = sum(np.abs(v[j] - v[i]) / s for v, s in zip(values, scales, strict=True))
            result[i] = j[np.argmin(dist)]
    return result


def _spread(values: np.ndarray) -> float:
    """Max minus min of the finite values (1.0 when there is no spread), to scale gaps."""
    finite = values[np.isfinite(values)]
    spread = float(finite.max() - finite.min()) if finite.size else 0.0
    return spread if spread > 0 else 1.0
