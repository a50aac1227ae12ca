"""The demo: train the zoo on digits, export and quantise it, measure every variant, store the runs.

``run_demo`` runs in the command-line process (never in the dashboard's
server). It trains each model of ``measure.zoo`` in-process, puts the files
into the store's folder (content-addressed), then measures every variant,
both runtimes, fp32 and int8, batch 1 and 32, one thread, each run in a fresh
worker process through an executor, and ingests each record as it arrives.
Every run evaluates accuracy itself on the held-out split: an int8 variant's
accuracy is measured, never copied from its parent.

``devices`` adds GPUs (``cuda:N``): there each model runs in torch at fp32,
fp16 and bf16, and in ONNX Runtime at fp32 and int8 when onnxruntime has
its CUDA execution provider (torch's int8 is CPU-only).

Idempotent per host and device: a variant already measured here (``ok``, with at least
the planned timing budget) is not measured again unless ``force``; a demo that
was interrupted resumes with what is missing.

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

from paretoscope.core.errors import InputError, MeasurementError, ParetoscopeError
from paretoscope.core.records import (
    ArtifactRef,
    DatasetRef,
    ModelRef,
    RunRecord,
    RunSpec,
    TimingBudget,
    new_run_id,
)

if TYPE_CHECKING:
    from measure.datasets import DigitsSplit
    from measure.executor import Executor, Progress
    from measure.zoo import TrainConfig, ZooModel
    from store import Store
    from store.bundle import ImportResult

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
# Result bundles measured elsewhere and committed as examples (name -> path in
# the repository); `paretoscope demo --example NAME` imports one as imported runs.
EXAMPLE_BUNDLES: dict[str, str] = {"h100": "examples/h100/h100-demo.parquet"}
_REPO_ROOT = Path(__file__).resolve().parents[2]
# What the demo measures on a GPU, per runtime (torch's int8 runs on CPU only).
GPU_PRECISIONS: dict[str, tuple[str, ...]] = {
    "torch": ("fp32", "fp16", "bf16"),
    "ort": ("fp32", "int8"),
}

Phase = Literal["prepare", "measure", "done"]


@dataclass(frozen=True)
class DemoProgress:
    """One step of the demo done: ``done`` of ``total`` steps (training, export, each run)."""

    phase: Phase
    done: int
    total: int
    label: str
    elapsed_s: float
    eta_s: float | None  # None until there is something to extrapolate from
    runs_failed: int = 0


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
class _Variant:
    """One measurable variant: a model, the file a runtime loads, and its precision."""

    model: ModelRef
    artifact: ArtifactRef
    runtime: Literal["ort", "torch"]
    precision: str


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


class _Clock:
    """Progress with an ETA: preparation and runs are extrapolated separately.

    A training step and a measured run take very different times, so each
    kind's remaining steps are priced at that kind's mean so far (a prior
    guess until the first one is done).
    """

    def __init__(
        self,
        on_progress: Callable[[DemoProgress], None] | None,
        n_prepare: int,
        n_runs: int,
        run_guess_s: float,
    ) -> None:
        self.on_progress = on_progress
        self.started = time.monotonic()
        self.n_prepare, self.n_runs = n_prepare, n_runs
        self.prepared = self.measured = self.failed = 0
        self.prepare_s = self.measure_s = 0.0
        self.run_guess_s = run_guess_s
        self._mark = self.started

    @property
    def total(self) -> int:
        return self.n_prepare + self.n_runs

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def _lap(self) -> float:
        now = time.monotonic()
        lap, self._mark = now - self._mark, now
        return lap

    def _eta(self) -> float | None:
        left_prepare = self.n_prepare - self.prepared
        left_runs = self.n_runs - self.measured
        if left_prepare and not self.prepared:
            return None
        per_prepare = self.prepare_s / self.prepared if self.prepared else 0.0
        per_run = self.measure_s / self.measured if self.measured else self.run_guess_s
        return left_prepare * per_prepare + left_runs * per_run

    def emit(self, phase: Phase, label: str) -> None:
        if self.on_progress is not None:
            self.on_progress(
                DemoProgress(
                    phase=phase,
                    done=self.prepared + self.measured,
                    total=self.total,
                    label=label,
                    elapsed_s=self.elapsed(),
                    eta_s=0.0 if phase == "done" else self._eta(),
                    runs_failed=self.failed,
                )
            )

    def start(self, label: str) -> None:
        self._lap()
        self.emit("prepare", label)

    def prepared_one(self, label: str) -> None:
        self.prepare_s += self._lap()
        self.prepared += 1
        self.emit("prepare", label)

    def start_runs(self) -> None:
        self._lap()

    def measured_one(self, label: str, ok: bool) -> None:
        self.measure_s += self._lap()
        self.measured += 1
        self.failed += 0 if ok else 1
        self.emit("measure", label)


def run_demo(
    store: Store,
    *,
    quick: bool = False,
    force: bool = False,
    on_progress: Callable[[DemoProgress], None] | None = None,
    executor: Executor | None = None,
    devices: Sequence[str] = ("cpu",),
) -> DemoSummary:
    """Train, export and measure the demo zoo on this host into ``store``; return what happened.

    ``quick`` measures a subset (two MLPs and a CNN; still both runtimes,
    fp32 and int8, two batch sizes: 24 runs) with short timing budgets.
    ``force`` measures again what this host already has. ``executor`` runs
    the specs (default: ``measure.executor.LocalExecutor``, one fresh worker
    process per run). ``devices`` are ``cpu`` and/or ``cuda:N`` (see the
    module docstring for what runs on a GPU). A run that fails is stored as
    failed and the demo goes on. Raises ``InputError`` for a device this host
    lacks, ``MeasurementError`` when a model cannot be trained or exported,
    and ``StoreError`` when the store cannot be written.
    """
    from measure import zoo
    from measure.datasets import eval_dataset_id
    from measure.devices import host_info

    started = time.monotonic()
    entries = zoo.zoo_entries(quick=quick)
    config = zoo.TrainConfig()
    budget = QUICK_BUDGET if quick else FULL_BUDGET
    dataset_id = eval_dataset_id()
    device_list, notes = _check_devices(devices)
    plan = _plan(entries, config, dataset_id, device_list, ort_gpu=not notes)

    done_keys = set() if force else _measured_keys(store, host_info().host_id, budget)
    todo = [p for p in plan if p.key not in done_keys]
    already = len(plan) - len(todo)
    summary = DemoSummary(
        runs_ok=0,
        runs_failed=0,
        elapsed_s=0.0,
        skipped=not todo,
        quick=quick,
        zoo_version=zoo.ZOO_VERSION,
        models=len(entries),
        runs_planned=len(plan),
        runs_already_stored=already,
        notes=tuple(notes),
    )
    if not todo:
        return replace(summary, elapsed_s=time.monotonic() - started)

    needed = [e for e in entries if any(p.entry_name == e.name for p in todo)]
    # Steps: the split, then per model one for training and one for export.
    # Before the first run ends, a run is guessed at its minimum timing plus
    # about a second of worker start-up.
    clock = _Clock(on_progress, 1 + 2 * len(needed), len(todo), budget.min_time_s + 1.0)
    with tempfile.TemporaryDirectory(prefix="paretoscope-demo-") as tmp:
        dataset, variants = _prepare(store, needed, config, Path(tmp), clock)
    specs: list[RunSpec] = []
    labels: list[str] = []
    for p in todo:
        # torch's fp16 and bf16 cast the fp32 model when it is loaded.
        precision = "fp32" if p.precision in ("fp16", "bf16") else p.precision
        v = variants[(p.model_id, p.runtime, precision)]
        spec = RunSpec(
            run_id=new_run_id(),
            model=v.model,
            artifact=v.artifact,
            runtime=p.runtime,
            device=p.device,
            precision=p.precision,
            batch_size=p.batch_size,
            threads=DEMO_THREADS,
            dataset=dataset,
            budget=budget,
            timeout_s=RUN_TIMEOUT_S,
        )
        specs.append(spec)
        labels.append(p.label)
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
    store: Store, host_id: str, budget: TimingBudget
) -> set[tuple[str, str, str, int, str]]:
    """Variants this host has measured ``ok``, per device, with one thread and at least ``budget``.

    A quick demo's runs (short budget) do not count for the full demo, so
    ``--quick`` first does not leave the full demo with noisier numbers.
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
        if s.budget.max_time_s >= budget.max_time_s:
            keys.add((s.model.model_id, s.runtime, s.precision, s.batch_size, s.device))
    return keys


VariantKey = tuple[str, str, str]  # (model_id, runtime, precision)


def _prepare(
    store: Store,
    entries: Sequence[ZooModel],
    config: TrainConfig,
    workdir: Path,
    clock: _Clock,
) -> tuple[DatasetRef, dict[VariantKey, _Variant]]:
    """Split the data, train and export each model, and put every file into the store."""
    from measure.datasets import DATASET_NAME, digits_split, eval_dataset_id, write_eval_npz

    clock.start("splitting digits")
    split = digits_split()
    npz = write_eval_npz(split, workdir / "digits-test.npz")
    sha, stored = store.put_file(npz, "datasets", ".npz")
    dataset = DatasetRef(
        dataset_id=eval_dataset_id(seed=split.seed, test_fraction=split.test_fraction),
        name=DATASET_NAME,
        split="test",
        path=str(stored),
        n_samples=len(split.y_test),
        sha256=sha,
        source="scikit-learn",
    )
    clock.prepared_one(f"digits split: {len(split.y_train)} train, {len(split.y_test)} test")
    variants: dict[VariantKey, _Variant] = {}
    for entry in entries:
        variants.update(
            _prepare_one(store, entry, split, config, dataset.dataset_id, workdir, clock)
        )
    return dataset, variants


def _prepare_one(
    store: Store,
    entry: ZooModel,
    split: DigitsSplit,
    config: TrainConfig,
    dataset_id: str,
    workdir: Path,
    clock: _Clock,
) -> dict[VariantKey, _Variant]:
    """Train one model, export it and quantise it; its four variants."""
    from measure import zoo

    try:
        trained = zoo.train_model(entry, split, config)
    except Exception as err:
        raise MeasurementError(f"could not train demo model {entry.name}: {err}") from err
    clock.prepared_one(f"trained {entry.name} ({trained.params} params, {trained.train_s:.1f} s)")
    try:
        state = zoo.save_state(trained.module, workdir / f"{entry.name}.pt")
        fp32 = zoo.export_onnx(trained.module, workdir / f"{entry.name}.onnx")
        int8 = zoo.quantize_onnx_int8(fp32, workdir / f"{entry.name}.int8.onnx")
    except Exception as err:
        raise MeasurementError(f"could not export demo model {entry.name}: {err}") from err

    def artifact(path: Path, fmt: Literal["onnx", "torch-state"], precision: str) -> ArtifactRef:
        sha, stored = store.put_file(path, "artifacts", path.suffix)
        return ArtifactRef(
            sha256=sha,
            format=fmt,
            path=str(stored),
            size_bytes=stored.stat().st_size,
            precision=precision,
            builder=entry.builder if fmt == "torch-state" else None,
            builder_kwargs=dict(entry.builder_kwargs) if fmt == "torch-state" else {},
        )

    parent_id = zoo.model_id(entry, config, dataset_id)
    recipe = (
        f"{entry.description}. Trained here on the digits training split: Adam "
        f"(lr {config.lr}), {config.epochs} epochs, batch {config.batch_size}, seed {config.seed}."
    )
    parent = ModelRef(
        model_id=parent_id,
        name=entry.name,
        family=entry.family,
        params=trained.params,
        source="demo",
        description=recipe,
    )

    def child(transformation: str, suffix: str, what: str) -> ModelRef:
        return ModelRef(
            model_id=zoo.variant_id(parent_id, transformation),
            name=f"{entry.name}-{suffix}",
            family=entry.family,
            parent_model_id=parent_id,
            transformation=transformation,
            params=trained.params,
            source="demo",
            description=f"{entry.name} with {what}.",
        )

    ort_int8 = child(
        zoo.ORT_INT8_TRANSFORMATION,
        "int8-ort",
        "onnxruntime dynamic quantization: int8 weights for MatMul/Gemm and Conv, "
        "activations quantized at run time",
    )
    torch_int8 = child(
        zoo.TORCH_INT8_TRANSFORMATION,
        "int8-torch",
        "torch.ao dynamic quantization, applied when the model is loaded: int8 weights for "
        "nn.Linear (convolutions stay fp32), activations quantized at run time",
    )
    state_art = artifact(state, "torch-state", "fp32")
    clock.prepared_one(f"exported {entry.name} (ONNX fp32, ONNX int8, state dict)")
    found = [
        _Variant(parent, artifact(fp32, "onnx", "fp32"), "ort", "fp32"),
        _Variant(ort_int8, artifact(int8, "onnx", "int8"), "ort", "int8"),
        _Variant(parent, state_art, "torch", "fp32"),
        # The int8 torch run loads the fp32 state dict and quantises it at load time.
        _Variant(torch_int8, state_art, "torch", "int8"),
    ]
    return {(v.model.model_id, v.runtime, v.precision): v for v in found}


def _measure(
    store: Store,
    specs: Sequence[RunSpec],
    labels: Sequence[str],
    executor: Executor | None,
    clock: _Clock,
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
        # timing, evaluating); runs are measured in order, so index = done.
        if p.current is not None and p.done < len(labels):
            clock.emit("measure", f"{labels[p.done]}: {p.stage}")

    clock.start_runs()
    executor.run(specs, on_result, on_progress)
    return records


def example_bundle_path(name: str) -> Path:
    """The committed example bundle called ``name``; ``InputError`` when unknown or absent."""
    if name not in EXAMPLE_BUNDLES:
        raise InputError(
            f"unknown example {name!r}; choose one of: {', '.join(sorted(EXAMPLE_BUNDLES))}"
        )
    path = _REPO_ROOT / EXAMPLE_BUNDLES[name]
    if not path.is_file():
        raise InputError(
            f"the example bundle {EXAMPLE_BUNDLES[name]} is not part of this installation; "
            "get it from the repository and run `paretoscope import FILE`"
        )
    return path


def import_example(store: Store, name: str) -> ImportResult:
    """Import the example bundle ``name`` into ``store`` (idempotent; runs marked imported).

    The runs keep the host and device they were measured on (e.g. an H100
    machine), so the dashboard shows them beside this host's runs, labelled
    as imported. Raises ``InputError`` for an unknown or broken bundle.
    """
    from store.bundle import import_bundle

    return import_bundle(store, example_bundle_path(name), name=f"example {name}")
