"""A job runner whose ``profile`` handler only sleeps: drives the real queue without measuring.

``python -m tests.jobs.fake_runner --store PATH`` behaves like
``python -m paretoscope.jobrunner`` (the same lock, claims and recovery); a
job's request ``{"steps": N, "step_s": S, "fail": "message"}`` takes N steps
of S seconds each, reporting progress and honouring cancel between steps.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from paretoscope.core.errors import MeasurementError
from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from store import Store


def sleepy_handler(
    store: Store, job: jobs.Job, reporter: jobs.ProgressReporter
) -> tuple[str, str, dict[str, Any]]:
    steps = int(job.request.get("steps", 3))
    step_s = float(job.request.get("step_s", 0.05))
    reporter.update(0, steps, "starting")
    for i in range(steps):
        if reporter.should_cancel():
            return "cancelled", f"Cancelled after {i} of {steps} steps.", {"runs_ok": i}
        time.sleep(step_s)
        reporter.update(i + 1, steps, f"step {i + 1}")
    if job.request.get("fail"):
        raise MeasurementError(str(job.request["fail"]))
    ids = [f"{job.job_id}-{i}" for i in range(steps)]
    return "done", f"{steps} steps", {"run_ids": ids, "runs_ok": steps, "runs_failed": 0}


HANDLERS: dict[str, jobrunner.Handler] = {"profile": sleepy_handler}


if __name__ == "__main__":
    sys.exit(jobrunner.main(handlers=HANDLERS))
