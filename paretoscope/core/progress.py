"""Progress arithmetic: the estimate of time left and the share done, one formula for all.

The job queue, profiles, the demo and the executors all report progress; this
is the one place that turns steps and seconds into an ETA.
"""

from __future__ import annotations

__all__ = ["done_fraction", "eta_seconds"]


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
