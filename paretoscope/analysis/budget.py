"""Budget answers: the best run within a cost budget, the cheapest run above a quality floor.

"The most accurate model under 5 ms on this CPU" is ``best_within_budget(runs,
cost="latency_ms_p50", limit=5.0, objective="accuracy")``; "the cheapest one
above 97%" is ``cheapest_above_floor(runs, cost=..., floor=0.97)``. Both are
direction-aware through the metric registry (a budget on throughput, where
higher is better, means "at least"). Ties on the answered metric are broken by
the other metric, then by run id, so an answer is always on the 2-D frontier
of (cost, objective) and is the same run every time. Each answer names the
runner-up and whether it is *within noise* of the winner on the answered
metric (their 95% intervals overlap, ``analysis.noise``): then the data
cannot say which of the two is better. Questions are answered per group,
and the Frontier page's groups never mix device names or data sets.

Pure: pandas and numpy. O(n) per question.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from paretoscope.analysis.noise import intervals_overlap
from paretoscope.analysis.selection import group_sort_key
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
    # The next-best qualifying run, and whether its interval on the answered
    # metric (``answered``) overlaps the winner's: the data cannot separate them.
    runner_up: pd.Series | None = None
    within_noise: bool = False
    answered: str | None = None

    @property
    def run_id(self) -> str | None:
        return None if self.run is None else str(self.run.get("run_id"))

    def in_group(self, group: str | None) -> BudgetAnswer:
        """This answer, labelled with ``group``."""
        return replace(self, group=group)


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


def _pick(frame: pd.DataFrame, eligible: np.ndarray, first: str, second: str) -> int | None:
    """The position of the eligible row best on ``first``, ties broken by ``second`` then run id.

    O(n).
    """
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
    return int(tied[0])


def _answer(
    frame: pd.DataFrame, eligible: np.ndarray, first: str, second: str, question: str
) -> BudgetAnswer:
    """The winner on ``first`` (then ``second``), the runner-up, and if they are within noise."""
    n = int(eligible.sum())
    best = _pick(frame, eligible, first, second)
    if best is None:
        return BudgetAnswer(question, None, n, answered=first)
    rest = eligible.copy()
    rest[best] = False
    second_best = _pick(frame, rest, first, second)
    if second_best is None:
        return BudgetAnswer(question, frame.iloc[best], n, answered=first)
    pair = frame.iloc[[best, second_best]]
    noise = bool(intervals_overlap(pair, [first])[0, 1])
    return BudgetAnswer(
        question, frame.iloc[best], n, runner_up=frame.iloc[second_best], within_noise=noise,
        answered=first,
    )  # fmt: skip


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
    return _answer(frame, eligible, objective, cost, question)


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
    return _answer(frame, eligible, cost, objective, question)


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

    ``groups`` labels each row of ``frame`` (e.g. ``FrontierPoints.points["group"]``,
    which keeps device names and data sets apart); runs of two groups are never
    ranked against each other. Answers come group by group in sorted order,
    budget before floor.
    """
    out: list[BudgetAnswer] = []
    if limit is None and floor is None:
        return out
    labels = groups.astype(str)
    for label in sorted(labels.unique().tolist(), key=group_sort_key):
        rows = (labels == label).to_numpy(dtype=bool)
        group = None if labels.nunique() <= 1 and label == "all" else label
        if limit is not None:
            ans = best_within_budget(frame, cost, limit, objective, rows=rows)
            out.append(ans.in_group(group))
        if floor is not None:
            ans = cheapest_above_floor(frame, cost, floor, objective, rows=rows)
            out.append(ans.in_group(group))
    return out
