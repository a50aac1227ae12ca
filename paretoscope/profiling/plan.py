"""Turn a request into a validated plan: model, data, variants and sweep checked first, then stored.

Nothing is written to the database here, and nothing at all until every check has passed.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from paretoscope.core.errors import InputError
from paretoscope.core.modelinfo import Dim, ModelInfo
from paretoscope.core.records import ArtifactRef, DatasetRef, ModelRef
from paretoscope.profiling import devices as _devices
from paretoscope.profiling.inspection import (
    _INSPECT_TIMEOUT_S,
    inspect_in_worker,
    inspect_torch_in_worker,
    is_torch_target,
)
from paretoscope.profiling.request import (
    ALLOW_TORCH_UPLOADS_ENV,
    TORCH_ONLY_PRECISIONS,
    ProfileRequest,
    SweepPoint,
    sweep_points,
    torch_uploads_allowed,
    validate_options,
)
from paretoscope.profiling.uploads import as_uploaded

if TYPE_CHECKING:
    from measure.evaldata import EvalSet
    from store import Store


@dataclass(frozen=True)
class VariantStep:
    """One variant to generate from the stored model: its precision and how it is made."""

    precision: str
    transformation: str
    runtime: str = "ort"


@dataclass(frozen=True)
class ProfilePlan:
    """A validated request, its stored model and data, the variants to make and the sweep.

    ``artifact.path`` and ``dataset.path`` are inside the store's folder.
    """

    request: ProfileRequest
    info: ModelInfo
    model: ModelRef
    artifact: ArtifactRef
    dataset: DatasetRef | None
    variants: tuple[VariantStep, ...]
    sweep: tuple[SweepPoint, ...]
    notes: tuple[str, ...] = ()
    # PyTorch targets: the torch.export program that ``torch`` runs measure
    # (``artifact`` is then its ONNX export, or the program itself when only
    # ``torch`` runs are asked for).
    torch_artifact: ArtifactRef | None = None
    # How many of the data's first items calibrate int8-static (0: none).
    # ``dataset.items`` is then the rest, which every run scores.
    calib_items: int = 0
    # Models whose runs make them at load time (a causal LM's int8, bf16), by
    # precision: each is its own model with its parent's lineage.
    models: dict[str, ModelRef] = field(default_factory=dict)

    @property
    def n_runs(self) -> int:
        return len(self.sweep)

    @property
    def n_steps(self) -> int:
        """Variants to make plus runs to measure: the denominator of progress."""
        return len(self.variants) + len(self.sweep)


def _check_model(info: ModelInfo, request: ProfileRequest) -> None:
    """Refuse a model the request cannot run: onnxruntime errors, dtypes, fixed batches."""
    name = Path(request.model_path).name
    if info.ort_error is not None and "ort" in request.runtimes:
        if info.custom_ops:
            raise InputError(
                f"ONNX Runtime cannot run {name}: it uses operator(s) "
                f"{', '.join(info.custom_ops)}, which ONNX Runtime does not implement. Export "
                f"the model with standard ONNX operators only. ({info.ort_error})"
            )
        raise InputError(f"ONNX Runtime cannot load {name}: {info.ort_error}")
    if "torch" in request.runtimes:
        raise InputError(
            f"{name} is an ONNX model, which runs with --runtime ort; the torch runtime measures "
            "PyTorch models (a .pt2 file or module:function, on the command line)"
        )
    for t in info.inputs:
        if t.dtype.startswith("<"):
            raise InputError(f"model input {t.name!r} has type {t.dtype}, which is not supported")
        first = t.shape[0] if t.shape else None
        if isinstance(first, int) and first > 0:
            other = [b for b in request.batches if int(b) != first]
            if other:
                raise InputError(
                    f"input {t.name!r} has a fixed batch of {first} (shape "
                    f"{list(t.shape)}); it cannot run batch {other[0]}. Use --batch {first} or "
                    "export the model with a dynamic first dimension"
                )
    if not info.outputs:
        raise InputError(f"{name} declares no outputs")


def _sweep_dims(
    info: ModelInfo, request: ProfileRequest, data_dims: Mapping[str, int] | None
) -> dict[str, tuple[int, ...]]:
    """Values of every non-batch symbolic dimension: from ``--dim``, else from the data."""
    wanted = info.other_dims
    unknown = [d for d in request.dims if d not in wanted]
    if unknown:
        have = ", ".join(wanted) if wanted else "none besides the batch"
        batch = [d for d in unknown if d in info.batch_dims]
        hint = f" ({', '.join(batch)} is the batch: use --batch)" if batch else ""
        raise InputError(
            f"the model has no symbolic dimension {', '.join(map(repr, unknown))}{hint}; its "
            f"symbolic dimensions are: {have}"
        )
    out: dict[str, tuple[int, ...]] = {}
    missing = []
    for dim in wanted:
        given = tuple(int(v) for v in request.dims.get(dim, ()))
        if data_dims is not None and dim in data_dims:
            if given and set(given) != {data_dims[dim]}:
                raise InputError(
                    f"the evaluation data has {dim}={data_dims[dim]} but --dim asks for "
                    f"{dim}={','.join(map(str, given))}; with data, the data's shape is measured"
                )
            out[dim] = (data_dims[dim],)
        elif given:
            out[dim] = given
        else:
            missing.append(dim)
    if missing:
        raise InputError(
            "give a value for every symbolic dimension: "
            + ", ".join(f"--dim {d}=VALUE" for d in missing)
            + f" (the model's inputs: {_inputs_text(info)})"
        )
    if data_dims is None:
        for t in info.inputs:
            if any(d is None for d in t.shape[1:]):
                raise InputError(
                    f"input {t.name!r} has an unnamed dynamic dimension ({_shape_text(t.shape)}); "
                    "without data its size is unknown: give evaluation data"
                )
    return out


def _shape_text(shape: Sequence[Dim]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _inputs_text(info: ModelInfo) -> str:
    return "; ".join(f"{t.name} {t.dtype} {_shape_text(t.shape)}" for t in info.inputs)


def _store_model(store: Store, info: ModelInfo) -> tuple[str, Path]:
    """Copy the model (and its external data, by relative name) into the store by sha256."""
    import shutil

    src = Path(info.path)
    if not info.external_data:
        return store.put_file(src, "artifacts", ".onnx")
    # External data is found relative to the model file: keep the set together.
    folder = store.files_dir / "artifacts" / info.sha256
    target = folder / "model.onnx"
    if not target.exists():
        tmp = store.files_dir / "artifacts" / f".tmp-{info.sha256}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for rel in info.external_data:
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src.parent / rel, tmp / rel)
        shutil.copyfile(src, tmp / "model.onnx")
        if folder.exists():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    return info.sha256, target


def _store_eval_set(store: Store, data: EvalSet, info: ModelInfo, tmp_dir: Path) -> DatasetRef:
    """Write ``data`` normalised and put it in the store's ``datasets`` folder by sha256.

    The data set id is ``<name>-<first 12 hex digits of the sha256>``: the
    same data gives the same id, different data a different one.
    """
    from measure.evaldata import write_eval_npz

    order = tuple(t.name for t in info.inputs)
    tmp = write_eval_npz(data, tmp_dir / "eval.npz", order)
    digest, target = store.put_file(tmp, "datasets", ".npz")
    return DatasetRef(
        dataset_id=f"{data.name}-{digest[:12]}",
        name=data.name,
        split="eval",
        path=str(target),
        n_samples=data.n_items,
        sha256=digest,
        source=data.source,
    )


def plan_profile(
    store: Store, request: ProfileRequest, *, cluster: bool | None = None
) -> ProfilePlan:
    """Validate ``request`` completely, then store its model and data; return the plan.

    Order matters for "nothing half-written": the options, the model file
    (sniffed, then inspected in a child process), onnxruntime's ability to
    run it, the symbolic dimensions, and the data (read and checked against
    the model's inputs and outputs) are all checked first; only then are
    the model and the normalised evaluation set copied into the store's
    folder, content-addressed by sha256 (the same file twice is stored
    once). Nothing is written to the database here. Raises ``InputError``
    with a specific message for every refusal, among them a device this
    host does not offer (checked first, before any file is read). The
    plan's request names the resolved devices (``all`` expanded). ``cluster``:
    runs go to a Dask cluster, whose workers' GPUs are not checked here
    (None: when ``PARETOSCOPE_DASK_SCHEDULER`` is set).
    """
    validate_options(request)
    if cluster is None:
        cluster = _devices.cluster_configured()
    offered = _devices.offered_devices()
    devices = _devices.resolve_devices(request.devices, offered, cluster=cluster)
    request = dataclasses.replace(request, devices=devices)
    with tempfile.TemporaryDirectory(prefix="paretoscope-plan-") as tmp:
        return _plan_in(store, request, Path(tmp))


def _plan_in(store: Store, request: ProfileRequest, tmp: Path) -> ProfilePlan:
    """``plan_profile`` with ``tmp``, a scratch folder: every check, then every write."""
    from measure.evaldata import load_eval_set
    from measure.variants import transformation_text

    notes: list[str] = []
    info, torch_info = _inspect_model(request, tmp, notes)
    data = None
    data_dims: dict[str, int] | None = None
    if request.data_path or request.builtin_data:
        try:
            data, data_dims = load_eval_set(
                info,
                request.task,
                path=request.data_path,
                builtin=request.builtin_data,
                label_column=request.label_column,
            )
        except InputError as err:
            if not (request.data_path and request.data_name):
                raise
            raise InputError(as_uploaded(str(err), request.data_path, request.data_name)) from err
    dims = _sweep_dims(info, request, data_dims)
    sweep = sweep_points(
        request.runtimes, request.precisions, request.batches, request.threads, dims,
        request.devices,
    )  # fmt: skip
    if torch_info is not None:
        sweep = _torch_sweep(sweep, notes)
    sweep = remaining_sweep(with_reasons(sweep), request, notes)

    made = [
        p
        for p in request.precisions
        if p != "fp32" and p not in TORCH_ONLY_PRECISIONS and info.format == "onnx"
    ]
    # The calibration split follows the whole request, so that the rest of an
    # interrupted sweep is scored on the same items as the runs it already stored.
    calib, scored = _calibration(request, data, made, notes)
    n_items = data.n_items if data is not None else 0
    # Variants are ONNX files: made when an ort run that can be tried measures one.
    needed = {p.precision for p in sweep if p.runtime == "ort" and not p.unavailable}

    # Everything is valid: from here on, write.
    variants = tuple(
        VariantStep(p, transformation_text(p, calib, n_items)) for p in made if p in needed
    )
    dataset = _store_eval_set(store, data, info, tmp) if data is not None else None
    if dataset is not None and scored is not None:
        dataset = dataclasses.replace(dataset, items=scored)
    artifact, torch_artifact = _store_artifacts(store, info, torch_info)
    source = torch_artifact if torch_artifact is not None else artifact
    model = _model_ref(request, info, source.sha256)
    if dataset is None:
        notes.append("efficiency only: no evaluation data, timed on random inputs")
    if request.reported_accuracy is not None:
        notes.append("the accuracy given is stored as reported, not measured")
    return ProfilePlan(
        request,
        info,
        model,
        artifact,
        dataset,
        variants,
        sweep,
        tuple(notes),
        torch_artifact=torch_artifact,
        calib_items=calib,
    )


def _calibration(
    request: ProfileRequest, data: EvalSet | None, made: list[str], notes: list[str]
) -> tuple[int, str | None]:
    """Items that calibrate int8-static, and the range every run of the profile scores.

    Only a profile that makes int8-static splits its data: the first items
    calibrate, the rest are scored, by every run (fp32 included) so that
    the variant and its parent stay comparable item for item. Raises
    ``InputError`` when too few items would be left to score.
    """
    from measure.variants import calibration_split

    if data is None or "int8-static" not in made:
        return 0, None
    calib, scored = calibration_split(data.n_items, request.calib_items)
    if calib < request.calib_items:
        notes.append(
            f"int8-static calibrated on the first {calib} items, not {request.calib_items}: "
            "at most half of the data calibrates, so that as many items are scored"
        )
    notes.append(
        f"int8-static is calibrated on items 0:{calib} of the evaluation data; every run of "
        f"this profile is scored on the other {data.n_items - calib} (items {scored}), so "
        "no run is scored on a calibration item"
    )
    return calib, scored


def _inspect_model(
    request: ProfileRequest, tmp: Path, notes: list[str]
) -> tuple[ModelInfo, ModelInfo | None]:
    """The model to run (an ONNX file, or a PyTorch program's ONNX export) and the program.

    Inspected in child processes and checked against the request. The
    second item is the PyTorch program's own information (None for an ONNX
    model); it is also the first when no ONNX export was asked for. What the
    user should know is appended to ``notes``.
    """
    model_path = Path(request.model_path)
    if not is_torch_target(request.model_path):
        if not model_path.is_file():
            raise InputError(f"model file not found: {model_path}")
        info = inspect_in_worker(model_path, timeout_s=_INSPECT_TIMEOUT_S)
        _check_model(info, request)
        return info, None
    if request.source != "cli" and not torch_uploads_allowed():
        raise InputError(
            f"refused {model_path.name}: PyTorch programs run code when loaded; they are "
            f"profiled from the command line, or uploaded only where the server sets "
            f"{ALLOW_TORCH_UPLOADS_ENV}=1"
        )
    torch_info, onnx_path, torch_notes = inspect_torch_in_worker(
        request.model_path,
        tmp / "torch",
        onnx_export="ort" in request.runtimes,
        timeout_s=request.timeout_s,
    )
    notes.extend(torch_notes)
    if onnx_path is None:
        return torch_info, torch_info
    info = inspect_in_worker(onnx_path, timeout_s=_INSPECT_TIMEOUT_S)
    _check_model(info, dataclasses.replace(request, runtimes=("ort",)))
    notes.append("ort runs measure the model's ONNX export (torch.onnx, dynamo)")
    return info, torch_info


def with_reasons(sweep: tuple[SweepPoint, ...]) -> tuple[SweepPoint, ...]:
    """The sweep with each point a device cannot run marked with why (``SweepPoint.unavailable``).

    onnxruntime's providers are asked (``devices.ort_providers``) only when
    an ort run is planned on a GPU.
    """
    on_gpu = any(p.runtime == "ort" and p.device != "cpu" for p in sweep)
    providers = _devices.ort_providers() if on_gpu else ()
    return tuple(
        dataclasses.replace(p, unavailable=reason)
        if (reason := _devices.unavailable_reason(p.runtime, p.precision, p.device, providers))
        else p
        for p in sweep
    )


def remaining_sweep(
    sweep: tuple[SweepPoint, ...], request: ProfileRequest, notes: list[str]
) -> tuple[SweepPoint, ...]:
    """The sweep without the configurations ``request.skip_points`` names (already stored).

    Says in ``notes`` how many were skipped. Raises ``InputError`` when none is left.
    """
    if not request.skip_points:
        return sweep
    skip = set(request.skip_points)
    rest = tuple(p for p in sweep if p.label not in skip)
    if not rest:
        raise InputError(
            f"nothing left to measure: every configuration of this sweep is already stored "
            f"(by job {request.resumes or 'before'}); submit the model anew to measure it again"
        )
    if len(rest) < len(sweep):
        notes.append(
            f"{len(sweep) - len(rest)} configuration(s) already stored by job "
            f"{request.resumes or 'before'} are skipped; this job measures the other {len(rest)}"
        )
    return rest


def _torch_sweep(sweep: tuple[SweepPoint, ...], notes: list[str]) -> tuple[SweepPoint, ...]:
    """The sweep of a PyTorch program: ``torch`` runs at fp32, fp16 and bf16, saying what was not.

    A torch.export program is cast to fp16/bf16 when it is loaded; its int8
    variants are made from its ONNX export (the ort runs). Raises
    ``InputError`` when nothing is left to run.
    """
    floats = ("fp32", "fp16", "bf16")
    skipped = sorted(
        {p.precision for p in sweep if p.runtime == "torch" and p.precision not in floats}
    )
    if skipped:
        notes.append(
            f"torch runs a .pt2 program at fp32, fp16 and bf16: skipped torch × "
            f"{', '.join(skipped)} (the ort runs measure those variants)"
        )
    kept = tuple(p for p in sweep if p.runtime != "torch" or p.precision in floats)
    if not kept:
        raise InputError(
            "nothing to run: the torch runtime measures a PyTorch program at fp32, fp16 or "
            "bf16; add one of those, or --runtime ort for int8 variants of its ONNX export"
        )
    return kept


def _store_artifacts(
    store: Store, info: ModelInfo, torch_info: ModelInfo | None
) -> tuple[ArtifactRef, ArtifactRef | None]:
    """Put the model files into the store: the file runs load, and the PyTorch program if any."""
    torch_artifact = None
    if torch_info is not None:
        tsha, tstored = store.put_file(Path(torch_info.path), "artifacts", ".pt2")
        torch_artifact = ArtifactRef(
            sha256=tsha, format="pt2", path=str(tstored), size_bytes=torch_info.size_bytes
        )
    if info.format != "onnx":
        assert torch_artifact is not None  # info is torch_info: a PyTorch program
        return torch_artifact, torch_artifact
    sha, stored = _store_model(store, info)
    artifact = ArtifactRef(sha256=sha, format="onnx", path=str(stored), size_bytes=info.size_bytes)
    return artifact, torch_artifact


def _model_ref(request: ProfileRequest, info: ModelInfo, source_sha: str) -> ModelRef:
    """The profiled model, identified by the sha256 of the file the user gave."""
    model_path = Path(request.model_path)
    name = request.name or (
        model_path.stem if model_path.is_file() else request.model_path.replace(":", ".")
    )
    producer = info.producer or "unknown producer"
    return ModelRef(
        model_id=f"{request.source}-{source_sha[:16]}",
        name=name,
        family="user",
        task=request.task,
        params=info.params,
        source=request.source,
        description=f"{request.model_path}; {producer}"
        + (f"; opset {info.opset}" if info.opset is not None else ""),
    )
