"""The Decide page's view: a decision (constraints, filters, objectives) in the URL.

``DECIDE_KEYS`` says what each URL key holds (documented in docs/url.md); the
decision's own text forms are those of the command line (``core.decision``):
``req=latency_ms_p99<=20`` is ``--require 'latency_ms_p99<=20'``,
``where=runtime=ort`` is ``--where runtime=ort``, ``obj=max:throughput_per_s``
is ``--maximize throughput_per_s``. Pure: no Streamlit, DuckDB or torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from paretoscope.core.decision import Constraint, Decision, Objective, Where
from paretoscope.core.errors import InputError
from paretoscope.core.metrics import METRICS
from paretoscope.views.query import QueryReader, check_run_id, shown

__all__ = ["DECIDE_KEYS", "DEFAULT_OBJECTIVE", "DecideView"]

DEFAULT_OBJECTIVE = Objective("accuracy", "max")
# URL key -> what it holds. docs/url.md has a row for each (a test checks it).
DECIDE_KEYS: dict[str, str] = {
    "req": "a hard constraint, `METRIC<=VALUE` or `METRIC>=VALUE` (as `decide --require`); "
    "repeat for several (all apply)",
    "where": "a filter, `FIELD=VALUE` over a `--by` field or `dim_<name>` (as `decide "
    "--where`); repeat for several (all apply)",
    "obj": "the objective, `max:METRIC` or `min:METRIC` (default `max:accuracy`)",
    "then": "a second objective that breaks ties, `max:METRIC` or `min:METRIC` (default none)",
    "x": "the chart's x metric (default: the first constrained metric other than the objective)",
    "base": "the baseline run id of the paired accuracy test (default: the most accurate run)",
}

T = TypeVar("T")


@dataclass(frozen=True)
class DecideView:
    """The Decide page's view: the decision, the chart's x metric and the test's baseline."""

    decision: Decision = field(default_factory=lambda: Decision(objective=DEFAULT_OBJECTIVE))
    x: str | None = None
    baseline: str | None = None

    def __post_init__(self) -> None:
        if self.x is not None and (self.x not in METRICS or self.x == self.objective.metric):
            raise InputError(f"the chart's x must be a metric other than the objective: {self.x!r}")
        if self.baseline is not None:
            check_run_id(self.baseline)

    @property
    def objective(self) -> Objective:
        return self.decision.objective

    def to_query(self) -> dict[str, str | list[str]]:
        """Query parameters for this view; defaults are left out."""
        d = self.decision
        out: dict[str, str | list[str]] = {}
        if d.require:
            out["req"] = [c.text() for c in d.require]
        if d.where:
            out["where"] = [w.text() for w in d.where]
        if d.objective != DEFAULT_OBJECTIVE:
            out["obj"] = d.objective.text()
        if d.then is not None:
            out["then"] = d.then.text()
        if self.x is not None:
            out["x"] = self.x
        if self.baseline is not None:
            out["base"] = self.baseline
        return out

    @classmethod
    def from_query(cls, params: object) -> tuple[DecideView, list[str]]:
        """The view a link asks for, and a notice for every parameter ignored. Never raises."""
        reader = QueryReader(params, DECIDE_KEYS)
        require = _parsed(reader, "req", Constraint.parse)
        where = _parsed(reader, "where", Where.parse)
        objective = _last(reader, "obj", Objective.parse) or DEFAULT_OBJECTIVE
        then = _last(reader, "then", Objective.parse)
        if then is not None and then.metric == objective.metric:
            reader.notices.append(f"Ignored then={then.text()}: it is the objective's metric.")
            then = None
        x = reader.metric("x", objective.metric)
        base = reader.run_id("base")
        decision = Decision(tuple(require), tuple(where), objective, then)
        return cls(decision, None if x == objective.metric else x, base), reader.notices


def _parsed(reader: QueryReader, key: str, parse: Callable[[str], T]) -> list[T]:
    out: list[T] = []
    for raw in reader.params.get(key, []):
        try:
            out.append(parse(raw))
        except InputError as err:
            reader.notices.append(f"Ignored {key}={shown(raw)}: {err}.")
    return out


def _last(reader: QueryReader, key: str, parse: Callable[[str], T]) -> T | None:
    values = _parsed(reader, key, parse)
    if len(reader.params.get(key, [])) > 1:
        reader.notices.append(f"{key} was given more than once; used the last.")
    return values[-1] if values else None
