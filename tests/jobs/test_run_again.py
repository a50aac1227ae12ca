"""Run again of an unfinished profile job measures only the configurations it did not store."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from paretoscope.core.records import to_dict
from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from paretoscope.profiling import ProfileRequest
from store import Store

BATCHES = (1, 2, 4, 8)  # four configurations


@pytest.fixture(scope="module")
def onnx_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from measure import testing

    root = tmp_path_factory.mktemp("run-again")
    example = np.zeros((2, 64), dtype=np.float32)
    return testing.export_onnx(testing.tiny_mlp(), root / "mlp.onnx", example)


def _configurations(store: Store) -> list[tuple[Any, ...]]:
    frame = store.query(
        "SELECT runtime, precision, batch_size, threads FROM runs WHERE status = 'ok' "
        "ORDER BY batch_size"
    )
    return [tuple(r) for r in frame.itertuples(index=False)]


def _stopping_after(k: int) -> jobrunner.Handler:
    """The real profile handler, cancelled (as Cancel would) once ``k`` runs are stored."""

    def handler(
        store: Store, job: jobs.Job, reporter: jobs.ProgressReporter
    ) -> tuple[str, str, dict[str, Any]]:
        reporter.should_cancel = lambda: store.run_count() >= k  # type: ignore[method-assign]
        return jobrunner.HANDLERS["profile"](store, job, reporter)

    return handler


def test_run_again_measures_exactly_the_configurations_not_stored(
    tmp_path: Path, onnx_model: Path
) -> None:
    from measure.testing import QUICK_BUDGET

    store = Store(tmp_path / "again.duckdb")
    request = ProfileRequest(
        model_path=str(onnx_model), batches=BATCHES, repeats=1, budget=QUICK_BUDGET
    )
    first = jobs.submit_job(store, to_dict(request), title="mlp.onnx: 4 run(s)")
    claimed = jobs.claim_next_job(store)
    assert claimed is not None and claimed.job_id == first.job_id
    ended = jobrunner.run_job(store, claimed, handlers={"profile": _stopping_after(2)})
    assert ended is not None and ended.status == "cancelled"
    assert store.run_count() == 2 and ended.runs_ok == 2

    again = jobs.resubmit_job(store, first.job_id)
    assert again.request["resumes"] == first.job_id
    assert len(again.request["skip_points"]) == 2
    assert "the rest (2 stored configuration(s) skipped)" in again.title
    assert jobrunner.run_queue(store) == 1
    done = jobs.get_job(store, again.job_id)
    assert done is not None and done.status == "done", done
    assert done.runs_ok == 2 and done.runs_failed == 0, "it measured exactly the missing two"

    stored = _configurations(store)
    assert len(stored) == len(BATCHES) == len(set(stored)), stored
    assert [c[2] for c in stored] == list(BATCHES)


def test_run_again_of_a_job_that_stored_everything_fails_with_nothing_left(
    tmp_path: Path, onnx_model: Path
) -> None:
    from measure.testing import QUICK_BUDGET

    store = Store(tmp_path / "all.duckdb")
    request = ProfileRequest(model_path=str(onnx_model), repeats=1, budget=QUICK_BUDGET)
    job = jobs.submit_job(store, to_dict(request))
    assert jobrunner.run_queue(store) == 1
    assert store.run_count() == 1
    finished = jobs.get_job(store, job.job_id)
    assert finished is not None
    # As if it had been interrupted just after its last run was stored.
    rest = jobs._rest_of(store, dataclasses.replace(finished, status="interrupted"))[0]
    later = jobs.submit_job(store, rest)
    assert jobrunner.run_queue(store) == 1
    refused = jobs.get_job(store, later.job_id)
    assert refused is not None and refused.status == "failed"
    assert "nothing left to measure" in refused.message
    assert store.run_count() == 1
