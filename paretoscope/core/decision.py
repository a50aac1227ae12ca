"""A decision's question: hard constraints, filters and an objective (``paretoscope decide``).

``Constraint`` (``latency_ms_p99<=20``), ``Where`` (``device_name=NVIDIA H200``,
over the fields ``paretoscope frontier --by`` accepts) and ``Objective``
(``max:throughput_per_s``) parse the command line's and the URL's text and
check it against the metric and run-field registries; ``Decision`` holds them.
``analysis.decide`` answers a decision over runs. Pure: numpy only.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from paretoscope.core.errors import InputError
from paretoscope.core.fields import CLI_GROUP_FIELDS, is_dim_key, run_field
from paretoscope.core.metrics import METRICS, Metric

__all__ = [
    "MAX_VALUE_CHARS",
    "Constraint",
    "Decision",
    "Objective",
    "Op",
    "Sense",
    "Where",
    "check_metric",
    "number_text",
]

Op = Literal["<=", ">="]
Sense = Literal["max", "min"]
MAX_VALUE_CHARS = 200
_CONSTRAINT_RE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(<=|>=|=<|=>|<|>)\s*(\S.*?)\s*")
# Fields whose values are numbers: a filter's text is read as one.
_NUMERIC_FIELDS = frozenset({"batch_size", "threads"})


def check_metric(key: str) -> Metric:
    """The registered metric ``key``; else ``InputError`` naming the closest keys."""
    if key in METRICS:
        return METRICS[key]
    close = difflib.get_close_matches(str(key), list(METRICS), n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    raise InputError(f"unknown metric {str(key)[:60]!r}.{hint} Metric keys: {', '.join(METRICS)}")


def _number(text: str, what: str) -> float:
    try:
        value = float(text) if len(text) <= 40 else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(f"{what} must be a finite number, got {text[:60]!r}")
    return value


def number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


@dataclass(frozen=True)
class Constraint:
    """A hard constraint: ``metric op limit`` with ``op`` ``<=`` or ``>=``."""

    metric: str
    op: Op
    limit: float

    def __post_init__(self) -> None:
        check_metric(self.metric)
        if self.op not in ("<=", ">="):
            raise InputError(f"a constraint's operator is <= or >=, got {self.op!r}")
        if isinstance(self.limit, bool) or not isinstance(self.limit, (int, float)):
            raise InputError(f"a constraint's limit must be a number, got {self.limit!r}")
        object.__setattr__(self, "limit", _number(str(self.limit), "a constraint's limit"))

    @classmethod
    def parse(cls, text: str) -> Constraint:
        """``'latency_ms_p99<=20'`` -> the constraint; ``InputError`` for anything else."""
        m = _CONSTRAINT_RE.fullmatch(text or "")
        if not m:
            raise InputError(
                f"a constraint is METRIC<=VALUE or METRIC>=VALUE (e.g. latency_ms_p99<=20), "
                f"got {str(text)[:60]!r}"
            )
        key, op, value = m.groups()
        if op in ("<", ">"):
            raise InputError(f"use {op}= in {text[:60]!r}: constraints are <= or >= (inclusive)")
        op = {"=<": "<=", "=>": ">="}.get(op, op)
        return cls(key, op, _number(value, f"the limit of {key}"))  # type: ignore[arg-type]

    def text(self) -> str:
        """The constraint as typed: ``latency_ms_p99<=20``."""
        return f"{self.metric}{self.op}{number_text(self.limit)}"

    def met(self, values: np.ndarray) -> np.ndarray:
        """Which ``values`` meet the constraint (a missing value never does)."""
        with np.errstate(invalid="ignore"):
            ok = values <= self.limit if self.op == "<=" else values >= self.limit
        return np.asarray(ok & np.isfinite(values), dtype=bool)

    def excess(self, values: np.ndarray) -> np.ndarray:
        """How far each value is past the limit (0 when met, NaN when missing)."""
        gap = values - self.limit if self.op == "<=" else self.limit - values
        return np.where(np.isnan(values), np.nan, np.maximum(gap, 0.0))


@dataclass(frozen=True)
class Where:
    """A filter: runs whose ``field`` equals ``value`` (a ``--by`` field or ``dim_<name>``)."""

    field: str
    value: str

    def __post_init__(self) -> None:
        if self.field not in CLI_GROUP_FIELDS and not is_dim_key(self.field):
            raise InputError(
                f"cannot filter on {str(self.field)[:60]!r}; choose one of: "
                f"{', '.join(CLI_GROUP_FIELDS)}, or dim_<name>"
            )
        if not isinstance(self.value, str) or not 0 < len(self.value) <= MAX_VALUE_CHARS:
            raise InputError(f"a filter's value is text of 1 to {MAX_VALUE_CHARS} characters")
        if self.numeric:
            _number(self.value, f"{self.field}'s value")

    @property
    def numeric(self) -> bool:
        return self.field in _NUMERIC_FIELDS or is_dim_key(self.field)

    @classmethod
    def parse(cls, text: str) -> Where:
        """``'device_name=NVIDIA H200'`` -> the filter; ``InputError`` for anything else."""
        name, sep, value = (text or "").partition("=")
        if not sep or not name.strip():
            raise InputError(f"a filter is FIELD=VALUE (e.g. runtime=ort), got {text[:60]!r}")
        return cls(name.strip(), value.strip().strip("'\""))

    def text(self) -> str:
        return f"{self.field}={self.value}"


@dataclass(frozen=True)
class Objective:
    """Maximise or minimise one metric."""

    metric: str
    sense: Sense = "max"

    def __post_init__(self) -> None:
        check_metric(self.metric)
        if self.sense not in ("max", "min"):
            raise InputError(f"an objective is max or min, got {self.sense!r}")

    @classmethod
    def parse(cls, text: str) -> Objective:
        """``'max:throughput_per_s'`` or ``'min:latency_ms_p99'`` -> the objective."""
        sense, sep, key = (text or "").partition(":")
        if not sep or sense not in ("max", "min"):
            raise InputError(f"an objective is max:METRIC or min:METRIC, got {text[:60]!r}")
        return cls(key.strip(), sense)  # type: ignore[arg-type]

    def text(self) -> str:
        return f"{self.sense}:{self.metric}"

    @property
    def verb(self) -> str:
        return "maximise" if self.sense == "max" else "minimise"

    def key(self, values: np.ndarray) -> np.ndarray:
        """Sort keys: smaller is better."""
        return -values if self.sense == "max" else values


@dataclass(frozen=True)
class Decision:
    """Constraints and filters (all must hold) and the objective, with an optional tie-break."""

    require: tuple[Constraint, ...] = ()
    where: tuple[Where, ...] = ()
    objective: Objective = Objective("accuracy", "max")
    then: Objective | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "require", tuple(dict.fromkeys(self.require)))
        object.__setattr__(self, "where", tuple(dict.fromkeys(self.where)))
        if self.then is not None and self.then.metric == self.objective.metric:
            raise InputError("the second objective must be another metric than the first")

    @property
    def metrics(self) -> list[str]:
        """Every metric the decision reads: objectives first, then the constrained ones."""
        keys = [self.objective.metric, *([self.then.metric] if self.then else [])]
        return list(dict.fromkeys([*keys, *(c.metric for c in self.require)]))

    def question(self) -> str:
        """The decision in words, e.g. ``Which run maximises Throughput with …?``."""
        obj = METRICS[self.objective.metric].label.lower()
        text = f"Which run {self.objective.verb}s {obj}"
        if self.then:
            text += f" (then {self.then.verb}s {METRICS[self.then.metric].label.lower()})"
        if self.require:
            text += " with " + " and ".join(
                c.text().replace(c.op, f" {c.op} ") for c in self.require
            )
        if self.where:
            text += ", among runs with " + " and ".join(
                f"{run_field(w.field).label.lower()} = {w.value}" for w in self.where
            )
        return text + "?"
