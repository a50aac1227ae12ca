"""Run a plan: make its variants in worker processes, measure its sweep, ingest each record."""

from __future__ import annotations

import dataclasses
import functools
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretoscope.core.records import (
    AccuracyResult,
    ArtifactRef,
    ModelRef,
)

if TYPE_CHECKING:
    from measure.executor import Executor
    from store import Store

from paretoscope.profiling.plan import ProfilePlan, plan_profile
from paretoscope.profiling.request import ProfileRequest


@dataclass(frozen=True)
class ProfileProgress:
    """Where a profile stands. Times in seconds.

    ``phase`` is ``variants`` while variants are generated, ``runs`` while
    runs are measured, ``done`` at the end. ``done``/``total`` count steps
    (variants plus runs). ``eta_s`` is None until a step has finished.
    Field names match ``paretoscope.progressbar`` and ``ProgressFile``.
    """

    done: int
    total: int
    label: str
    elapsed_s: float
    eta_s: float | None
    phase: str = "runs"
    stage: str = ""


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


def _keep_as(keep: Callable[[Any, str], None], label: str, record: Any) -> None:
    keep(record, label)


def _reported(plan: ProfilePlan) -> AccuracyResult | None:
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


def run_profile(
    store: Store,
    plan: ProfilePlan | ProfileRequest,
    *,
    on_progress: Callable[[ProfileProgress], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    executor: Executor | None = None,
) -> ProfileSummary:
    """Generate the plan's variants and measure its sweep; store each record as it arrives.

    A ``ProfileRequest`` is planned first (``plan_profile``). Variants are
    made in worker processes; one that fails makes its runs failed records
    with the reason. Runs go through ``executor`` (a ``LocalExecutor`` by
    default) one at a time, each under the request's time and memory limits;
    ``should_cancel`` is asked before each variant and each run, and a true
    answer stops there (runs already stored stay). ``on_progress`` gets a
    ``ProfileProgress`` at each step and worker stage, with an ETA.
    Raises ``InputError`` only from planning; failed measurements are
    failed records, counted in the summary.
    """
    from measure.executor import LocalExecutor
    from measure.executor import Progress as ExecProgress
    from measure.variants import make_variant_in_worker
    from measure.worker import failed_record
    from paretoscope.core.errors import ParetoscopeError
    from paretoscope.core.records import RunRecord, RunSpec, new_run_id
    from paretoscope.core.timefmt import utc_now_iso

    if isinstance(plan, ProfileRequest):
        plan = plan_profile(store, plan)
    request = plan.request
    executor = executor or LocalExecutor()
    cancel = should_cancel or (lambda: False)
    t0 = time.monotonic()
    total = plan.n_steps
    done = 0
    step_started = t0

    def emit(label: str, phase: str, stage: str = "") -> None:
        if on_progress is None:
            return
        elapsed = time.monotonic() - t0
        eta = None
        if done:
            per_step = (step_started - t0) / done
            eta = max(0.0, per_step * (total - done) - (time.monotonic() - step_started))
        on_progress(ProfileProgress(done, total, label, elapsed, eta, phase, stage))

    artifacts: dict[str, ArtifactRef] = {"fp32": plan.artifact}
    models: dict[str, ModelRef] = {"fp32": plan.model}
    variant_errors: dict[str, str] = {}
    failures: list[str] = []
    cancelled = False
    for step in plan.variants:
        if cancel():
            cancelled = True
            break
        emit(f"making the {step.precision} variant", "variants")
        with tempfile.TemporaryDirectory(prefix="paretoscope-variant-") as tmp:
            dst = Path(tmp) / f"{step.precision}.onnx"
            try:
                make_variant_in_worker(
                    plan.artifact.path,
                    step.precision,
                    dst,
                    calib_data=plan.dataset.path if plan.dataset is not None else None,
                    calib_items=request.calib_items,
                    timeout_s=request.timeout_s,
                )
            except ParetoscopeError as err:
                variant_errors[step.precision] = (
                    f"making the {step.precision} variant failed: {err}"
                )
                failures.append(f"{step.precision} variant: {err}")
            else:
                sha, stored = store.put_file(dst, "artifacts", ".onnx")
                artifacts[step.precision] = ArtifactRef(
                    sha256=sha,
                    format="onnx",
                    path=str(stored),
                    size_bytes=stored.stat().st_size,
                    precision=step.precision,
                )
                models[step.precision] = ModelRef(
                    model_id=f"{plan.model.model_id}-{step.precision}",
                    name=f"{plan.model.name} {step.precision}",
                    family=plan.model.family,
                    task=plan.model.task,
                    parent_model_id=plan.model.model_id,
                    transformation=step.transformation,
                    params=plan.model.params,
                    source=plan.model.source,
                    description=f"{step.precision} variant of {plan.model.name}",
                )
        done += 1
        step_started = time.monotonic()

    reported = _reported(plan)
    run_ids: list[str] = []
    n_ok = n_failed = 0

    def keep(record: RunRecord, label: str) -> None:
        nonlocal n_ok, n_failed
        if record.status == "ok" and reported is not None and record.spec.precision == "fp32":
            record = dataclasses.replace(record, accuracy=(reported,))
        store.ingest(record)
        run_ids.append(record.run_id)
        if record.status == "ok":
            n_ok += 1
        else:
            n_failed += 1
            failures.append(f"{label}: {record.error}")

    for point in plan.sweep if not cancelled else ():
        if cancel():
            cancelled = True
            break
        precision = point.precision
        spec = RunSpec(
            run_id=new_run_id(),
            model=models.get(precision, plan.model),
            artifact=plan.torch_artifact
            if point.runtime == "torch" and plan.torch_artifact is not None
            else artifacts.get(precision, plan.artifact),
            runtime=point.runtime,  # type: ignore[arg-type]  # validated in plan_profile
            precision=precision,
            batch_size=point.batch_size,
            threads=point.threads,
            dataset=plan.dataset,
            budget=request.budget,
            dims=dict(point.dims),
            timeout_s=request.timeout_s,
            mem_limit_mb=request.mem_limit_mb,
            job_id=request.job_id,
        )
        label = f"{plan.model.name} · {point.label}"
        if precision in variant_errors:
            now = utc_now_iso()
            keep(failed_record(spec, variant_errors[precision], started_at=now), label)
        else:
            emit(label, "runs", "started")

            def relay(p: ExecProgress, label: str = label) -> None:
                if p.current is not None:
                    emit(label, "runs", p.stage)

            executor.run([spec], functools.partial(_keep_as, keep, label), relay)
        done += 1
        step_started = time.monotonic()

    elapsed = time.monotonic() - t0
    if on_progress is not None:
        on_progress(ProfileProgress(done, total, "done", elapsed, 0.0, "done", "done"))
    return ProfileSummary(
        model_id=plan.model.model_id,
        run_ids=tuple(run_ids),
        n_ok=n_ok,
        n_failed=n_failed,
        failures=tuple(failures),
        variant_model_ids=tuple(m.model_id for p, m in models.items() if p != "fp32"),
        cancelled=cancelled,
        elapsed_s=elapsed,
        n_planned=plan.n_runs,
    )
