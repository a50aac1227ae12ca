"""The demo's progress: steps of known kinds, each priced by the finished steps of its kind."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from paretoscope.core.progress import PRIOR_STEP_S, StepEstimator
from paretoscope.present.progress import StepProgress

__all__ = ["DemoProgress", "Phase", "StepClock"]

Phase = Literal["prepare", "measure", "done"]


@dataclass(frozen=True)
class DemoProgress(StepProgress):
    """One step of the demo done: ``done`` of ``total`` steps (training, export, each run).

    ``eta_s`` is None until there is something to extrapolate from.
    """

    phase: Phase
    runs_failed: int = 0


class StepClock:
    """Progress with an ETA priced per kind of step (``core.progress.StepEstimator``).

    A training step, an export and a measured run take very different times,
    and torch runs cost more than ONNX Runtime runs: each remaining step is
    priced at the mean of the finished steps of its kind (``PRIOR_STEP_S``,
    scaled to this host, until one is done).
    """

    def __init__(
        self,
        on_progress: Callable[[DemoProgress], None] | None,
        kinds: Sequence[str],
        n_prepare: int,
        repeats: int = 1,
    ) -> None:
        self.on_progress = on_progress
        self.started = time.monotonic()
        self.n_prepare = n_prepare
        self.n_runs = len(kinds) - n_prepare
        # A classifier's run is measured in ``repeats`` processes; a language model's in one.
        priors = {
            k: v * (repeats if k.startswith("run") and not k.startswith("run:lm") else 1)
            for k, v in PRIOR_STEP_S.items()
        }
        self.estimator = StepEstimator(list(kinds), priors)
        self.prepared = self.measured = self.failed = 0
        self.workers_up = False
        self._mark = self.started

    @property
    def total(self) -> int:
        return self.estimator.total

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _lap(self) -> float:
        now = time.monotonic()
        lap, self._mark = now - self._mark, now
        return lap

    def _eta(self) -> float | None:
        return self.estimator.eta(running_s=time.monotonic() - self._mark)

    def emit(self, phase: Phase, label: str) -> None:
        if self.on_progress is not None:
            self.on_progress(
                DemoProgress(
                    phase=phase,
                    done=self.prepared + self.measured,
                    total=self.total,
                    label=label,
                    elapsed_s=self.elapsed(),
                    eta_s=0.0 if phase == "done" else self._eta(),
                    runs_failed=self.failed,
                )
            )

    def start(self, label: str) -> None:
        self._lap()
        self.emit("prepare", label)

    def prepared_one(self, label: str) -> None:
        self.estimator.finished(self._lap())
        self.prepared += 1
        self.emit("prepare", label)

    def start_runs(self) -> None:
        # The time between the last preparation step and the first run (building the
        # specs, starting the executor) is part of the first run.
        pass

    def measured_one(self, label: str, ok: bool) -> None:
        if not self.workers_up:  # an executor that reported no progress before its first result
            self.workers_up = True
            self.estimator.finished(0.0)
            self.prepared += 1
        self.estimator.finished(self._lap())
        self.measured += 1
        self.failed += 0 if ok else 1
        self.emit("measure", label)
