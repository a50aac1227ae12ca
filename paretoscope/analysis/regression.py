"""The regression gate's statistics: per metric, the change between two runs, its interval, verdict.

For each metric of the registry that both runs have, the change (absolute
and relative to the baseline) and a 95% interval of it, by the best test the
stored numbers allow:

* ``ratio-ci`` (latency p50, end-to-end p50): the ratio of the medians, with
  an interval from both stored 95% intervals of the median on the log scale
  (each treated as ±1.96 standard errors, so ``se = (ln high - ln low) / 3.92``;
  the ratio's is ``exp(ln r ± 1.96 √(se_b² + se_c²))``). A run measured in
  several fresh processes (``repeats`` > 1) stores a t-interval between the
  repeats' medians, so run-to-run spread is covered (and the ±1.96 reading of
  a t-interval is conservative); a run of one process has a within-process
  interval, and the tolerance has to absorb the spread between processes.
* ``ratio-ci (from p50)`` (throughput): batch over median latency, so its
  interval is the inverse of the p50 ratio's.
* ``newcombe`` (accuracy): the difference of two proportions with Newcombe's
  hybrid score interval from both Wilson intervals; where both runs stored
  per-item correctness on the same items, significance is McNemar's exact test
  (paired), else the interval excluding 0.
* ``exact`` (model size, parameter count): deterministic, any change is real.
* ``point``: no interval stored (p90, p99, memory, energy, ...). Reported, and
  gated only when ``--tolerance`` names the metric (the tolerance then stands
  for the noise).

A *regression* is a change that is significant, worse in the metric's
direction and beyond its tolerance (the allowed worsening). Default
tolerances: 5% of the baseline for efficiency metrics, 0 for quality metrics
(accuracy, errors, perplexity), whose tests already account for their noise.
Vectorised over aligned frames: O(n) per metric.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from paretoscope.core.errors import InputError
from paretoscope.core.metrics import METRICS, metric

__all__ = [
    "DEFAULT_TOLERANCE_PCT",
    "QUALITY_METRICS",
    "VERDICTS",
    "Tolerance",
    "all_changes",
    "default_tolerance",
    "metric_changes",
    "parse_tolerance",
    "test_kind",
]

Z = 1.959963984540054
ALPHA = 0.05
#: Allowed worsening of efficiency metrics when ``--tolerance`` does not name them, in %.
DEFAULT_TOLERANCE_PCT = 5.0
#: Metrics whose default tolerance is 0: their tests already carry their noise.
QUALITY_METRICS = frozenset(
    {"accuracy", "accuracy_top5", "mae", "rmse", "perplexity", "next_token_accuracy"}
)
_EXACT = frozenset({"model_size_mb", "params"})
_DERIVED = {"throughput_per_s": "latency_ms_p50"}
VERDICTS = (
    "regression",
    "worse within tolerance",
    "improvement",
    "no significant change",
    "not tested (no interval)",
)


@dataclass(frozen=True)
class Tolerance:
    """How much worse a metric may get before a significant change fails the gate.

    ``value`` >= 0: a fraction of the baseline value when ``relative``, else in
    the metric's unit. ``given``: named on the command line (which also gates
    a metric without an interval).
    """

    value: float
    relative: bool = True
    given: bool = False

    def allowed(self, baseline: np.ndarray) -> np.ndarray:
        return (
            self.value * np.abs(baseline) if self.relative else np.full_like(baseline, self.value)
        )

    def text(self, key: str) -> str:
        sign = "+" if metric(key).direction == "lower" else "-"
        if self.value == 0:
            return "0"
        if self.relative:
            return f"{sign}{self.value * 100:g}%"
        return f"{sign}{self.value:g} {metric(key).unit}".rstrip()


def default_tolerance(key: str) -> Tolerance:
    """The tolerance of ``key`` when none is given (see the module docstring)."""
    return Tolerance(0.0 if key in QUALITY_METRICS else DEFAULT_TOLERANCE_PCT / 100.0)


def parse_tolerance(text: str) -> tuple[str, Tolerance]:
    """``METRIC=+5%`` (relative), ``METRIC=5%`` or ``METRIC=+0.2`` (the metric's unit).

    The sign is optional; when given it must point the worse way (``+`` for
    lower-is-better metrics such as latency, ``-`` for accuracy or
    throughput). Raises ``InputError`` for a missing ``=``, an unknown metric,
    a value that is not a number, a negative amount or a sign that points the
    better way.
    """
    key, sep, raw = text.partition("=")
    key, raw = key.strip(), raw.strip()
    if not sep or not key or not raw:
        raise InputError(
            f"--tolerance takes METRIC=AMOUNT, e.g. 'latency_ms_p50=+5%' or 'accuracy=-0.01'; "
            f"got {text!r}"
        )
    m = metric(key)  # InputError naming the valid keys
    relative = raw.endswith("%")
    number = raw[:-1].strip() if relative else raw
    sign = number[:1] if number[:1] in "+-" else ""
    try:
        value = float(number[1:] if sign else number)
    except ValueError:
        raise InputError(
            f"--tolerance {text!r}: {number!r} is not a number (e.g. +5% or 0.2)"
        ) from None
    if not math.isfinite(value) or value < 0:
        raise InputError(f"--tolerance {text!r}: the amount must be a finite number >= 0")
    worse = "+" if m.direction == "lower" else "-"
    if sign and sign != worse:
        raise InputError(
            f"--tolerance {text!r}: {key} is better when {m.direction}, so its tolerance is an "
            f"allowed {'increase' if worse == '+' else 'decrease'}: write {key}={worse}{value:g}"
            + ("%" if relative else "")
        )
    return key, Tolerance(value / 100.0 if relative else value, relative, given=True)


def test_kind(key: str) -> str:
    """Which test compares ``key`` when both runs have what it needs (module docstring)."""
    m = METRICS[key]
    if key in _EXACT:
        return "exact"
    if key in _DERIVED:
        return "ratio-ci (from p50)"
    if m.ci_keys is not None:
        return "newcombe" if m.unit == "fraction" else "ratio-ci"
    return "point"


def _num(frame: pd.DataFrame, key: str) -> np.ndarray:
    if key not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[key], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _ratio_interval(
    base: pd.DataFrame, cur: pd.DataFrame, key: str
) -> tuple[np.ndarray, np.ndarray]:
    """Interval of current / baseline of a median with stored 95% intervals (NaN where none)."""
    lo_key, hi_key = METRICS[key].ci_keys or ("", "")
    b, c = _num(base, key), _num(cur, key)
    bl, bh, cl, ch = (_num(f, k) for f in (base, cur) for k in (lo_key, hi_key))
    with np.errstate(divide="ignore", invalid="ignore"):
        se_b = (np.log(bh) - np.log(bl)) / (2 * Z)
        se_c = (np.log(ch) - np.log(cl)) / (2 * Z)
        lr = np.log(c / b)
        s = np.sqrt(se_b**2 + se_c**2)
        ok = (bl > 0) & (cl > 0) & (bh >= bl) & (ch >= cl) & (b > 0) & (c > 0)
        low = np.where(ok, np.exp(lr - Z * s), np.nan)
        high = np.where(ok, np.exp(lr + Z * s), np.nan)
    return low, high


def _newcombe(base: pd.DataFrame, cur: pd.DataFrame, key: str) -> tuple[np.ndarray, np.ndarray]:
    """Newcombe's interval of current - baseline from both Wilson intervals (NaN where none)."""
    lo_key, hi_key = METRICS[key].ci_keys or ("", "")
    b, c = _num(base, key), _num(cur, key)
    bl, bh, cl, ch = (_num(f, k) for f in (base, cur) for k in (lo_key, hi_key))
    d = c - b
    low = d - np.sqrt((c - cl) ** 2 + (bh - b) ** 2)
    high = d + np.sqrt((ch - c) ** 2 + (b - bl) ** 2)
    return low, high


def _relative_interval(
    base: pd.DataFrame, cur: pd.DataFrame, key: str, point: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """95% interval of the change of ``key`` as a fraction of the baseline (NaN where none).

    ``point``: the relative change itself, used as a zero-width interval for
    exact metrics and for interval-less metrics that a tolerance gates.
    """
    kind = test_kind(key)
    b, c = _num(base, key), _num(cur, key)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "ratio-ci":
            rl, rh = _ratio_interval(base, cur, key)
            return rl - 1.0, rh - 1.0
        if kind == "ratio-ci (from p50)":
            rl, rh = _ratio_interval(base, cur, _DERIVED[key])
            r50 = _num(cur, _DERIVED[key]) / _num(base, _DERIVED[key])
            t = c / b
            return t * r50 / rh - 1.0, t * r50 / rl - 1.0
        if kind == "newcombe":
            al, ah = _newcombe(base, cur, key)
            return al / np.abs(b), ah / np.abs(b)
    if point is not None:
        return point, point
    return np.full(len(b), np.nan), np.full(len(b), np.nan)


def metric_changes(
    base: pd.DataFrame,
    cur: pd.DataFrame,
    key: str,
    tolerance: Tolerance | None = None,
    paired_p: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per aligned row pair (``base`` row i vs ``cur`` row i): the change of ``key``, its verdict.

    Columns: ``metric``, ``baseline``, ``current``, ``change`` (current -
    baseline, in the metric's unit), ``change_pct`` (of the baseline),
    ``ci_low_pct``/``ci_high_pct`` (95% interval of the change, % of the
    baseline; NaN without one), ``test``, ``significant`` (True, False, or
    None when untested), ``worse``, ``tolerance`` (text), ``verdict`` (one of
    ``VERDICTS``). Rows where either run lacks the metric are dropped.
    ``paired_p``: McNemar p-values for accuracy (NaN where not paired).
    Index: ``base``'s. Raises ``InputError`` for an unknown metric.
    """
    m = metric(key)
    if len(base) != len(cur):
        raise InputError("the baseline and current rows must be aligned pairs")
    tol = tolerance or default_tolerance(key)
    b, c = _num(base, key), _num(cur, key)
    n = len(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = c - b
        rel = np.where(b != 0, change / np.abs(b), np.nan)
    kind = test_kind(key)
    low, high = _relative_interval(base, cur, key, rel if kind == "exact" or tol.given else None)
    has_ci = np.isfinite(low) & np.isfinite(high)
    sig = np.where(has_ci, (low > 0) | (high < 0), False)
    if kind == "exact" or (kind == "point" and tol.given):
        sig, has_ci = change != 0, np.ones(n, dtype=bool)
    if kind == "newcombe" and paired_p is not None:
        p = np.asarray(paired_p, dtype=np.float64)
        sig = np.where(np.isfinite(p), p < ALPHA, sig)
        has_ci = has_ci | np.isfinite(p)
    tested = has_ci & np.isfinite(change)
    worse_by = change * m.sign  # > 0: worse
    beyond = worse_by > tol.allowed(b) * (1 + 1e-12)
    verdict = np.select(
        [
            ~tested,
            sig & (worse_by > 0) & beyond,
            sig & (worse_by > 0),
            sig & (worse_by < 0),
        ],
        ["not tested (no interval)", "regression", "worse within tolerance", "improvement"],
        default="no significant change",
    )
    test = np.where(tested, "point (tolerance only)" if kind == "point" else kind, "none")
    if kind == "newcombe" and paired_p is not None:
        test = np.where(np.isfinite(np.asarray(paired_p, dtype=float)), "mcnemar (paired)", test)
    out = pd.DataFrame(
        {
            "metric": key,
            "baseline": b,
            "current": c,
            "change": change,
            "change_pct": rel * 100.0,
            "ci_low_pct": np.where(tested, low * 100.0, np.nan),
            "ci_high_pct": np.where(tested, high * 100.0, np.nan),
            "test": test,
            "significant": pd.array(np.where(tested, sig, False), dtype="boolean"),
            "worse": worse_by > 0,
            "tolerance": tol.text(key),
            "verdict": verdict,
        },
        index=base.index,
    )
    out.loc[~tested, "significant"] = pd.NA
    return out[np.isfinite(b) & np.isfinite(c)]


def all_changes(
    base: pd.DataFrame,
    cur: pd.DataFrame,
    tolerances: Mapping[str, Tolerance] | None = None,
    paired_p: np.ndarray | None = None,
    metrics: list[str] | None = None,
) -> pd.DataFrame:
    """``metric_changes`` of every registry metric (or ``metrics``), stacked; index: base's."""
    tolerances = tolerances or {}
    parts = [
        metric_changes(base, cur, k, tolerances.get(k), paired_p if k == "accuracy" else None)
        for k in (metrics or list(METRICS))
        if k in base.columns and k in cur.columns
    ]
    parts = [p for p in parts if len(p)]
    if not parts:
        return metric_changes(base.iloc[0:0], cur.iloc[0:0], "latency_ms_p50")
    return pd.concat(parts)
