"""Tests of the local executor: runs in order, one at a time, records streamed as they finish."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from measure import testing
from measure.executor import Executor, LocalExecutor, Progress, run_label
from paretoscope.core.records import RunRecord

from .conftest import Zoo


def test_runs_stream_in_order_and_failures_do_not_stop_the_batch(zoo: Zoo, tmp_path: Path) -> None:
    missing = dataclasses.replace(zoo.onnx, path=str(tmp_path / "gone.onnx"))
    specs = [
        testing.make_spec(zoo.onnx, "ort", dataset=zoo.dataset),
        testing.make_spec(missing, "ort", dataset=zoo.dataset, name="gone"),
        testing.make_spec(zoo.onnx_int8, "ort", dataset=zoo.dataset, batch_size=8),
    ]
    records: list[RunRecord] = []
    progress: list[Progress] = []
    seen_at_result: list[int] = []

    def on_result(record: RunRecord) -> None:
        records.append(record)
        seen_at_result.append(len(progress))

    executor: Executor = LocalExecutor()
    executor.run(specs, on_result, progress.append)

    assert [r.run_id for r in records] == [s.run_id for s in specs]
    assert [r.status for r in records] == ["ok", "failed", "ok"]
    assert records[1].error == f"InputError: model file not found: {tmp_path / 'gone.onnx'}"
    # Streamed: each record arrived before the next run reported anything.
    assert seen_at_result == sorted(seen_at_result) and len(set(seen_at_result)) == 3
    assert progress[0] == Progress(
        0, 3, run_label(specs[0]), progress[0].elapsed_s, None, "started"
    )
    assert progress[-1].done == 3 and progress[-1].current is None and progress[-1].eta_s == 0.0
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert all(p.total == 3 for p in progress)
    assert all(p.eta_s is not None and p.eta_s >= 0 for p in progress if p.done > 0)
    assert [p.elapsed_s for p in progress] == sorted(p.elapsed_s for p in progress)
    stages = [p.stage for p in progress if p.current == run_label(specs[2])]
    assert stages == ["started", "loading", "timing", "evaluating", "done"]


def test_an_empty_batch_reports_done() -> None:
    progress: list[Progress] = []
    LocalExecutor().run([], lambda r: None, progress.append)
    assert progress == [Progress(0, 0, None, progress[0].elapsed_s, 0.0, "done")]


def test_run_label(zoo: Zoo) -> None:
    spec = testing.make_spec(zoo.onnx_int8, "ort", batch_size=32, threads=4, name="mlp-small")
    assert run_label(spec) == "mlp-small · ort int8 · batch 32 · 4 threads · cpu"


def test_progress_and_eta_count_repeats(zoo: Zoo) -> None:
    specs = [
        dataclasses.replace(testing.make_spec(zoo.onnx, "ort"), repeats=2),
        testing.make_spec(zoo.onnx_int8, "ort"),
    ]
    progress: list[Progress] = []
    records: list[RunRecord] = []
    LocalExecutor().run(specs, records.append, progress.append)
    assert [r.status for r in records] == ["ok", "ok"]
    first = [p for p in progress if p.done == 0]
    assert [(p.repeat, p.stage) for p in first if p.stage in ("started", "done")] == [
        (1, "started"), (1, "done"), (2, "started"), (2, "done"),
    ]  # fmt: skip
    assert {p.repeats for p in first} == {2}
    # An estimate as soon as the first repeat is done, before the first run is.
    second_repeat = [p for p in first if p.repeat == 2]
    assert second_repeat and all(p.eta_s is not None for p in second_repeat)
    assert all(p.eta_s is None for p in first if p.repeat == 1 and p.stage != "done")
    assert all(p.repeats == 1 for p in progress if p.done == 1)
