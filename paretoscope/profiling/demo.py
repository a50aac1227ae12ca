"""The demo: train the zoo on digits, export and quantise it, measure every variant, store the runs.

``run_demo`` runs in the command-line process (never in the dashboard's
server). It plans every run, trains each model of ``measure.zoo`` in-process
and puts the files into the store's folder (``profiling.demo_zoo``), then
measures every variant, both runtimes, fp32 and int8, batch 1 and 32, one
thread, each run in a fresh worker process through an executor, and ingests
each record as it arrives.
Every run evaluates accuracy itself on the held-out split: an int8 variant's
accuracy is measured, never copied from its parent. The demo's language models
(``profiling.demo_lm``: three tiny GPT-2s trained here, fp32 and int8, scored by
perplexity) are measured after the classifiers, on the CPU (``lms`` of them).

``devices`` adds GPUs (``cuda:N``): there each model runs in torch at fp32,
fp16 and bf16, and in ONNX Runtime at fp32 and int8 when onnxruntime has
its CUDA execution provider (torch's int8 is CPU-only).

Each run's latency is measured in ``repeats`` fresh processes (default
``profiling.request.DEFAULT_REPEATS``; one for ``quick``) that share the
run's timing budget, so the CI of the median covers the spread between
processes.

Idempotent per host and device: a variant already measured here (``ok``, with at least
the planned timing budget and repeats) is not measured again unless ``force``; a demo that
was interrupted resumes with what is missing.

The committed example bundles (``demo --example``) are ``profiling.examples``.
Importing this module imports neither torch nor onnxruntime (the command line
imports it): the zoo is imported inside ``run_demo``.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from paretoscope.core.errors import InputError, ParetoscopeError
from paretoscope.core.progress import run_kind
from paretoscope.core.records import (
    DatasetRef,
    RunRecord,
    RunSpec,
    TimingBudget,
    new_run_id,
)
from paretoscope.profiling import demo_lm as lm
from paretoscope.profiling.demo_clock import DemoProgress, StepClock
from paretoscope.profiling.demo_zoo import DemoVariant, VariantKey, prepare_zoo
from paretoscope.profiling.examples import EXAMPLE_BUNDLES, example_bundle_path, import_example
from paretoscope.profiling.request import DEFAULT_REPEATS, MAX_REPEATS

if TYPE_CHECKING:
    from measure.executor import Executor, Progress
    from measure.zoo import TrainConfig, ZooModel
    from store import Store

__all__ = [
    "DEMO_BATCH_SIZES",
    "DEMO_THREADS",
    "EXAMPLE_BUNDLES",
    "FULL_BUDGET",
    "GPU_PRECISIONS",
    "QUICK_BUDGET",
    "DemoProgress",
    "DemoSummary",
    "example_bundle_path",
    "import_example",
    "prepare_kinds",
    "run_demo",
]

DEMO_BATCH_SIZES: tuple[int, ...] = (1, 32)
DEMO_THREADS = 1
# The full demo (8 models, 64 runs) took 131 s on two cores of a 2026 EPYC VM:
# about 45 s training and exporting, 0.6 s per ort run and 1.6 s per torch run
# (mostly starting the worker and importing torch). Nearly every run reached
# the CI target soon after min_time_s; max_time_s bounds the noisy ones.
FULL_BUDGET = TimingBudget(
    warmup_iters=10, min_iters=30, min_time_s=0.2, max_time_s=1.0, target_ci_rel=0.01
)
# For tests and --quick: enough iterations for a median, little more.
QUICK_BUDGET = TimingBudget(
    warmup_iters=3, min_iters=10, max_iters=5_000, min_time_s=0.02, max_time_s=0.1
)
RUN_TIMEOUT_S = 120.0
# What the demo measures on a GPU, per runtime (torch's int8 runs on CPU only).
GPU_PRECISIONS: dict[str, tuple[str, ...]] = {
    "torch": ("fp32", "fp16", "bf16"),
    "ort": ("fp32", "int8"),
}


@dataclass(frozen=True)
class DemoSummary:
    """What a demo did. ``skipped``: nothing to do (this host already has the runs)."""

    runs_ok: int
    runs_failed: int
    elapsed_s: float
    skipped: bool
    quick: bool
    zoo_version: int
    models: int  # fp32 models of the zoo (each has two int8 variants)
    runs_planned: int
    runs_already_stored: int
    run_ids: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    lm_models: int = 0  # fp32 language models (each has an int8 variant)

    def __str__(self) -> str:
        zoo = f"demo zoo v{self.zoo_version}{' (quick)' if self.quick else ''}"
        if self.skipped:
            text = (
                f"{zoo}: this host already has all {self.runs_planned} runs in the store; "
                "nothing measured (use --force to measure again)"
            )
            return "\n".join((text, *self.notes))
        text = (
            f"{zoo}: {self.runs_ok} run(s) ok, {self.runs_failed} failed, in {self.elapsed_s:.0f} s"
        )
        if self.runs_already_stored:
            text += f"; {self.runs_already_stored} were already stored"
        if self.runs_failed:
            text += "; failed runs are stored with their reason (see `paretoscope runs --all`)"
        return "\n".join((text, *self.notes))


@dataclass(frozen=True)
class _PlannedRun:
    entry_name: str
    model_id: str
    runtime: Literal["ort", "torch"]
    precision: str
    batch_size: int
    device: str = "cpu"

    @property
    def key(self) -> tuple[str, str, str, int, str]:
        return (self.model_id, self.runtime, self.precision, self.batch_size, self.device)

    @property
    def label(self) -> str:
        where = "" if self.device == "cpu" else f" {self.device}"
        return f"{self.entry_name} {self.runtime} {self.precision} b{self.batch_size}{where}"


def _model_family(entry_name: str) -> str:
    """``cnn-c16`` → ``cnn``: training cost depends mostly on the kind of network."""
    return entry_name.split("-", 1)[0] or "model"


def prepare_kinds(entry_names: Sequence[str]) -> list[str]:
    """The kinds of the preparation steps: the split, then per model training and export."""
    kinds = ["split"]
    for name in entry_names:
        kinds += [f"train:{_model_family(name)}", f"export:{_model_family(name)}"]
    return kinds


def run_demo(
    store: Store,
    *,
    quick: bool = False,
    force: bool = False,
    on_progress: Callable[[DemoProgress], None] | None = None,
    executor: Executor | None = None,
    devices: Sequence[str] = ("cpu",),
    repeats: int | None = None,
    lms: int | None = None,
    classifiers: bool = True,
) -> DemoSummary:
    """Train, export and measure the demo zoo on this host into ``store``; return what happened.

    ``quick`` measures a subset (two MLPs and a CNN; still both runtimes,
    fp32 and int8, two batch sizes: 24 runs) with short timing budgets.
    ``force`` measures again what this host already has. ``executor`` runs
    the specs (default: ``measure.executor.LocalExecutor``, one fresh worker
    process per run). ``devices`` are ``cpu`` and/or ``cuda:N`` (see the
    module docstring for what runs on a GPU). ``repeats`` fresh processes
    measure each run, sharing its timing budget (default ``DEFAULT_REPEATS``; one
    with ``quick``, a first look). A run that fails is stored as
    failed and the demo goes on. Raises ``InputError`` for a device this host
    lacks or repeats out of range, ``MeasurementError`` when a model cannot be trained or exported,
    and ``StoreError`` when the store cannot be written.

    ``lms``: how many members of the language-model family (``demo_lm``,
    smallest first) are trained and measured on the CPU, each at fp32 and
    int8 and ``demo_lm.LM_PROMPT_LENS`` (default: all; none with ``quick``).
    ``classifiers=False`` leaves the digits zoo out (tests of the LMs).

    Long because it is the demo's one sequence (plan, skip, prepare, measure),
    which reads best in one place; the parts are the functions it calls.
    """
    from measure import zoo
    from measure.datasets import eval_dataset_id
    from measure.devices import host_info
    from measure.llm.family import family
    from measure.repeats import repeat_budget

    if repeats is None:
        repeats = 1 if quick else DEFAULT_REPEATS
    if not 1 <= repeats <= MAX_REPEATS:
        raise InputError(f"--repeats must be from 1 to {MAX_REPEATS} (got {repeats})")
    started = time.monotonic()
    members = family(0 if quick and lms is None else lms)
    entries = zoo.zoo_entries(quick=quick) if classifiers else ()
    config = zoo.TrainConfig()
    budget = QUICK_BUDGET if quick else FULL_BUDGET
    device_list, notes = _check_devices(devices)
    plan = _plan(entries, config, eval_dataset_id(), device_list, ort_gpu=not notes)
    done_keys = set() if force else _measured_keys(store, host_info().host_id, budget, repeats)
    todo = [p for p in plan if p.key not in done_keys]
    # Language models: on the CPU only (torch's int8 is CPU-only), one repeat each.
    lm_budget = QUICK_BUDGET if quick else lm.LM_BUDGET
    lm_runs, lm_todo = lm.lm_todo(
        store, members if "cpu" in device_list else (), lm_budget, DEMO_THREADS, force=force
    )
    planned = len(plan) + len(lm_runs)
    summary = DemoSummary(
        runs_ok=0,
        runs_failed=0,
        elapsed_s=0.0,
        skipped=not (todo or lm_todo),
        quick=quick,
        zoo_version=zoo.ZOO_VERSION,
        models=len(entries),
        runs_planned=planned,
        runs_already_stored=planned - len(todo) - len(lm_todo),
        notes=tuple(notes),
        lm_models=len(members),
    )
    if summary.skipped:
        return replace(summary, elapsed_s=time.monotonic() - started)

    needed = [e for e in entries if any(p.entry_name == e.name for p in todo)]
    # Steps: the split, then per model one for training and one for export, then the runs.
    each = repeat_budget(budget, repeats)
    lm_needed = [m for m in members if any(r.member == m for r in lm_todo)]
    prepare = prepare_kinds([e.name for e in needed]) + lm.lm_prepare_kinds(lm_needed)
    # Starting the measuring workers (each imports its runtime) is a step of its own:
    # priced as part of the first run it would make every run look several times dearer.
    prepare = [*prepare, "workers"]
    kinds = prepare + [run_kind(p.runtime, p.precision, p.batch_size, p.device) for p in todo]
    clock = StepClock(on_progress, kinds + [r.kind for r in lm_todo], len(prepare), repeats)
    with tempfile.TemporaryDirectory(prefix="paretoscope-demo-") as tmp:
        clock.start("splitting digits")
        dataset, variants = prepare_zoo(store, needed, config, Path(tmp), clock.prepared_one)
        text, trained = lm.prepare_lms(store, lm_needed, Path(tmp), clock.prepared_one)
    specs = [replace(_run_spec(p, variants, dataset, each), repeats=repeats) for p in todo]
    specs += [lm.lm_run_spec(r, trained, text, lm_budget, DEMO_THREADS) for r in lm_todo]
    labels = [p.label for p in todo] + [r.label for r in lm_todo]
    records = _measure(store, specs, labels, executor, clock)
    ok = sum(r.status == "ok" for r in records)
    clock.emit("done", f"{ok} ok, {len(records) - ok} failed")
    return replace(
        summary,
        runs_ok=ok,
        runs_failed=len(records) - ok,
        elapsed_s=time.monotonic() - started,
        run_ids=tuple(r.run_id for r in records),
    )


def _run_spec(
    run: _PlannedRun,
    variants: dict[VariantKey, DemoVariant],
    dataset: DatasetRef,
    budget: TimingBudget,
) -> RunSpec:
    """The spec of one planned run, on its prepared variant."""
    # torch's fp16 and bf16 cast the fp32 model when it is loaded.
    precision = "fp32" if run.precision in ("fp16", "bf16") else run.precision
    v = variants[(run.model_id, run.runtime, precision)]
    return RunSpec(
        run_id=new_run_id(),
        model=v.model,
        artifact=v.artifact,
        runtime=run.runtime,
        device=run.device,
        precision=run.precision,
        batch_size=run.batch_size,
        threads=DEMO_THREADS,
        dataset=dataset,
        budget=budget,
        timeout_s=RUN_TIMEOUT_S,
    )


def _check_devices(devices: Sequence[str]) -> tuple[list[str], list[str]]:
    """The devices to measure on (``cuda`` means ``cuda:0``), and notes on what is left out.

    Raises ``InputError`` for an unknown device or a GPU this host lacks.
    """
    out: list[str] = []
    for d in devices:
        name = "cuda:0" if d == "cuda" else d
        if name not in out:
            out.append(name)
    gpus = [d for d in out if d != "cpu"]
    if not gpus:
        return out, []
    from measure.devices import device_for, host_info

    host = host_info()
    try:
        for d in gpus:
            device_for(d, host)
    except ParetoscopeError as err:
        raise InputError(f"cannot run the demo on {', '.join(gpus)}: {err}") from err
    try:
        import onnxruntime

        providers = onnxruntime.get_available_providers()
    except ImportError:
        providers = []
    if "CUDAExecutionProvider" in providers:
        return out, []
    return out, [
        "ONNX Runtime runs were not planned on the GPU: this onnxruntime has no "
        "CUDAExecutionProvider (install onnxruntime-gpu instead of onnxruntime)"
    ]


def _plan(
    entries: Sequence[ZooModel],
    config: TrainConfig,
    dataset_id: str,
    devices: Sequence[str] = ("cpu",),
    *,
    ort_gpu: bool = True,
) -> list[_PlannedRun]:
    """Every run of the demo, by recipe-derived model id (known without training)."""
    from measure import zoo

    plan = []
    for e in entries:
        parent = zoo.model_id(e, config, dataset_id)
        ort_int8 = zoo.variant_id(parent, zoo.ORT_INT8_TRANSFORMATION)
        for device in devices:
            variants: list[tuple[str, Literal["ort", "torch"], str]]
            if device == "cpu":
                variants = [
                    (parent, "ort", "fp32"),
                    (ort_int8, "ort", "int8"),
                    (parent, "torch", "fp32"),
                    (zoo.variant_id(parent, zoo.TORCH_INT8_TRANSFORMATION), "torch", "int8"),
                ]
            else:
                variants = [(parent, "torch", p) for p in GPU_PRECISIONS["torch"]]
                if ort_gpu:
                    variants += [(parent, "ort", "fp32"), (ort_int8, "ort", "int8")]
            for mid, runtime, precision in variants:
                for batch in DEMO_BATCH_SIZES:
                    plan.append(_PlannedRun(e.name, mid, runtime, precision, batch, device))
    return plan


def _measured_keys(
    store: Store, host_id: str, budget: TimingBudget, repeats: int = 1
) -> set[tuple[str, str, str, int, str]]:
    """Variants this host has measured ``ok``, per device, with one thread, at least ``budget``
    (over all repeats) and at least ``repeats``.

    A quick demo's runs (short budget) do not count for the full demo, so
    ``--quick`` first does not leave the full demo with noisier numbers; nor
    do runs of fewer repeats, whose CI understates the spread between processes.
    """
    frame = store.runs_frame(status="ok")
    if frame.empty:
        return set()
    mine = frame[
        (frame["host_id"] == host_id)
        & (frame["model_source"] == "demo")
        & (frame["threads"] == DEMO_THREADS)
    ]
    keys: set[tuple[str, str, str, int, str]] = set()
    for rec in store.records(mine["run_id"].tolist()):
        s = rec.spec
        # Each repeat had its share of the budget: compare the whole.
        total_s = s.budget.max_time_s * max(s.repeats, 1)
        if total_s >= budget.max_time_s * (1 - 1e-9) and s.repeats >= repeats:
            keys.add((s.model.model_id, s.runtime, s.precision, s.batch_size, s.device))
    return keys


def _measure(
    store: Store,
    specs: Sequence[RunSpec],
    labels: Sequence[str],
    executor: Executor | None,
    clock: StepClock,
) -> list[RunRecord]:
    """Run ``specs`` through the executor, ingesting each record as it arrives."""
    if executor is None:
        from measure.executor import LocalExecutor

        executor = LocalExecutor()
    records: list[RunRecord] = []

    def on_result(record: RunRecord) -> None:
        # Stored before the next run starts: an interrupted demo keeps what it measured.
        store.ingest(record)
        records.append(record)
        label = labels[len(records) - 1] if len(records) <= len(labels) else record.run_id
        clock.measured_one(f"{label}: {record.status}", record.status == "ok")

    def on_progress(p: Progress) -> None:
        # The executor reports each stage of the run in progress (loading,
        # timing, evaluating) and its repeat; runs are measured in order, so index = done.
        # Its first report means the workers are up: that step is done.
        if not clock.workers_up:
            clock.workers_up = True
            clock.prepared_one("measuring workers started")
        if p.current is not None and p.done < len(labels):
            where = f" · repeat {p.repeat}/{p.repeats}" if p.repeats > 1 else ""
            clock.emit("measure", f"{labels[p.done]}: {p.stage}{where}")

    clock.start_runs()
    executor.run(specs, on_result, on_progress)
    return records
