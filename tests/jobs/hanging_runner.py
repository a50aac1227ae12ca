"""A job runner whose ``profile`` jobs measure a model that hangs, through the real engine.

``python -m tests.jobs.hanging_runner --store PATH`` behaves like
``python -m paretoscope.jobrunner``; a job's request ``{"weights": FILE,
"runs": N}`` is a plan of N torch runs of ``measure.testing:sleepy_mlp``,
whose builder sleeps ten minutes, under a 300 s time limit. Only a working
Cancel ends such a job in seconds.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from paretoscope.core.modelinfo import ModelInfo
from paretoscope.core.records import ModelRef
from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from paretoscope.profiling import ProfilePlan, ProfileRequest, SweepPoint, run_profile
from store import Store


def hanging_plan(weights: Path, runs: int) -> ProfilePlan:
    """N torch runs (threads 1..N) of a model whose builder sleeps for ten minutes."""
    from measure import testing

    artifact = testing.artifact_ref(
        weights,
        "torch-state",
        builder="measure.testing:sleepy_mlp",
        builder_kwargs={"seconds": 600, "where": "build"},
    )
    request = ProfileRequest(model_path=str(weights), runtimes=("torch",), repeats=1)
    info = ModelInfo(
        path=str(weights),
        sha256=artifact.sha256,
        size_bytes=artifact.size_bytes,
        inputs=(),
        outputs=(),
        opsets={},
        ir_version=0,
        producer="test",
        params=None,
        format="torch-state",
    )
    model = ModelRef(model_id="test-sleepy", name="sleepy", family="mlp", source="cli")
    sweep = tuple(SweepPoint("torch", "fp32", 1, t) for t in range(1, runs + 1))
    return ProfilePlan(request, info, model, artifact, None, (), sweep)


def hanging_handler(
    store: Store, job: jobs.Job, reporter: jobs.ProgressReporter
) -> tuple[str, str, dict[str, Any]]:
    plan = hanging_plan(Path(job.request["weights"]), int(job.request.get("runs", 2)))
    summary = run_profile(
        store,
        plan,
        on_progress=lambda e: reporter.update(e.done, e.total, e.label),
        should_cancel=reporter.should_cancel,
    )
    return jobrunner.profile_outcome(summary)


HANDLERS: dict[str, jobrunner.Handler] = {"profile": hanging_handler}


if __name__ == "__main__":
    sys.exit(jobrunner.main(handlers=HANDLERS))
