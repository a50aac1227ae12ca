"""Pareto frontiers over any number of objectives.

Every objective is first turned into "lower is better" (multiplied by the
metric's sign). A point is on the frontier when no other point is at least as
good on every objective and strictly better on one: exact ties all stay, and
a point with a NaN objective is never on it.

Algorithms (n points, k objectives):
- k = 1: the minimum and its ties, O(n).
- k = 2: one sort on the first objective, then per-run minima and a running
  minimum, O(n log n), vectorised (about 0.15 s for 10^6 points).
- k = 3: lexicographic sort then a sweep over a 2-D staircase, O(n log n)
  comparisons (list inserts are memmoves).
- k > 3: repeated elimination by the best remaining point, O(n·f) for a
  frontier of f points, vectorised.

``frontier_mask`` never pools what cannot share an axis: runs of different
device names (``SEPARATE_FIELDS``) are always on separate frontiers, and so are
runs scored on different data sets whenever an objective is scored on data
(``SCORED_METRICS``). The caller's grouping is added to that partition.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence

import numpy as np
import pandas as pd

from paretoscope.core.metrics import metric

__all__ = [
    "SCORED_METRICS",
    "SEPARATE_FIELDS",
    "frontier_mask",
    "pareto_mask",
    "pareto_mask_bruteforce",
    "partition_codes",
    "partition_fields",
    "partition_keys",
]

# Metrics measured on an evaluation set: runs scored on different sets do not share their axis.
SCORED_METRICS = frozenset(
    {"accuracy", "accuracy_top5", "mae", "rmse", "perplexity", "next_token_accuracy"}
)
# Run fields never pooled on one frontier: a latency on one device says nothing about
# another's, and an accuracy on one data set nothing about another's.
SEPARATE_FIELDS: tuple[str, ...] = ("device_name", "dataset")
# A causal LM's generation figures hold for one prompt and generated length (the run's
# dimensions); its perplexity for one window length. Never pooled across them (issue 15).
GENERATION_METRICS = frozenset(
    {
        "ttft_ms_p50", "ttft_ms_p90", "ttft_ms_p99", "tpot_ms_p50", "tpot_ms_p90",
        "tpot_ms_p99", "decode_tokens_per_s", "prefill_tokens_per_s", "kv_cache_mb",
        "energy_j_per_token",
    }
)  # fmt: skip
WINDOW_METRICS = frozenset({"perplexity", "next_token_accuracy"})


def pareto_mask(values: np.ndarray, senses: Sequence[int] | None = None) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values`` (shape ``(n, k)``).

    ``senses[j]`` is +1 when lower is better for column j and -1 when higher is
    better (default: all +1). Rows containing NaN are never on the frontier.
    """
    pts = np.asarray(values, dtype=np.float64)
    if pts.ndim != 2:
        raise ValueError(f"values must be 2-D (n, k), got shape {pts.shape}")
    n, k = pts.shape
    if senses is not None:
        if len(senses) != k:
            raise ValueError(f"{len(senses)} senses for {k} objectives")
        pts = pts * np.asarray(senses, dtype=np.float64)
    mask = np.zeros(n, dtype=bool)
    finite = ~np.isnan(pts).any(axis=1)
    idx = np.flatnonzero(finite)
    if idx.size == 0 or k == 0:
        return mask
    sub = pts[idx]
    if k == 1:
        sub_mask = sub[:, 0] == sub[:, 0].min()
    elif k == 2:
        sub_mask = _mask_2d(sub)
    elif k == 3:
        sub_mask = _mask_3d(sub)
    else:
        sub_mask = _mask_nd(sub)
    mask[idx] = sub_mask
    return mask


def _group_starts(sorted_pts: np.ndarray) -> np.ndarray:
    """Index of the first row of each run of identical rows in a sorted array."""
    if len(sorted_pts) == 0:
        return np.zeros(0, dtype=np.int64)
    new = np.ones(len(sorted_pts), dtype=bool)
    new[1:] = (sorted_pts[1:] != sorted_pts[:-1]).any(axis=1)
    return np.flatnonzero(new)


def _mask_2d(pts: np.ndarray) -> np.ndarray:
    # One argsort on x (no lexsort: sorting by y inside equal x is not needed).
    # Within a run of equal x only the smallest y can survive (its ties all do);
    # a run survives when its smallest y beats every strictly smaller x's best
    # y. Identical points share a run and never dominate each other. O(n log n)
    # for the sort, the rest is O(n) vectorised passes.
    x, y = pts[:, 0], pts[:, 1]
    order = np.argsort(x)
    xs, ys = x[order], y[order]
    new = np.empty(len(xs), dtype=bool)
    new[0] = True
    np.not_equal(xs[1:], xs[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    group_min = np.minimum.reduceat(ys, starts)
    prev_best = np.empty_like(group_min)
    prev_best[0] = np.inf
    np.minimum.accumulate(group_min[:-1], out=prev_best[1:])
    group_ok = group_min < prev_best
    gid = np.cumsum(new) - 1
    out = np.empty(len(pts), dtype=bool)
    out[order] = group_ok[gid] & (ys == group_min[gid])
    return out


def _mask_3d(pts: np.ndarray) -> np.ndarray:
    order = np.lexsort((pts[:, 2], pts[:, 1], pts[:, 0]))
    s = pts[order]
    starts = _group_starts(s)
    ends = np.append(starts[1:], len(s))
    # Staircase of the (y, z) minima seen so far: ys ascending, zs strictly descending.
    ys: list[float] = []
    zs: list[float] = []
    ok_sorted = np.empty(len(s), dtype=bool)
    for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
        y, z = float(s[a, 1]), float(s[a, 2])
        i = bisect_right(ys, y) - 1
        dominated = i >= 0 and zs[i] <= z
        ok_sorted[a:b] = not dominated
        if dominated:
            continue
        # Insert (y, z) and drop staircase points it weakly dominates.
        j = bisect_right(ys, y)
        if j > 0 and ys[j - 1] == y:
            j -= 1  # same y, larger z (else it would dominate): replace
        end = j
        while end < len(ys) and zs[end] >= z:
            end += 1
        ys[j:end] = [y]
        zs[j:end] = [z]
    out = np.empty(len(pts), dtype=bool)
    out[order] = ok_sorted
    return out


def _mask_nd(pts: np.ndarray) -> np.ndarray:
    n = len(pts)
    # Process in order of the sum (ties, and sums equal after rounding, broken
    # lexicographically) so that a dominating point always comes first.
    keys = tuple(pts[:, j] for j in reversed(range(pts.shape[1])))
    order = np.lexsort((*keys, pts.sum(axis=1)))
    cand = order
    keep: list[np.ndarray] = []
    while cand.size:
        best = pts[cand[0]]
        rest = pts[cand]
        dominated = (rest >= best).all(axis=1) & (rest > best).any(axis=1)
        cand = cand[~dominated]
        # cand[0] is not dominated by anything left (nothing left has a smaller
        # sum and dominates it, and anything dominating it would have a smaller sum).
        keep.append(cand[:1])
        cand = cand[1:]
    kept = np.concatenate(keep) if keep else np.zeros(0, dtype=np.int64)
    out = np.zeros(n, dtype=bool)
    out[kept] = True
    return out


def pareto_mask_bruteforce(values: np.ndarray, senses: Sequence[int] | None = None) -> np.ndarray:
    """O(n²·k) reference implementation, for tests."""
    pts = np.asarray(values, dtype=np.float64)
    if senses is not None:
        pts = pts * np.asarray(senses, dtype=np.float64)
    n = len(pts)
    out = np.zeros(n, dtype=bool)
    for i in range(n):
        if np.isnan(pts[i]).any():
            continue
        dominated = False
        for j in range(n):
            if i == j or np.isnan(pts[j]).any():
                continue
            if (pts[j] <= pts[i]).all() and (pts[j] < pts[i]).any():
                dominated = True
                break
        out[i] = not dominated
    return out


def _as_list(by: str | Sequence[str] | None) -> list[str]:
    return [by] if isinstance(by, str) else list(by or ())


def partition_fields(metrics: Sequence[str], by: str | Sequence[str] | None = None) -> list[str]:
    """The fields one frontier is computed per: ``by`` (the caller's grouping), then the
    device name, then the data set when a metric in ``metrics`` is scored on data, then
    the memory source when ``peak_mem_mb`` is one of them, then a language model's prompt
    and generated lengths (generation metrics) and perplexity window (``dim_context``), and
    the p99 bound of a server scenario's maximum rate (``server_p99_bound_ms``)."""
    fields = _as_list(by)
    implicit = ["device_name"]
    if SCORED_METRICS & set(metrics):
        implicit.append("dataset")
    if GENERATION_METRICS & set(metrics):
        implicit += ["dim_prompt_len", "dim_gen_len"]
    if WINDOW_METRICS & set(metrics):
        implicit.append("dim_context")
    if "server_max_qps_at_p99" in metrics:
        implicit.append("server_p99_bound_ms")  # a max rate holds for its own p99 bound
    if "peak_mem_mb" in metrics:
        # Device memory read by different means (torch's allocator, NVML's
        # per-process figure, the resident set) are different quantities.
        implicit.append("peak_mem_source")
    return [*fields, *(f for f in implicit if f not in fields)]


def partition_keys(frame: pd.DataFrame, fields: Sequence[str]) -> np.ndarray:
    """One text key per row from ``fields`` (missing columns and values count as one value)."""
    key = pd.Series("", index=frame.index, dtype="string")
    for name in fields:
        if name in frame.columns:
            key = key + "\x1f" + frame[name].astype("string").fillna("<none>")
    return key.to_numpy(dtype=object)


def partition_codes(frame: pd.DataFrame, fields: Sequence[str]) -> np.ndarray:
    """One integer per row, equal exactly where ``partition_keys`` are equal. O(n) per field.

    Each field is factorised once (missing values are one value, as in
    ``partition_keys``) and the codes are combined, so no per-row text is built:
    at 100 000 runs the text keys cost a tenth of a Frontier rerun (issue 13).
    """
    codes = np.zeros(len(frame), dtype=np.int64)
    for name in fields:
        if name not in frame.columns:
            continue
        col = frame[name]
        if pd.api.types.is_integer_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype):
            field, n = _integer_codes(col)
        else:
            if col.dtype.kind not in "OSUT" and not isinstance(col.dtype, pd.StringDtype):
                col = col.astype("string")  # numbers as text: 1 and 1.0 stay apart, as in keys
            field, uniques = pd.factorize(col.fillna("<none>"), use_na_sentinel=False)
            n = len(uniques)
        codes = codes * max(n, 1) + field
        codes = pd.factorize(codes)[0].astype(np.int64)  # renumber: the product never overflows
    return codes


def _integer_codes(col: pd.Series) -> tuple[np.ndarray, int]:
    """``partition_codes``' codes of one integer column, its values turned into text once each.

    Equal exactly where the rows' texts (``<none>`` when missing) are equal, as
    for any other column, without writing 100 000 numbers as text (issue 13).
    """
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    text = pd.Series(uniques, dtype=col.dtype).astype("string").fillna("<none>")
    text_codes, text_uniques = pd.factorize(np.append(text.to_numpy(dtype=object), "<none>"))
    return text_codes[np.where(codes < 0, len(text), codes)].astype(np.int64), len(text_uniques)


def _partitions(codes: np.ndarray) -> list[np.ndarray]:
    """The row indices of each distinct code (rows in their original order within each)."""
    if codes.size == 0:
        return []
    order = np.argsort(codes, kind="stable")
    cuts = np.flatnonzero(np.diff(codes[order])) + 1
    return np.split(order, cuts)


def frontier_mask(
    frame: pd.DataFrame,
    metrics: Sequence[str],
    by: str | Sequence[str] | None = None,
    *,
    separate: bool = True,
    codes: np.ndarray | None = None,
) -> pd.Series:
    """Mask of ``frame``'s rows on the Pareto frontier over the registry ``metrics``.

    With ``by`` (a column or several), one frontier is computed per value
    (missing values form their own group). With ``separate`` (the default)
    runs of different device names, and of different data sets when a metric
    is scored on data, are never on one frontier either (``partition_fields``);
    a frame without those columns is not split by them. ``codes`` (one integer
    per row, equal within a frontier) is that partition already computed, as the
    Frontier's grouping has it; ``by`` and ``separate`` are then unused. Raises
    ``InputError`` for an unknown metric.
    """
    defs = [metric(m) for m in metrics]
    senses = [d.sign for d in defs]
    mask = np.zeros(len(frame), dtype=bool)
    fields = partition_fields(metrics, by) if separate else _as_list(by)
    if not frame.empty and all(m in frame.columns for m in metrics):
        vals = frame[list(metrics)].apply(pd.to_numeric, errors="coerce")
        arr = vals.to_numpy(dtype=np.float64, na_value=np.nan)
        if codes is None and fields:
            codes = partition_codes(frame, fields)
        if codes is None:
            mask = pareto_mask(arr, senses)
        else:
            for rows in _partitions(np.asarray(codes, dtype=np.int64)):
                mask[rows] = pareto_mask(arr[rows], senses)
    return pd.Series(mask, index=frame.index, dtype=bool)
