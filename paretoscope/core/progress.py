"""Progress arithmetic: the estimate of time left and the share done, one formula for all.

The job queue, profiles, the demo and the executors all report progress; this
is the one place that turns steps and seconds into an ETA.

Two estimates:

- ``eta_seconds``: the mean time of the finished steps times the steps left.
  Right when every step costs about the same (the executor's runs).
- ``StepEstimator`` / ``kind_eta``: when the plan mixes steps of very
  different cost (training a model, exporting it, a torch run, an ONNX
  Runtime run), each remaining step is priced by what steps of *its kind*
  have cost so far. A kind is a colon-separated path, most general first
  (``run:torch:b32``): a step whose exact kind has not finished yet is
  priced by the finished steps of its nearest more general kind
  (``run:torch``, then ``run``); a kind with no finished relative at all is
  priced by its prior (seconds, from a reference machine) scaled by how
  fast this machine has been on the kinds seen so far, or by the mean of
  all finished steps when there is no prior.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "PRIOR_STEP_S",
    "StepEstimator",
    "done_fraction",
    "eta_seconds",
    "kind_eta",
    "run_kind",
]

# Seconds per kind of step on two cores, small models, per repeat of a run (warm
# workers: a repeat is mostly its 0.2 s timing window and its evaluation), from a
# recorded demo (tests/core/data/demo_plan.json). Only their ratios matter: they
# are scaled by how fast this host has been on the kinds seen so far.
PRIOR_STEP_S: dict[str, float] = {
    "split": 1.1,
    "train": 3.8,
    "export": 1.1,
    "variant": 2.0,
    "workers": 6.0,
    "run:ort": 0.2,
    "run:torch": 0.23,
    # The demo's language models (issue 15): a tokenizer, a training, a causal-LM run
    # (loading the folder, generating, scoring the held-out text), from one demo.
    "tokenizer": 2.0,
    "train:lm": 3.0,
    "run:lm": 1.0,
}


def run_kind(runtime: str, precision: str, batch_size: int, device: str = "cpu") -> str:
    """The kind of one measured run, most general part first: ``run:torch:int8:b32``."""
    where = "" if device == "cpu" else ":gpu"
    return f"run:{runtime}{where}:{precision}:b{batch_size}"


def eta_seconds(
    done: int, total: int | None, elapsed_s: float, *, last_done_s: float | None = None
) -> float | None:
    """Seconds left if the remaining steps take as long as the finished ones did on average.

    ``elapsed_s`` is the time since the first step began; ``last_done_s``,
    when given, is the elapsed time at which the last step finished: the
    mean is then taken over the finished steps only, and the time the
    current step has already run is taken off. None before the first step
    finishes or while the total is unknown; never negative.
    """
    if not total or done <= 0:
        return None
    if last_done_s is None:
        last_done_s = elapsed_s
    return max(0.0, last_done_s / done * (total - done) - (elapsed_s - last_done_s))


def done_fraction(done: int, total: int | None) -> float:
    """Share done, in [0, 1]; 0 while the total is unknown or zero."""
    if not total:
        return 0.0
    return min(max(done / total, 0.0), 1.0)


def _ancestors(kind: str) -> list[str]:
    """``run:torch:b32`` → ``["run:torch:b32", "run:torch", "run"]``."""
    parts = kind.split(":")
    return [":".join(parts[:n]) for n in range(len(parts), 0, -1)]


def _prior(kind: str, priors: Mapping[str, float]) -> float | None:
    for k in _ancestors(kind):
        if k in priors:
            return priors[k]
    return None


def kind_eta(
    planned: Sequence[str],
    durations: Sequence[float],
    *,
    running_s: float = 0.0,
    priors: Mapping[str, float] | None = None,
) -> float | None:
    """Seconds left of a plan of steps of known kinds, the first ``len(durations)`` of them done.

    ``planned`` is every step's kind, in the order they run; ``durations``
    the seconds each finished step took; ``running_s`` how long the step now
    running has run (taken off its estimate, never below zero). ``priors``:
    seconds per kind on a reference machine (see the module docstring).
    None before the first step finishes; 0.0 when nothing is left.
    """
    done = min(len(durations), len(planned))
    if done == 0:
        return None
    left = planned[done:]
    if not left:
        return 0.0
    priors = priors or {}
    totals: dict[str, float] = {}
    counts: dict[str, int] = {}
    for kind, seconds in zip(planned[:done], durations[:done], strict=True):
        for k in _ancestors(kind):
            totals[k] = totals.get(k, 0.0) + seconds
            counts[k] = counts.get(k, 0) + 1
    overall = sum(durations[:done]) / done
    # How fast this machine is against the priors, over the finished steps that have one.
    seen_prior = seen_actual = 0.0
    for kind, seconds in zip(planned[:done], durations[:done], strict=True):
        p = _prior(kind, priors)
        if p is not None:
            seen_prior += p
            seen_actual += seconds
    speed = seen_actual / seen_prior if seen_prior > 0 else None
    cache: dict[str, float] = {}

    def cost(kind: str) -> float:
        if kind not in cache:
            est: float | None = None
            p = _prior(kind, priors)
            # Finished relatives count down to the level the prior is given at: below
            # it (torch against ort runs) the prior's ratio knows better than a mean.
            for k in _ancestors(kind):
                if counts.get(k):
                    est = totals[k] / counts[k]
                    break
                if p is not None and k in priors:
                    break
            if est is None:
                est = p * speed if p is not None and speed is not None else overall
            cache[kind] = est
        return cache[kind]

    first = max(0.0, cost(left[0]) - running_s)
    return first + sum(cost(k) for k in left[1:])


@dataclass
class StepEstimator:
    """``kind_eta`` over a plan whose steps finish one by one (times in seconds).

    Call ``finished(seconds)`` as each step of ``planned`` ends, in order;
    ``eta(running_s)`` is the estimate of what is left. ``planned`` may grow
    (``extend``) when more steps are planned.
    """

    planned: list[str]
    priors: Mapping[str, float] = field(default_factory=dict)
    durations: list[float] = field(default_factory=list)

    @property
    def done(self) -> int:
        return len(self.durations)

    @property
    def total(self) -> int:
        return len(self.planned)

    def extend(self, kinds: Sequence[str]) -> None:
        self.planned.extend(kinds)

    def finished(self, seconds: float) -> None:
        self.durations.append(max(0.0, seconds))

    def eta(self, running_s: float = 0.0) -> float | None:
        return kind_eta(self.planned, self.durations, running_s=running_s, priors=self.priors)
