"""Run a plan: make its variants in worker processes, measure its sweep, ingest each record."""

from __future__ import annotations

import dataclasses
import functools
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from paretoscope.core.progress import PRIOR_STEP_S, StepEstimator, run_kind
from paretoscope.core.records import (
    AccuracyResult,
    ArtifactRef,
    ModelRef,
    RunRecord,
    RunSpec,
    new_run_id,
)
from paretoscope.present.progress import StepProgress
from paretoscope.profiling.lm_plan import LM_TASK, plan_lm_request
from paretoscope.profiling.plan import ProfilePlan, VariantStep, plan_profile
from paretoscope.profiling.request import ProfileRequest, SweepPoint

if TYPE_CHECKING:
    from measure.executor import Executor
    from measure.executor import Progress as ExecutorProgress
    from store import Store


@dataclass(frozen=True)
class ProfileProgress(StepProgress):
    """Where a profile stands. Times in seconds.

    ``phase`` is ``variants`` while variants are generated, ``runs`` while
    runs are measured, ``done`` at the end. ``done``/``total`` count steps
    (variants, plus each run's repeats: a run of 3 repeats is 3 steps).
    ``eta_s`` is None until a step has finished. ``stage`` is the stage the
    current run's worker reached, with its repeat (``timing · repeat 2/3``).
    ``per_device`` is ``{device: (done, total)}`` runs when the sweep is
    measured on several devices at once (a Dask cluster); empty otherwise.
    """

    phase: str = "runs"
    stage: str = ""
    per_device: dict[str, tuple[int, int]] = field(default_factory=dict)


@dataclass(frozen=True)
class ProfileSummary:
    """What a profile did: its runs (ok and failed), variants and whether it was cancelled."""

    model_id: str
    run_ids: tuple[str, ...]
    n_ok: int
    n_failed: int
    failures: tuple[str, ...]  # "label: reason", one per failed run or variant
    variant_model_ids: tuple[str, ...]
    cancelled: bool
    elapsed_s: float
    n_planned: int = 0

    @property
    def ok(self) -> bool:
        """True when every planned run was measured ok."""
        return not self.cancelled and self.n_failed == 0 and self.n_ok == self.n_planned

    def __str__(self) -> str:
        head = f"{self.n_ok} of {self.n_planned} run(s) ok"
        if self.n_failed:
            head += f", {self.n_failed} failed"
        if self.cancelled:
            head += "; cancelled before the rest"
        head += f" in {self.elapsed_s:.1f} s (model {self.model_id})"
        return "\n".join([head, *(f"  failed: {f}" for f in self.failures)])


def run_profile(
    store: Store,
    plan: ProfilePlan | ProfileRequest,
    *,
    on_progress: Callable[[ProfileProgress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    executor: Executor | None = None,
) -> ProfileSummary:
    """Generate the plan's variants and measure its sweep; store each record as it arrives.

    A ``ProfileRequest`` is planned first (``plan_profile``; a causal LM's by
    ``lm_plan.plan_lm_request``). Variants are
    made in worker processes; one that fails makes its runs failed records
    with the reason. Runs go through ``executor`` (a ``LocalExecutor`` by
    default) one at a time, each under the request's time and memory limits;
    an executor that measures runs side by side (``concurrent``, a Dask
    cluster) gets every run at once (``profiling.batch``), each still under
    its own limits. ``should_cancel`` is asked before each variant and each
    run, and while each runs (about every 0.25 s): a true answer kills the
    worker(s) at once and stops there; nothing is stored for the runs it
    interrupted, and the runs already stored stay. ``on_progress`` gets a
    ``ProfileProgress`` at each step and worker stage, with an ETA.
    Raises ``InputError`` only from planning; failed measurements are
    failed records, counted in the summary.
    """
    from measure.executor import LocalExecutor

    if isinstance(plan, ProfileRequest):
        # A causal LM (a job's stored request) is planned by its own planner (issue 15).
        plan = plan_lm_request(store, plan) if plan.task == LM_TASK else plan_profile(store, plan)
    cancel = should_cancel or (lambda: False)
    # A run of N repeats is N steps: progress and the ETA move with each repeat.
    steps = _Steps(on_progress, _step_kinds(plan))
    ledger = _Ledger(store, _reported_accuracy(plan))
    variants = _make_variants(store, plan, steps, cancel, ledger)
    cancelled = variants.cancelled or _measure_sweep(
        plan, variants, executor or LocalExecutor(), steps, cancel, ledger
    )
    elapsed = steps.finish()
    return ProfileSummary(
        model_id=plan.model.model_id,
        run_ids=tuple(ledger.run_ids),
        n_ok=ledger.n_ok,
        n_failed=ledger.n_failed,
        failures=tuple(ledger.failures),
        variant_model_ids=tuple(m.model_id for p, m in variants.models.items() if p != "fp32"),
        cancelled=cancelled,
        elapsed_s=elapsed,
        n_planned=plan.n_runs,
    )


def _step_kinds(plan: ProfilePlan) -> list[str]:
    """Every step's kind, in order: each variant to make, then each run's repeats."""
    kinds = [f"variant:{step.precision}" for step in plan.variants]
    for point in plan.sweep:
        kind = run_kind(point.runtime, point.precision, point.batch_size, point.device)
        kinds += [kind] * max(plan.request.repeats, 1)
    return kinds


class _Steps:
    """A profile's steps (variants, then runs) so far, reported with an ETA priced per kind.

    Each remaining step is priced at the mean of the finished steps of its kind
    (a variant, a run of one runtime, precision and batch), ``PRIOR_STEP_S``
    scaled to this host until one is done (``core.progress.kind_eta``).
    """

    def __init__(
        self,
        on_progress: Callable[[ProfileProgress], None] | None,
        kinds: Sequence[str],
    ) -> None:
        self.on_progress = on_progress
        # Each repeat of a run is a step: the per-repeat priors apply as they are.
        self.estimator = StepEstimator(list(kinds), PRIOR_STEP_S)
        self.started = self.last_done = time.monotonic()

    @property
    def total(self) -> int:
        return self.estimator.total

    @property
    def done(self) -> int:
        return self.estimator.done

    def emit(
        self,
        label: str,
        phase: str,
        stage: str = "",
        per_device: dict[str, tuple[int, int]] | None = None,
    ) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        eta = self.estimator.eta(running_s=now - self.last_done)
        elapsed = now - self.started
        self.on_progress(
            ProfileProgress(
                self.done, self.total, label, elapsed, eta, phase, stage, dict(per_device or {})
            )
        )

    def step_done(self, n: int = 1) -> None:
        """``n`` more steps are finished; the time since the last one is shared among them."""
        now = time.monotonic()
        for _ in range(n):
            self.estimator.finished((now - self.last_done) / n)
        self.last_done = now

    def reach(self, done: int) -> None:
        """``done`` steps are finished (no change when fewer are)."""
        if done > self.done:
            self.step_done(done - self.done)

    def finish(self) -> float:
        """Report the end; the seconds since the start."""
        elapsed = time.monotonic() - self.started
        if self.on_progress is not None:
            self.on_progress(
                ProfileProgress(self.done, self.total, "done", elapsed, 0.0, "done", "done")
            )
        return elapsed


class _Ledger:
    """Stores each record as it arrives and counts ok runs, failed runs and failures."""

    def __init__(self, store: Store, reported: AccuracyResult | None) -> None:
        self.store = store
        self.reported = reported  # stored with each ok fp32 run
        self.run_ids: list[str] = []
        self.n_ok = self.n_failed = 0
        self.failures: list[str] = []  # "label: reason"

    def keep(self, record: RunRecord, label: str) -> None:
        if record.status == "ok" and self.reported is not None and record.spec.precision == "fp32":
            record = dataclasses.replace(record, accuracy=(self.reported,))
        self.store.ingest(record)
        self.run_ids.append(record.run_id)
        if record.status == "ok":
            self.n_ok += 1
        else:
            self.n_failed += 1
            self.failures.append(f"{label}: {record.error}")


def _reported_accuracy(plan: ProfilePlan) -> AccuracyResult | None:
    """The accuracy the user typed, as a ``reported`` result; None when not given (or data is)."""
    value = plan.request.reported_accuracy
    if value is None or plan.dataset is not None:
        return None
    return AccuracyResult(
        metric="top1",
        value=float(value),
        dataset_id="reported",
        n_samples=0,
        origin="reported",
        note="typed by the user when profiling; not measured by Paretoscope",
    )


@dataclass
class _Variants:
    """The files and models runs measure, by precision (``fp32``: the stored model)."""

    artifacts: dict[str, ArtifactRef]
    models: dict[str, ModelRef]
    errors: dict[str, str] = field(default_factory=dict)  # precision -> why it was not made
    cancelled: bool = False


def _make_variants(
    store: Store,
    plan: ProfilePlan,
    steps: _Steps,
    cancel: Callable[[], bool],
    ledger: _Ledger,
) -> _Variants:
    """Make each planned variant in a worker process and store it; a failure is noted."""
    from measure.variants import make_variant_in_worker
    from paretoscope.core.errors import ParetoscopeError
    from paretoscope.core.launcher import StopRequested

    made = _Variants(artifacts={"fp32": plan.artifact}, models={"fp32": plan.model, **plan.models})
    for step in plan.variants:
        if cancel():
            made.cancelled = True
            break
        steps.emit(f"making the {step.precision} variant", "variants")
        with tempfile.TemporaryDirectory(prefix="paretoscope-variant-") as tmp:
            dst = Path(tmp) / f"{step.precision}.onnx"
            try:
                make_variant_in_worker(
                    plan.artifact.path,
                    step.precision,
                    dst,
                    calib_data=plan.dataset.path if plan.dataset is not None else None,
                    calib_items=plan.calib_items,
                    timeout_s=plan.request.timeout_s,
                    should_stop=cancel,
                )
            except StopRequested:
                made.cancelled = True
                break
            except ParetoscopeError as err:
                made.errors[step.precision] = f"making the {step.precision} variant failed: {err}"
                ledger.failures.append(f"{step.precision} variant: {err}")
            else:
                made.artifacts[step.precision] = _store_variant(store, dst, step.precision)
                made.models[step.precision] = _variant_model(plan.model, step)
        steps.step_done()
    return made


def _store_variant(store: Store, path: Path, precision: str) -> ArtifactRef:
    sha, stored = store.put_file(path, "artifacts", ".onnx")
    return ArtifactRef(
        sha256=sha,
        format="onnx",
        path=str(stored),
        size_bytes=stored.stat().st_size,
        precision=precision,
    )


def _variant_model(parent: ModelRef, step: VariantStep) -> ModelRef:
    return ModelRef(
        model_id=f"{parent.model_id}-{step.precision}",
        name=f"{parent.name} {step.precision}",
        family=parent.family,
        task=parent.task,
        parent_model_id=parent.model_id,
        transformation=step.transformation,
        params=parent.params,
        source=parent.source,
        description=f"{step.precision} variant of {parent.name}",
    )


def _measure_sweep(
    plan: ProfilePlan,
    variants: _Variants,
    executor: Executor,
    steps: _Steps,
    cancel: Callable[[], bool],
    ledger: _Ledger,
) -> bool:
    """Measure each sweep point (or record why it cannot be); True when cancelled.

    In turn, or all at once on an executor that measures side by side.
    """
    from measure.worker import failed_record
    from paretoscope.core.timefmt import utc_now_iso
    from paretoscope.profiling.batch import is_concurrent, measure_batch

    batch: list[tuple[RunSpec, str]] = []
    for point in plan.sweep:
        if cancel():
            return True
        spec = _run_spec(plan, variants, point)
        label = f"{plan.model.name} · {point.label}"
        reason = point.unavailable
        if not reason and point.runtime == "ort":
            reason = variants.errors.get(point.precision, "")
        if reason:
            ledger.keep(failed_record(spec, reason, started_at=utc_now_iso()), label)
            steps.step_done(spec.repeats)
        elif is_concurrent(executor):
            batch.append((spec, label))
        elif not _measure_point(executor, spec, label, steps, ledger, cancel):
            return True
    return bool(batch) and not measure_batch(executor, batch, steps, ledger.keep, cancel)


def _run_spec(plan: ProfilePlan, variants: _Variants, point: SweepPoint) -> RunSpec:
    """The spec of one sweep point: its variant's model and file (torch runs: the program).

    A torch run's fp16/bf16 is a cast of the program when it is loaded: its
    model is the profiled one. With repeats, each repeat's budget is its
    share of the request's.
    """
    from measure.repeats import repeat_budget

    request = plan.request
    artifact = variants.artifacts.get(point.precision, plan.artifact)
    model = variants.models.get(point.precision, plan.model)
    if point.runtime == "torch" and plan.torch_artifact is not None:
        artifact, model = plan.torch_artifact, plan.model
    return RunSpec(
        run_id=new_run_id(),
        model=model,
        artifact=artifact,
        runtime=point.runtime,  # type: ignore[arg-type]  # validated in plan_profile
        device=point.device,
        precision=point.precision,
        batch_size=point.batch_size,
        threads=point.threads,
        dataset=plan.dataset,
        budget=repeat_budget(request.budget, request.repeats),
        dims=dict(point.dims),
        timeout_s=request.timeout_s,
        mem_limit_mb=request.mem_limit_mb,
        job_id=request.job_id,
        repeats=request.repeats,
        op_profile=request.op_profile,
        scenarios=request.scenarios,
    )


def _measure_point(
    executor: Executor,
    spec: RunSpec,
    label: str,
    steps: _Steps,
    ledger: _Ledger,
    cancel: Callable[[], bool],
) -> bool:
    """Measure one run, relaying its worker's stages as progress; one step per repeat.

    False when ``cancel`` stopped it: its worker was killed and nothing stored.
    """
    from paretoscope.core.launcher import StopRequested

    start = steps.done
    steps.emit(label, "runs", "started")

    def relay(p: ExecutorProgress) -> None:
        if p.current is None:
            return
        if p.stage == "done":
            steps.reach(start + min(p.repeat, spec.repeats))
        stage = f"{p.stage} · repeat {p.repeat}/{p.repeats}" if p.repeats > 1 else p.stage
        steps.emit(label, "runs", stage)

    try:
        executor.run([spec], functools.partial(ledger.keep, label=label), relay, should_stop=cancel)
    except StopRequested:
        return False
    # A failed repeat ends the run early; an executor may not report repeats.
    steps.reach(start + spec.repeats)
    return True
