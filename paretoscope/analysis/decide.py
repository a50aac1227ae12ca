"""Decisions: hard constraints, filters and an objective, answered with a ranked recommendation.

A ``Decision`` asks "which run should we ship?": every run that matches the
filters (``where``: run field = value, the fields ``paretoscope frontier --by``
accepts) and meets every hard constraint (``latency_ms_p99<=20``,
``accuracy>=0.97``) is *feasible*; the feasible runs are ranked by the
objective (maximise or minimise one metric, optionally a second one to break
ties lexicographically) and the first is the recommendation. A run missing a
constrained or optimised metric is not feasible: a number that was not
measured cannot meet a limit.

The result also says which runners-up are indistinguishable from the
recommendation within noise (their 95% intervals of the objective overlap,
``analysis.noise``), and which infeasible runs came closest (*near-misses*):
each violated constraint with its limit, the run's value and by how much it
misses. Metric keys come from the registry (``core.metrics``), so a metric
added later is a valid constraint as soon as it is registered and measured.
Pure: no Streamlit, DuckDB or torch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from paretoscope.analysis.noise import interval_bounds
from paretoscope.core.decision import (
    Constraint,
    Decision,
    Objective,
    Op,
    Where,
    check_metric,
    number_text,
)
from paretoscope.core.metrics import METRICS
from paretoscope.core.records import RunRecord

__all__ = [
    "Constraint",
    "Decision",
    "DecisionResult",
    "NearMiss",
    "Objective",
    "Violation",
    "Where",
    "check_metric",
    "decide",
    "default_baseline",
    "paired_evidence",
    "where_mask",
]


def where_mask(frame: pd.DataFrame, where: Sequence[Where]) -> np.ndarray:
    """Rows of ``frame`` matching every filter (a field the frame lacks matches nothing)."""
    mask = np.ones(len(frame), dtype=bool)
    for w in where:
        if w.field not in frame.columns:
            return np.zeros(len(frame), dtype=bool)
        col = frame[w.field]
        if w.numeric:
            values = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
            mask &= values == float(w.value)
        else:
            mask &= (col.astype("string") == w.value).fillna(False).to_numpy(dtype=bool)
    return mask


@dataclass(frozen=True)
class Violation:
    """One constraint a run breaks: its value (None: not measured) and the amount past the limit.

    An objective the run lacks is a violation with no operator and no limit.
    """

    metric: str
    op: Op | None
    limit: float | None
    value: float | None
    by: float | None

    def text(self) -> str:
        """E.g. ``latency_ms_p99 = 25 > 20 (by 5)`` or ``peak_mem_mb not measured``."""
        if self.value is None or self.by is None:
            return f"{self.metric} not measured"
        past = ">" if self.op == "<=" else "<"
        return (
            f"{self.metric} = {self.value:.4g} {past} {number_text(self.limit or 0.0)} "
            f"(by {self.by:.3g})"
        )


@dataclass(frozen=True)
class NearMiss:
    """An infeasible run and every constraint it breaks (or objective it lacks: limit None)."""

    run_id: str
    violations: tuple[Violation, ...]


@dataclass(frozen=True)
class DecisionResult:
    """A decision's answer over one frame of runs.

    ``feasible`` holds the feasible rows of the frame, best first (its index is
    the frame's); ``within_noise`` the runners-up indistinguishable from the
    recommendation; ``noise_note`` says how that was judged; ``near_misses``
    the closest infeasible runs, closest first; ``pool`` the number of runs
    the filters kept and ``n_infeasible`` how many of them are infeasible.
    """

    decision: Decision
    feasible: pd.DataFrame
    within_noise: tuple[str, ...]
    noise_note: str
    near_misses: tuple[NearMiss, ...]
    pool: int
    n_infeasible: int

    @property
    def recommended(self) -> pd.Series | None:
        return None if self.feasible.empty else self.feasible.iloc[0]

    @property
    def recommended_id(self) -> str | None:
        rec = self.recommended
        return None if rec is None else str(rec["run_id"])


def _values(frame: pd.DataFrame, key: str) -> np.ndarray:
    if key not in frame.columns:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[key], errors="coerce").to_numpy(dtype=np.float64)


def _ranked(pool: pd.DataFrame, decision: Decision, rows: np.ndarray) -> np.ndarray:
    """``rows`` of ``pool`` ordered best first; ties broken by run id (deterministic)."""
    keys: dict[str, object] = {
        "k1": decision.objective.key(_values(pool, decision.objective.metric)[rows])
    }
    if decision.then is not None:
        keys["k2"] = decision.then.key(_values(pool, decision.then.metric)[rows])
    keys["id"] = pool["run_id"].astype(str).to_numpy()[rows]
    order = pd.DataFrame(keys).sort_values(list(keys), kind="mergesort").index.to_numpy()
    return rows[order]


def _noise(feasible: pd.DataFrame, objective: Objective) -> tuple[tuple[str, ...], str]:
    m = METRICS[objective.metric]
    if len(feasible) < 2:
        return (), ""
    low, high = interval_bounds(feasible, objective.metric)
    if m.ci_keys is None or not (high[0] > low[0]):
        why = (
            f"{m.label} has no stored interval"
            if m.ci_keys is None
            else f"the recommendation has no stored interval of {m.label.lower()}"
        )
        note = f"{why}: runners-up are told apart by their values alone."
    else:
        note = (
            f"A runner-up is within noise when its 95% interval of {m.label.lower()} "
            f"({m.ci_keys[0]} to {m.ci_keys[1]}) overlaps the recommendation's."
        )
    overlap = (low <= high[0]) & (low[0] <= high)
    overlap[0] = False
    ids = feasible["run_id"].astype(str).to_numpy()
    return tuple(str(i) for i in ids[overlap]), note


def decide(frame: pd.DataFrame, decision: Decision, *, near_misses: int = 10) -> DecisionResult:
    """Answer ``decision`` over ``frame`` (``Store.runs_frame()`` rows, not modified).

    Returns at most ``near_misses`` near-misses: infeasible runs ranked by
    the number of missing values, then the summed relative amount past the
    limits, then the run id.
    """
    pool = frame[where_mask(frame, decision.where)] if decision.where else frame
    n = len(pool)
    met = np.ones(n, dtype=bool)
    values = [_values(pool, c.metric) for c in decision.require]
    excess: list[np.ndarray] = []
    for c, v in zip(decision.require, values, strict=True):
        met &= c.met(v)
        excess.append(c.excess(v))
    objectives = [decision.objective, *([decision.then] if decision.then else [])]
    measured = [np.isfinite(_values(pool, o.metric)) for o in objectives]
    ok = met.copy()
    for has in measured:
        ok &= has
    feasible = pool.iloc[_ranked(pool, decision, np.flatnonzero(ok))]
    within, note = _noise(feasible, decision.objective)
    bad = np.flatnonzero(~ok)
    misses = _near_misses(pool, decision, bad, (values, excess), objectives, measured, near_misses)
    return DecisionResult(decision, feasible, within, note, misses, n, int(bad.size))


def _near_misses(
    pool: pd.DataFrame,
    decision: Decision,
    bad: np.ndarray,
    measures: tuple[list[np.ndarray], list[np.ndarray]],
    objectives: list[Objective],
    measured: list[np.ndarray],
    limit: int,
) -> tuple[NearMiss, ...]:
    if bad.size == 0 or limit <= 0:
        return ()
    values, excess = measures
    missing = np.zeros(bad.size)
    distance = np.zeros(bad.size)
    for c, e in zip(decision.require, excess, strict=True):
        eb = e[bad]
        missing += np.isnan(eb)
        scale = abs(c.limit) if c.limit else 1.0
        distance += np.nan_to_num(eb / scale, nan=0.0)
    for has in measured:
        missing += ~has[bad]
    # Only the runs that can be among the closest ``limit`` are sorted with their ids.
    near = np.arange(bad.size)
    if bad.size > limit:
        k = np.lexsort((distance, missing))[limit - 1]
        near = np.flatnonzero(
            (missing < missing[k]) | ((missing == missing[k]) & (distance <= distance[k]))
        )
    ids = pool["run_id"].iloc[bad[near]].astype(str).to_numpy()
    order = pd.DataFrame({"m": missing[near], "d": distance[near], "id": ids}).sort_values(
        ["m", "d", "id"], kind="mergesort"
    )
    out: list[NearMiss] = []
    for pos in order.index.to_numpy()[:limit]:
        row = bad[near[pos]]
        violations: list[Violation] = []
        for c, v_all, e in zip(decision.require, values, excess, strict=True):
            if not e[row] > 0 and not np.isnan(e[row]):
                continue
            v = v_all[row]
            value = None if np.isnan(v) else float(v)
            violations.append(
                Violation(c.metric, c.op, c.limit, value, None if value is None else float(e[row]))
            )
        for o, has in zip(objectives, measured, strict=True):
            if not has[row]:
                violations.append(Violation(o.metric, None, None, None, None))
        out.append(NearMiss(str(ids[pos]), tuple(violations)))
    return tuple(out)


def default_baseline(pool: pd.DataFrame) -> str | None:
    """The baseline of the paired accuracy test: the most accurate run of ``pool`` (ties: id)."""
    acc = _values(pool, "accuracy")
    rows = np.flatnonzero(np.isfinite(acc))
    if rows.size == 0:
        return None
    ids = pool["run_id"].astype(str).to_numpy()
    order = pd.DataFrame({"a": -acc[rows], "id": ids[rows]}).sort_values(["a", "id"])
    return str(ids[rows[order.index[0]]])


def paired_evidence(
    pool: pd.DataFrame,
    result: DecisionResult,
    baseline: str | None,
    record: Callable[[str], RunRecord | None],
) -> tuple[str | None, list[str]]:
    """McNemar's exact test of the recommendation against ``baseline`` (default: the most
    accurate run of ``pool``), as sentences (``analysis.compare.paired_accuracy``).

    ``record`` reads a run's record (``Store.get_record``) for its per-item top-1
    correctness. Returns the baseline used and the sentences (none when the
    recommendation is the baseline or either lacks per-item results).
    """
    from paretoscope.analysis.compare import paired_accuracy

    ids = set(pool["run_id"].astype(str))
    base = baseline if baseline in ids else default_baseline(pool)
    rec = result.recommended_id
    if base is None or rec is None or rec == base:
        return base, []
    correct: dict[str, str | None] = {}
    for run in (rec, base):
        r = record(run)
        correct[run] = (
            None
            if r is None
            else next((a.item_correct for a in r.accuracy if a.metric == "top1"), None)
        )
    names = {run: f"{_label(pool, run)} ({run})" for run in (rec, base)}
    return base, paired_accuracy(pool, [rec], base, correct, names)


def _label(pool: pd.DataFrame, run: str) -> str:
    row = pool[pool["run_id"].astype(str) == run].iloc[0]
    return " · ".join(str(row.get(k)) for k in ("model", "runtime", "precision", "device"))


# Fields whose mixing a ranking must say out loud (trust issue: no silent pooling).
_POOLED_FIELDS: tuple[tuple[str, str], ...] = (
    ("device_name", "device names"),
    ("host_id", "hosts"),
    ("dataset", "data sets"),
)


def pooling_note(result: DecisionResult) -> str:
    """What the feasible runs span that a frontier would never pool, and how to narrow it.

    Empty when they share one device name, host and data set. A decision ranks
    whatever its filters keep, on purpose (``--where`` narrows it), so this is said,
    not enforced.
    """
    feasible = result.feasible
    spans: list[str] = []
    example = ""
    for field, plural in _POOLED_FIELDS:
        if field not in feasible.columns:
            continue
        values = [str(v) for v in feasible[field].dropna().unique()]
        if len(values) > 1:
            shown = ", ".join(sorted(values)[:3]) + (" …" if len(values) > 3 else "")
            spans.append(f"{len(values)} {plural} ({shown})")
            if not example and field != "host_id":
                example = f"{field}={feasible[field].dropna().iloc[0]}"
    if not spans:
        return ""
    narrow = f" such as {example}" if example else ""
    return (
        "The feasible runs span " + " and ".join(spans) + ": they are ranked together because "
        "the filters keep them all. To decide for one machine, add a filter" + narrow + "."
    )
