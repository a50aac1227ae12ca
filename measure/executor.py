"""The executor seam: something that measures a sequence of runs and streams back their records.

``LocalExecutor`` measures one run at a time on this host in warm worker
processes (``measure.pool.WorkerPool``: one per runtime, device, thread
count and repeat, replaced after any run that fails);
``measure.cluster.DaskExecutor`` implements the same ``Executor`` protocol
on a Dask cluster. Callers (the CLI, the Streamlit
page) depend only on the protocol. Records are handed to ``on_result`` as
each run finishes, so a caller can store them as they arrive and lose
nothing when a later run hangs the machine.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from measure.pool import WorkerPool
from measure.worker import WorkerProgress, run_in_worker
from paretoscope.core.progress import eta_seconds
from paretoscope.core.records import RunRecord, RunSpec

__all__ = ["Executor", "LocalExecutor", "Progress", "run_label"]


@dataclass(frozen=True)
class Progress:
    """Where a batch of runs stands. Times are in seconds.

    ``current`` labels the run in progress (None once all are done) and
    ``stage`` is the stage its worker reached (``started``, ``loading``,
    ``timing``, ``evaluating``, ``done``) and ``repeat`` (from 1) of
    ``repeats`` which of the run's processes reached it. ``eta_s``
    extrapolates the mean time of the finished runs (the local executor:
    of the finished repeats, a run of N repeats costing N); None until one
    has finished. ``per_device`` maps a device (a Dask resource, or
    ``resource @ worker``) to its (done, total) runs; empty for the local
    executor.
    """

    done: int
    total: int
    current: str | None
    elapsed_s: float
    eta_s: float | None
    stage: str = ""
    per_device: dict[str, tuple[int, int]] = field(default_factory=dict)
    repeat: int = 1
    repeats: int = 1


class Executor(Protocol):
    """Measures runs and streams their records."""

    def run(
        self,
        specs: Sequence[RunSpec],
        on_result: Callable[[RunRecord], object],
        on_progress: Callable[[Progress], None] | None = None,
        *,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        """Measure every spec; call ``on_result`` once per spec with its record, ok or failed.

        A failed measurement is a failed record, never an exception.
        Exceptions raised by the callbacks propagate and stop the batch.
        ``should_stop`` (a job's cancel flag) stops the batch when it answers
        true: the run in progress is killed, nothing is handed to
        ``on_result`` for it, and ``StopRequested`` is raised.
        """
        ...


def run_label(spec: RunSpec) -> str:
    """A short human label for a run, e.g. ``mlp-small · ort fp32 · batch 8 · 1 thread · cpu``."""
    threads = f"{spec.threads} thread" + ("s" if spec.threads != 1 else "")
    return (
        f"{spec.model.name} · {spec.runtime} {spec.precision} · batch {spec.batch_size} · "
        f"{threads} · {spec.device}"
    )


# One local measurement at a time per process, across executors and threads
# (two Streamlit sessions, say): concurrent runs would disturb each other's
# timings and energy.
_LOCAL_LOCK = threading.Lock()


class LocalExecutor:
    """Measures runs sequentially on this host in warm worker processes (``WorkerPool``).

    ``python`` is the interpreter that runs the workers; they live as long as
    one ``run`` call, and every one of them is gone when it returns or
    raises. ``warm=False`` measures each run (each repeat) in a fresh
    process instead (``run_in_worker``, the design before warm workers; for
    comparison). Runs in the same
    process queue behind each other; runs started by another process (a
    second CLI) are not coordinated.
    """

    def __init__(self, *, python: str = sys.executable, warm: bool = True) -> None:
        self.python = python
        self.warm = warm

    def run(
        self,
        specs: Sequence[RunSpec],
        on_result: Callable[[RunRecord], object],
        on_progress: Callable[[Progress], None] | None = None,
        *,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        """Measure ``specs`` in order. See ``Executor.run``: ``should_stop`` reaches each worker."""
        total = len(specs)
        with _LOCAL_LOCK:
            clock = _RepeatClock(on_progress, [max(s.repeats, 1) for s in specs])
            with WorkerPool(python=self.python) as pool:
                if self.warm:
                    pool.prestart(specs, should_stop=should_stop)
                for done, spec in enumerate(specs):
                    relay = None
                    if on_progress is not None:
                        relay = partial(clock.relay, done, run_label(spec))
                    if self.warm:
                        record = pool.measure(spec, progress=relay, should_stop=should_stop)
                    else:
                        record = run_in_worker(
                            spec, python=self.python, progress=relay, should_stop=should_stop
                        )
                    clock.run_done(done)
                    on_result(record)
            if on_progress is not None:
                on_progress(Progress(total, total, None, clock.elapsed(), 0.0, "done"))


class _RepeatClock:
    """The ETA of a batch counted in repeats: a run of N repeats is N units of work."""

    def __init__(self, on_progress: Callable[[Progress], None] | None, repeats: list[int]) -> None:
        self.on_progress = on_progress
        self.repeats = repeats
        self.total_units = sum(repeats)
        self.units_done = 0  # repeats finished, of runs before the current one and of it
        self.finished_s = 0.0  # elapsed time when the last repeat finished
        self.t0 = time.monotonic()

    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def run_done(self, index: int) -> None:
        """A run ended (a failed one may end before its last repeat): all its units are done."""
        self.units_done = sum(self.repeats[: index + 1])
        self.finished_s = self.elapsed()

    def relay(self, done: int, label: str, event: WorkerProgress) -> None:
        elapsed = self.elapsed()
        if event.stage == "done":
            self.units_done = sum(self.repeats[:done]) + event.repeat
            self.finished_s = elapsed
        eta = eta_seconds(self.units_done, self.total_units, elapsed, last_done_s=self.finished_s)
        if self.on_progress is not None:
            self.on_progress(
                Progress(
                    done,
                    len(self.repeats),
                    label,
                    elapsed,
                    eta,
                    event.stage,
                    repeat=event.repeat,
                    repeats=event.repeats,
                )
            )
