"""The regression gate over two sets of runs: match configurations, compare every metric, decide.

``check_runs(baseline, current)`` pairs the newest run of each configuration
on both sides (``analysis.configs``), compares every registry metric both
runs of a pair have (``analysis.regression``) and says which changes are
regressions. Accuracy is tested pairwise (McNemar) where both runs stored
per-item correctness (column ``item_correct``) on the same items.
``regressions_against_previous`` is the dashboard's form: each run of a
frame against the run of its configuration just before it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from paretoscope.analysis.configs import Match, Matching, match_newest
from paretoscope.analysis.regression import Tolerance, all_changes
from paretoscope.core.intervals import paired_test

__all__ = ["CheckReport", "check_runs", "paired_p_values", "regressions_against_previous"]

#: Columns that describe a pair in the report, taken from the current run.
LABEL_FIELDS: tuple[str, ...] = (
    "model",
    "runtime",
    "device",
    "device_name",
    "precision",
    "batch_size",
    "threads",
)


@dataclass(frozen=True)
class CheckReport:
    """What the gate found: one row per (configuration, metric) compared, and the unmatched."""

    changes: pd.DataFrame  # see ``analysis.regression.metric_changes``, plus key, run ids, labels
    matching: Matching
    match: Match
    tolerances: Mapping[str, Tolerance] = field(default_factory=dict)

    @property
    def regressions(self) -> pd.DataFrame:
        return self.changes[self.changes["verdict"] == "regression"]

    @property
    def improvements(self) -> pd.DataFrame:
        return self.changes[self.changes["verdict"] == "improvement"]

    @property
    def n_matched(self) -> int:
        return len(self.matching.baseline)

    @property
    def exit_code(self) -> int:
        """0: no regression beyond tolerance; 1: at least one."""
        return 1 if len(self.regressions) else 0


def paired_p_values(base: pd.DataFrame, cur: pd.DataFrame) -> np.ndarray:
    """McNemar's exact p per aligned pair scored on the same items (NaN where not possible)."""
    out = np.full(len(base), np.nan)
    if "item_correct" not in base.columns or "item_correct" not in cur.columns:
        return out
    a = base["item_correct"].tolist()
    b = cur["item_correct"].tolist()
    same = _same_items(base, cur)
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        if isinstance(x, str) and isinstance(y, str) and x and len(x) == len(y) and same[i]:
            out[i] = paired_test(y, x).p_value
    return out


def _same_items(base: pd.DataFrame, cur: pd.DataFrame) -> np.ndarray:
    same = np.ones(len(base), dtype=bool)
    for col in ("dataset_sha256", "accuracy_items"):
        if col in base.columns and col in cur.columns:
            x = base[col].astype("string").fillna("").to_numpy()
            y = cur[col].astype("string").fillna("").to_numpy()
            same &= x == y
    return same


def _pair_changes(
    base: pd.DataFrame, cur: pd.DataFrame, tolerances: Mapping[str, Tolerance]
) -> pd.DataFrame:
    """Every metric's changes of aligned pairs, with the pairs' ids and labels."""
    b = base.reset_index(drop=True)
    c = cur.reset_index(drop=True)
    changes = all_changes(b, c, tolerances, paired_p_values(b, c))
    pos = changes.index.to_numpy()
    changes = changes.reset_index(drop=True)
    changes.insert(0, "baseline_run", b["run_id"].astype(str).to_numpy()[pos])
    changes.insert(1, "current_run", c["run_id"].astype(str).to_numpy()[pos])
    for col in LABEL_FIELDS:
        if col in c.columns:
            changes[col] = c[col].to_numpy()[pos]
    if "key" in c.columns:
        changes["key"] = c["key"].to_numpy()[pos]
    return changes


def check_runs(
    baseline: pd.DataFrame,
    current: pd.DataFrame,
    tolerances: Mapping[str, Tolerance] | None = None,
    match: Match = "name",
) -> CheckReport:
    """The gate's report of ``current`` against ``baseline`` (run frames, as ``runs_frame``).

    Raises ``InputError`` for an unknown ``match``.
    """
    tolerances = dict(tolerances or {})
    matching = match_newest(baseline, current, match)
    changes = _pair_changes(matching.baseline, matching.current, tolerances)
    order = {v: i for i, v in enumerate(("regression", "improvement"))}
    changes = changes.sort_values(
        "verdict", key=lambda s: s.map(order).fillna(9), kind="stable"
    ).reset_index(drop=True)
    return CheckReport(changes, matching, match, tolerances)


def regressions_against_previous(
    frame: pd.DataFrame, previous: pd.Series, run_ids: Sequence[str]
) -> dict[str, list[str]]:
    """For each of ``run_ids`` with a previous run: the metrics that regressed against it.

    ``previous`` maps each row of ``frame`` to the run id before it in its
    configuration (``analysis.configs.previous_runs``). Default tolerances;
    only the ``run_ids`` asked for are compared (O(k) for k of them).
    """
    by_id = frame.set_index(frame["run_id"].astype(str), drop=False)
    prev = pd.Series(previous.to_numpy(), index=by_id.index)
    pairs = [(r, str(prev[r])) for r in run_ids if r in prev.index and isinstance(prev[r], str)]
    out: dict[str, list[str]] = {r: [] for r in run_ids}
    if not pairs:
        return out
    cur = by_id.loc[[r for r, _ in pairs]]
    base = by_id.loc[[p for _, p in pairs]]
    changes = _pair_changes(base, cur, {})
    for run, group in changes[changes["verdict"] == "regression"].groupby("current_run"):
        out[str(run)] = group["metric"].tolist()
    return out
