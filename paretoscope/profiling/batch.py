"""A sweep's runs handed to an executor all at once, so that its devices measure side by side.

``run_profile`` measures a sweep one run at a time on this host (one device,
runs that would disturb each other's timings). An executor whose
``concurrent`` attribute is true (``measure.cluster.DaskExecutor``) measures
a batch's runs at the same time, each worker one run at a time; a sweep
over several devices then takes about as long as its slowest device's
share, not the sum of all. What stays per run: the record (one per run,
stored by the caller as it arrives, in the caller's process: the store
keeps one writer), the time and memory limits, the repeats (one task
measures all of a run's repeats, in turn, on one device) and a failure. A
cancel stops the batch: runs in flight are killed on their workers and
nothing is stored for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from paretoscope.core.records import RunRecord, RunSpec
from paretoscope.present.device_progress import devices_text

if TYPE_CHECKING:
    from measure.executor import Executor
    from measure.executor import Progress as ExecutorProgress

__all__ = ["is_concurrent", "measure_batch"]


class _Steps(Protocol):
    @property
    def done(self) -> int: ...

    @property
    def total(self) -> int: ...

    def emit(
        self,
        label: str,
        phase: str,
        stage: str = "",
        per_device: dict[str, tuple[int, int]] | None = None,
    ) -> None: ...

    def reach(self, done: int) -> None: ...


def is_concurrent(executor: object) -> bool:
    """Whether ``executor`` measures a batch's runs side by side (and wants them all at once)."""
    return bool(getattr(executor, "concurrent", False))


def batch_label(per_device: dict[str, tuple[int, int]], fallback: str) -> str:
    """The progress label of a batch: ``on 2 devices: cpu 1/2 · gpu-h200 0/2``."""
    text = devices_text(per_device)
    if not text:
        return fallback
    n = len(per_device)
    return f"on {n} device{'s' if n != 1 else ''}: {text}"


def measure_batch(
    executor: Executor,
    runs: Sequence[tuple[RunSpec, str]],
    steps: _Steps,
    keep: Callable[[RunRecord, str], None],
    cancel: Callable[[], bool],
) -> bool:
    """Measure ``runs`` (spec, label) in one ``executor.run`` call; False when cancelled.

    ``keep`` stores each record as it arrives (in this thread); a run of N
    repeats is N steps of ``steps``, counted when its record arrives. A run
    fanned out to several devices (``ALL_DEVICES``) has one record per
    device, each kept; the steps stop at the plan's total.
    """
    from paretoscope.core.launcher import StopRequested

    labels = {spec.run_id: label for spec, label in runs}
    per_device: dict[str, tuple[int, int]] = {}

    def on_result(record: RunRecord) -> None:
        keep(record, labels.get(record.run_id, f"{record.spec.model.name} · {record.spec.device}"))
        steps.reach(min(steps.total, steps.done + max(record.spec.repeats, 1)))

    def relay(p: ExecutorProgress) -> None:
        if p.per_device:
            per_device.clear()
            per_device.update(p.per_device)
        current = p.current or f"{len(runs)} run(s)"
        steps.emit(batch_label(per_device, current), "runs", p.stage, per_device)

    steps.emit(f"submitting {len(runs)} run(s) at once", "runs", "started")
    try:
        executor.run([spec for spec, _ in runs], on_result, relay, should_stop=cancel)
    except StopRequested:
        return False
    return True
