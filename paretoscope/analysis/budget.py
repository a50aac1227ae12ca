"""Budget answers: the best run within a cost budget, the cheapest run above a quality floor.

"The most accurate model under 5 ms on this CPU" is ``best_within_budget(runs,
cost="latency_ms_p50", limit=5.0, objective="accuracy")``; "the cheapest one
above 97%" is ``cheapest_above_floor(runs, cost=..., floor=0.97)``. Both are
direction-aware through the metric registry (a budget on throughput, where
higher is better, means "at least"). Ties on the answered metric are broken by
the other metric, then by run id, so an answer is always on the 2-D frontier
of (cost, objective) and is the same run every time.

Pure: pandas and numpy. O(n) per question.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from paretoscope.core.errors import InputError
from paretoscope.core.metrics import METRICS, metric

__all__ = [
    "BudgetAnswer",
    "best_within_budget",
    "budget_answers",
    "cheapest_above_floor",
    "group_keys",
]


@dataclass(frozen=True)
class BudgetAnswer:
    """One answered question: ``run`` is the frame's row (None when no run qualifies)."""

    question: str
    run: pd.Series | None
    n_eligible: int
    group: str | None = None

    @property
    def run_id(self) -> str | None:
        return None if self.run is None else str(self.run.get("run_id"))


def _num(frame: pd.DataFrame, key: str) -> np.ndarray:
    if key not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[key], errors="coerce").to_numpy(dtype=np.float64)


def _fmt(key: str, value: float) -> str:
    m = METRICS[key]
    unit = "" if m.unit in ("fraction", "count", "") else f" {m.unit}"
    if m.unit == "fraction":
        return f"{value:.2%}"
    return f"{format(value, m.fmt)}{unit}"


def _pick(frame: pd.DataFrame, eligible: np.ndarray, first: str, second: str) -> pd.Series | None:
    """The eligible row best on ``first``, ties broken by ``second`` then run id. O(n)."""
    idx = np.flatnonzero(eligible)
    if idx.size == 0:
        return None
    a = _num(frame, first)[idx] * metric(first).sign
    b = _num(frame, second)[idx] * metric(second).sign
    # Only rows tied on both metrics need their ids read (strings are slow at 10^5 rows).
    tied = idx[(a == a.min()) & (b == b[a == a.min()].min())]
    if tied.size > 1 and "run_id" in frame.columns:
        ids = frame["run_id"].iloc[tied].astype(str).to_numpy()
        tied = tied[np.argsort(ids, kind="stable")]
    return frame.iloc[int(tied[0])]


def _check(cost: str, objective: str) -> None:
    metric(cost)
    metric(objective)
    if cost == objective:
        raise InputError(f"the budget metric and the objective are both {cost!r}")


def best_within_budget(
    frame: pd.DataFrame,
    cost: str,
    limit: float,
    objective: str = "accuracy",
    *,
    rows: np.ndarray | None = None,
) -> BudgetAnswer:
    """The run best on ``objective`` among those whose ``cost`` is within ``limit``.

    Within means ``<= limit`` when lower cost is better, ``>= limit`` otherwise.
    Runs missing either metric never qualify; ``rows`` (a boolean mask)
    restricts the question to some rows without copying the frame. Raises
    ``InputError`` for an unknown metric or ``cost == objective``.
    """
    _check(cost, objective)
    c, o = _num(frame, cost), _num(frame, objective)
    within = c <= limit if metric(cost).direction == "lower" else c >= limit
    eligible = np.isfinite(c) & np.isfinite(o) & within
    if rows is not None:
        eligible &= rows
    word = "≤" if metric(cost).direction == "lower" else "≥"
    question = f"Best {METRICS[objective].label.lower()} with {METRICS[cost].label} {word} "
    question += _fmt(cost, limit)
    run = _pick(frame, eligible, objective, cost)
    return BudgetAnswer(question, run, int(eligible.sum()))


def cheapest_above_floor(
    frame: pd.DataFrame,
    cost: str,
    floor: float,
    objective: str = "accuracy",
    *,
    rows: np.ndarray | None = None,
) -> BudgetAnswer:
    """The run best on ``cost`` among those whose ``objective`` reaches ``floor``.

    Reaches means ``>= floor`` when higher is better, ``<= floor`` otherwise.
    Raises ``InputError`` as ``best_within_budget`` does.
    """
    _check(cost, objective)
    c, o = _num(frame, cost), _num(frame, objective)
    reach = o >= floor if metric(objective).direction == "higher" else o <= floor
    eligible = np.isfinite(c) & np.isfinite(o) & reach
    if rows is not None:
        eligible &= rows
    word = "≥" if metric(objective).direction == "higher" else "≤"
    question = (
        f"Lowest {METRICS[cost].label}"
        if metric(cost).direction == "lower"
        else (f"Highest {METRICS[cost].label}")
    )
    question += f" with {METRICS[objective].label.lower()} {word} {_fmt(objective, floor)}"
    run = _pick(frame, eligible, cost, objective)
    return BudgetAnswer(question, run, int(eligible.sum()))


def group_keys(frame: pd.DataFrame, by: str | None) -> pd.Series:
    """The group of each row as text (missing values are ``<none>``); one group without ``by``."""
    if by is None or by not in frame.columns:
        return pd.Series("all", index=frame.index, dtype=object)
    return frame[by].astype("string").fillna("<none>").astype(object)


def budget_answers(
    frame: pd.DataFrame,
    groups: pd.Series,
    cost: str,
    objective: str,
    *,
    limit: float | None = None,
    floor: float | None = None,
) -> list[BudgetAnswer]:
    """Both questions (those asked: ``limit``/``floor`` not None) answered in each group.

    ``groups`` labels each row of ``frame`` (e.g. ``views.group_labels``);
    answers come group by group in sorted order, budget before floor.
    """
    out: list[BudgetAnswer] = []
    if limit is None and floor is None:
        return out
    labels = groups.astype(str)
    for label in sorted(labels.unique().tolist(), key=_natural):
        rows = (labels == label).to_numpy(dtype=bool)
        group = None if labels.nunique() <= 1 and label == "all" else label
        if limit is not None:
            ans = best_within_budget(frame, cost, limit, objective, rows=rows)
            out.append(BudgetAnswer(ans.question, ans.run, ans.n_eligible, group))
        if floor is not None:
            ans = cheapest_above_floor(frame, cost, floor, objective, rows=rows)
            out.append(BudgetAnswer(ans.question, ans.run, ans.n_eligible, group))
    return out


def _natural(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)
