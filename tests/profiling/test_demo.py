"""The demo end to end: the quick zoo measured by real workers into a real store; idempotence."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from itertools import product
from pathlib import Path

import pytest

from measure import zoo
from measure.devices import cpu_device, host_info
from measure.executor import Progress
from measure.worker import failed_record
from paretoscope.core.records import AccuracyResult, RunRecord, RunSpec
from paretoscope.core.timefmt import utc_now_iso
from paretoscope.profiling.demo import FULL_BUDGET, QUICK_BUDGET, _measured_keys, run_demo
from store import Store
from tests.conftest import QuickDemo

REPO = Path(__file__).resolve().parents[2]
N_QUICK_RUNS = len(zoo.QUICK_ZOO) * 2 * 2 * 2  # models x runtimes x precisions x batch sizes

pytestmark = pytest.mark.slow


def test_quick_demo_measures_every_variant(quick_demo: QuickDemo) -> None:
    s = quick_demo.summary
    assert not s.skipped and s.quick
    assert (s.runs_ok, s.runs_failed) == (N_QUICK_RUNS, 0)
    assert s.runs_planned == N_QUICK_RUNS and len(s.run_ids) == N_QUICK_RUNS
    frame = quick_demo.store.runs_frame(status=None)
    assert len(frame) == N_QUICK_RUNS >= 12
    assert (frame["status"] == "ok").all(), frame[["model", "runtime", "error"]]
    combos = set(zip(frame["runtime"], frame["precision"], frame["batch_size"], strict=True))
    assert combos == set(product(("ort", "torch"), ("fp32", "int8"), (1, 32)))
    assert set(frame["family"]) == {"mlp", "cnn"}
    assert (frame["threads"] == 1).all() and (frame["device"] == "cpu").all()
    assert frame["accuracy"].between(0, 1, inclusive="right").all()
    assert (frame["accuracy_n"] == 450).all() and frame["dataset_id"].nunique() == 1
    assert (frame["latency_ms_p50"] > 0).all()


def test_int8_accuracy_comes_from_its_own_run(quick_demo: QuickDemo) -> None:
    store = quick_demo.store
    records = store.records(quick_demo.summary.run_ids)
    by_key = {(r.spec.model.name, r.spec.runtime, r.spec.batch_size): r for r in records}
    for name in zoo.QUICK_ZOO:
        for batch in (1, 32):
            ort32 = by_key[(name, "ort", batch)]
            ort8 = by_key[(f"{name}-int8-ort", "ort", batch)]
            t32 = by_key[(name, "torch", batch)]
            t8 = by_key[(f"{name}-int8-torch", "torch", batch)]
            assert len({ort32.run_id, ort8.run_id, t32.run_id, t8.run_id}) == 4
            # ort's int8 is its own file; torch's int8 quantises the fp32 state dict at load.
            assert ort8.spec.artifact.sha256 != ort32.spec.artifact.sha256
            assert ort8.spec.artifact.precision == "int8" and ort8.spec.precision == "int8"
            assert t8.spec.artifact.sha256 == t32.spec.artifact.sha256
            assert t8.spec.artifact.format == "torch-state" and t8.spec.precision == "int8"
            for rec in (ort32, ort8, t32, t8):
                (acc,) = [a for a in rec.accuracy if a.metric == "top1"]
                assert acc.origin == "measured" and acc.n_samples == 450
            # Lineage: each int8 variant is a model of its own, child of the fp32 model.
            parent = ort32.spec.model
            assert parent.parent_model_id is None and t32.spec.model == parent
            for child, how in (
                (ort8, zoo.ORT_INT8_TRANSFORMATION),
                (t8, zoo.TORCH_INT8_TRANSFORMATION),
            ):
                assert child.spec.model.parent_model_id == parent.model_id
                assert child.spec.model.transformation == how
                assert child.spec.model.model_id != parent.model_id


def test_files_live_in_the_store_folder(quick_demo: QuickDemo) -> None:
    store = quick_demo.store
    for rec in store.records(quick_demo.summary.run_ids):
        artifact = Path(rec.spec.artifact.path)
        assert artifact.parent == store.files_dir / "artifacts" and artifact.is_file()
        assert artifact.stem == rec.spec.artifact.sha256
        assert rec.spec.dataset is not None
        assert Path(rec.spec.dataset.path).parent == store.files_dir / "datasets"
    # 3 models x (fp32 ONNX, int8 ONNX, state dict), and one data set.
    assert len(list((store.files_dir / "artifacts").iterdir())) == 3 * len(zoo.QUICK_ZOO)
    assert len(list((store.files_dir / "datasets").iterdir())) == 1


def test_progress_covers_preparation_and_every_run(quick_demo: QuickDemo) -> None:
    progress = quick_demo.progress
    # The split, training and export per model, starting the workers, every run.
    total = 1 + 2 * len(zoo.QUICK_ZOO) + 1 + N_QUICK_RUNS
    assert {p.total for p in progress} == {total}
    dones = [p.done for p in progress]
    assert dones == sorted(dones) and dones[0] == 0 and dones[-1] == total
    assert progress[-1].phase == "done" and progress[-1].eta_s == 0.0
    assert all(p.eta_s is None or p.eta_s >= 0 for p in progress)
    elapsed = [p.elapsed_s for p in progress]
    assert elapsed == sorted(elapsed)
    labels = " ".join(p.label for p in progress)
    assert "trained mlp-w8-d1" in labels and "cnn-c8 torch int8 b32: ok" in labels
    assert "measuring workers started" in labels


def test_second_demo_adds_nothing(quick_demo: QuickDemo) -> None:
    store = quick_demo.store
    before = store.run_count()
    again = run_demo(store, quick=True)
    assert again.skipped and again.runs_ok == 0 and again.runs_already_stored == N_QUICK_RUNS
    assert "already has all" in str(again)
    assert store.run_count() == before
    assert store.query("SELECT count(*) AS n FROM models")["n"][0] == 3 * len(zoo.QUICK_ZOO)


def test_quick_runs_do_not_count_for_the_full_demo(quick_demo: QuickDemo) -> None:
    host_id = host_info().host_id
    assert len(_measured_keys(quick_demo.store, host_id, QUICK_BUDGET)) == N_QUICK_RUNS
    assert _measured_keys(quick_demo.store, host_id, FULL_BUDGET) == set()
    assert _measured_keys(quick_demo.store, "another-host", QUICK_BUDGET) == set()


class ScriptedExecutor:
    """An executor that measures nothing: each record is what ``make`` says (tests only)."""

    def __init__(self, make: Callable[[RunSpec], RunRecord]) -> None:
        self.make = make
        self.specs: list[RunSpec] = []

    def run(
        self,
        specs: Sequence[RunSpec],
        on_result: Callable[[RunRecord], object],
        on_progress: Callable[[Progress], None] | None = None,
        *,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        for spec in specs:
            self.specs.append(spec)
            on_result(self.make(spec))


def _crashed(spec: RunSpec) -> RunRecord:
    host = host_info()
    return failed_record(
        spec,
        "worker killed by signal SIGKILL (9) after 0.1 s",
        started_at=utc_now_iso(),
        host=host,
        device=cpu_device(host),
    )


def _fake_ok(spec: RunSpec) -> RunRecord:
    host = host_info()
    assert spec.dataset is not None
    acc = AccuracyResult("top1", 0.5, spec.dataset.dataset_id, spec.dataset.n_samples)
    now = utc_now_iso()
    return RunRecord(spec.run_id, spec, "ok", now, now, host, cpu_device(host), accuracy=(acc,))


def test_failed_runs_are_stored_the_demo_goes_on_and_they_are_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(zoo, "QUICK_ZOO", ("mlp-w8-d1",))
    store = Store(tmp_path / "s.duckdb")

    crashing = ScriptedExecutor(_crashed)
    first = run_demo(store, quick=True, executor=crashing)
    assert (first.runs_ok, first.runs_failed, first.skipped) == (0, 8, False)
    assert "8 failed" in str(first)
    assert store.run_count(status="failed") == 8 and len(crashing.specs) == 8

    # Failed runs do not count as done: the next demo measures them again.
    working = ScriptedExecutor(_fake_ok)
    second = run_demo(store, quick=True, executor=working)
    assert (second.runs_ok, second.runs_failed) == (8, 0) and len(working.specs) == 8
    assert run_demo(store, quick=True, executor=working).skipped
    assert len(working.specs) == 8

    forced = run_demo(store, quick=True, force=True, executor=working)
    assert forced.runs_ok == 8 and len(working.specs) == 16
    assert store.run_count() == 24
    # The same recipe gives the same models and the same files: nothing duplicated.
    assert store.query("SELECT count(*) AS n FROM models")["n"][0] == 3
    assert len(list((store.files_dir / "artifacts").iterdir())) == 3


def test_importing_the_demo_imports_no_ml_library() -> None:
    code = "import sys, paretoscope.profiling.demo; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.split()
    for heavy in ("torch", "onnxruntime", "onnx", "sklearn", "measure.zoo"):
        assert heavy not in out, heavy
