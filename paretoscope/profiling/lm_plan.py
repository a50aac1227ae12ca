"""Plan a causal-LM profile (issue 15): check the model and text, store them, list the runs.

A causal LM is a Hugging Face folder (``config.json``, ``*.safetensors``,
tokenizer files) or a trusted ``module:function`` returning ``(model,
tokenizer)``. Every refusal of ``measure.llm.load.check_folder`` (custom
code, pickled weights, no safetensors) is made here, in the parent, before
anything is stored; neither torch nor transformers is imported. Runs are
torch runs; each point sweeps precision × batch × ``prompt_len`` ×
``gen_len`` (``dims``). A precision other than fp32 is its own model (its
parent's lineage, the transformation named) made when its run loads the
folder. The plan runs through ``run_profile`` like any other.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Final

from paretoscope.core.errors import InputError
from paretoscope.core.modelinfo import ModelInfo
from paretoscope.core.records import ArtifactRef, DatasetRef, ModelRef
from paretoscope.profiling import devices as _devices
from paretoscope.profiling.hfzip import is_causal_lm_zip, is_zip_source, unpacked_hf_zip
from paretoscope.profiling.plan import ProfilePlan, remaining_sweep
from paretoscope.profiling.request import (
    ProfileRequest,
    SweepPoint,
    sweep_points,
    validate_options,
)

if TYPE_CHECKING:
    from store import Store

__all__ = [
    "LM_DIMS",
    "LM_PRECISIONS",
    "LM_TASK",
    "LM_TRANSFORMATIONS",
    "check_lm_request",
    "is_causal_lm_source",
    "plan_lm_profile",
    "plan_lm_request",
]

LM_TASK: Final = "causal-lm"
LM_PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "bf16", "int8")
#: The run dimensions of a causal-LM run (``dim_prompt_len``, ``dim_gen_len``, ``dim_context``).
LM_DIMS: tuple[str, ...] = ("prompt_len", "gen_len", "context")
LM_TRANSFORMATIONS: dict[str, str] = {
    "fp16": "fp16 cast of the weights (torch)",
    "bf16": "bf16 cast of the weights (torch)",
    "int8": "int8 dynamic quantization of the linear layers (torch.ao, CPU)",
}
DEFAULT_PROMPT_LENS: tuple[int, ...] = (32, 128)
DEFAULT_GEN_LENS: tuple[int, ...] = (32,)
DEFAULT_CONTEXT = 128


def is_causal_lm_source(path: str) -> bool:
    """Whether ``path`` is a folder, or a ``.zip`` of one, whose config.json names a causal LM."""
    from measure.llm.load import is_causal_lm_folder

    return is_causal_lm_folder(path) or is_causal_lm_zip(path)


def _folder_sha256(folder: Path) -> tuple[str, int, list[Path]]:
    """sha256 over the folder's files (relative names and contents), total bytes, the files."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    digest = hashlib.sha256()
    size = 0
    for p in files:
        digest.update(p.relative_to(folder).as_posix().encode("utf-8") + b"\0")
        with p.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
        digest.update(b"\0")
    return digest.hexdigest(), size, files


def _store_folder(store: Store, folder: Path, sha: str, files: list[Path]) -> Path:
    """Copy the folder into the store once, as ``artifacts/<sha>.hf/``."""
    target = store.files_dir / "artifacts" / f"{sha}.hf"
    if target.exists():
        return target
    tmp = store.files_dir / "artifacts" / f".tmp-{os.getpid()}-{sha}.hf"
    shutil.rmtree(tmp, ignore_errors=True)
    for p in files:
        dst = tmp / p.relative_to(folder)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dst)
    os.replace(tmp, target)
    return target


def _store_text(store: Store, path: str | None) -> DatasetRef | None:
    """The evaluation text, read and checked (``measure.llm.text``), stored by its hash."""
    from measure.llm.text import read_text_file

    if not path:
        return None
    text = read_text_file(path)
    sha, stored = store.put_file(Path(path), "datasets", Path(path).suffix.lower())
    return DatasetRef(
        dataset_id=text.dataset_id,
        name=text.name,
        split="text",
        path=str(stored),
        n_samples=len(text.text),
        sha256=sha,
        source=f"text ({text.source}, n_samples counts characters)",
    )


def _check_options(request: ProfileRequest, dims: dict[str, tuple[int, ...]]) -> None:
    problems = [
        f"precision {p!r} is not one of {', '.join(LM_PRECISIONS)}"
        for p in request.precisions
        if p not in LM_PRECISIONS
    ]
    if any(g < 2 for g in dims["gen_len"]):
        problems.append("--gen-len values must be >= 2 (a decode step is timed)")
    if dims["context"][0] < 2:
        problems.append("--context must be >= 2 tokens")
    if request.reported_accuracy is not None:
        problems.append("a reported accuracy does not apply to a causal LM")
    if request.builtin_data:
        problems.append("give the evaluation text with --data FILE.txt or .jsonl")
    if request.scenarios is not None:
        problems.append("--scenario offline/server applies to models other than causal LMs")
    if request.data_path and Path(request.data_path).suffix.lower() not in (".txt", ".jsonl"):
        problems.append("the evaluation text of a causal LM is a .txt or .jsonl file")
    if problems:
        raise InputError("cannot profile: " + "; ".join(problems))
    # The rest (batches, devices, repeats, limits) as for any profile.
    validate_options(
        dataclasses.replace(
            request, task="classification", precisions=("fp32",), runtimes=("torch",),
            data_path=None, builtin_data=None, dims=dims,
        )
    )  # fmt: skip


def _with_reason(point: SweepPoint) -> SweepPoint:
    """``point`` marked with why its device cannot run its precision (a failed run, not a gap)."""
    reason = ""
    if point.precision == "fp16" and point.device == "cpu":
        reason = "fp16 causal-LM runs need a GPU; on a CPU use bf16"
    elif point.precision == "int8" and point.device != "cpu":
        reason = "int8 dynamic quantization (torch.ao) runs on a CPU only"
    return dataclasses.replace(point, unavailable=reason) if reason else point


def positions_of(folder: Path) -> int | None:
    """The longest sequence the model takes, from its config.json (None if it does not say)."""
    try:
        config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    for key in ("max_position_embeddings", "n_positions", "n_ctx"):
        value = config.get(key) if isinstance(config, dict) else None
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def check_lengths(dims: dict[str, tuple[int, ...]], positions: int | None) -> None:
    """Refuse prompt + generated lengths or a perplexity context the model cannot take.

    A GPT-2 indexes its position table with every token: past its length a CPU
    run raises and a GPU run dies on a device-side assert, so this is bad input.
    """
    if positions is None:
        return
    longest = max(dims["prompt_len"]) + max(dims["gen_len"])
    problems = []
    if longest > positions:
        fit = positions - max(dims["gen_len"])
        problems.append(
            f"prompt {max(dims['prompt_len'])} + generated {max(dims['gen_len'])} tokens = "
            f"{longest} is more than the model's {positions} positions (config.json); "
            + (f"use --prompt-len {fit} or less" if fit >= 1 else "use a shorter --gen-len")
        )
    if dims["context"][0] > positions:
        problems.append(
            f"the perplexity context of {dims['context'][0]} tokens is more than the model's "
            f"{positions} positions; use --context {positions} or less"
        )
    if problems:
        raise InputError("cannot profile: " + "; ".join(problems))


def _model(request: ProfileRequest, sha: str, size: int) -> ModelRef:
    path = Path(request.model_path.rstrip("/"))
    base = path.stem if path.suffix.lower() == ".zip" else path.name
    name = request.name or base.replace(":", ".")
    return ModelRef(
        model_id=f"{request.source}-{sha[:16]}",
        name=name,
        family="user",
        task=LM_TASK,
        source=request.source,
        description=f"{request.model_path}; causal LM ({size / 1e6:.1f} MB)",
    )


def _variant(parent: ModelRef, precision: str) -> ModelRef:
    return ModelRef(
        model_id=f"{parent.model_id}-{precision}",
        name=f"{parent.name} {precision}",
        family=parent.family,
        task=LM_TASK,
        parent_model_id=parent.model_id,
        transformation=LM_TRANSFORMATIONS[precision],
        source=parent.source,
        description=f"{precision} variant of {parent.name}",
    )


def check_lm_request(request: ProfileRequest) -> None:
    """Every check of a causal-LM request's options (``request.dims``), before any file is read.

    Raises ``InputError`` for a precision that is not a causal-LM one, a
    generated length below 2, a context below 2, a reported accuracy, a
    built-in data set, a text that is not ``.txt``/``.jsonl``, and whatever
    ``validate_options`` refuses in the batches, devices and limits.
    """
    _check_options(request, _dims(request))


def _dims(request: ProfileRequest) -> dict[str, tuple[int, ...]]:
    d = request.dims
    return {
        "prompt_len": tuple(d.get("prompt_len") or DEFAULT_PROMPT_LENS),
        "gen_len": tuple(d.get("gen_len") or DEFAULT_GEN_LENS),
        "context": tuple(d.get("context") or (DEFAULT_CONTEXT,))[:1],
    }


def plan_lm_request(
    store: Store, request: ProfileRequest, *, cluster: bool | None = None
) -> ProfilePlan:
    """``plan_lm_profile`` with the lengths and context read from ``request.dims`` (a job's
    stored request: ``prompt_len``, ``gen_len``, ``context``; the defaults where absent)."""
    dims = _dims(request)
    return plan_lm_profile(
        store, request, prompt_lens=dims["prompt_len"], gen_lens=dims["gen_len"],
        context=dims["context"][0], cluster=cluster,
    )  # fmt: skip


def _zip_name(request: ProfileRequest) -> str:
    """The zip as its user knows it: an upload's quarantine copy is ``lm.zip``."""
    if request.source == "upload" and request.name:
        return f"{request.name}.zip"
    return Path(request.model_path).name


def plan_lm_profile(
    store: Store,
    request: ProfileRequest,
    *,
    prompt_lens: tuple[int, ...] = DEFAULT_PROMPT_LENS,
    gen_lens: tuple[int, ...] = DEFAULT_GEN_LENS,
    context: int = DEFAULT_CONTEXT,
    cluster: bool | None = None,
) -> ProfilePlan:
    """Check everything, then store the folder and text; the plan of a causal-LM profile.

    ``request.model_path`` is a folder, a ``.zip`` of one (checked and
    unpacked by ``hfzip.unpacked_hf_zip`` into a temporary folder, whose
    files are then stored as a folder's are) or ``module:function``. Raises
    ``InputError`` for every refusal; nothing is stored before the last check.
    """
    dims = {"prompt_len": tuple(prompt_lens), "gen_len": tuple(gen_lens), "context": (context,)}
    _check_options(request, dims)
    if cluster is None:
        cluster = _devices.cluster_configured()
    devices = _devices.resolve_devices(request.devices, _devices.offered_devices(), cluster=cluster)
    request = dataclasses.replace(
        request, devices=devices, runtimes=("torch",), task=LM_TASK, repeats=1, dims=dims
    )
    if is_zip_source(request.model_path):
        # Unpacked beside the store's files (the same disk the folder is copied to), then removed.
        store.files_dir.mkdir(parents=True, exist_ok=True)
        name = _zip_name(request)
        with unpacked_hf_zip(request.model_path, name=name, parent=store.files_dir) as folder:
            return _plan(store, request, folder)
    return _plan(store, request, Path(request.model_path))


def _plan(store: Store, request: ProfileRequest, folder: Path) -> ProfilePlan:
    """``plan_lm_profile`` once the model is a folder (or ``module:function``) on this disk."""
    from measure.llm.load import check_folder

    source = request.model_path
    dims, devices = request.dims, request.devices
    builder = None
    if folder.is_dir():
        check_folder(folder)
        check_lengths(dims, positions_of(folder))
        sha, size, files = _folder_sha256(folder)
    elif ":" in source and not folder.exists():
        builder = source
        sha, size, files = hashlib.sha256(source.encode("utf-8")).hexdigest(), 0, []
    else:
        raise InputError(
            f"{source} is neither a Hugging Face folder (or a .zip of one) nor "
            "module:function returning (model, tokenizer)"
        )
    notes: list[str] = ["causal LM: torch runs, repeats 1 (the harness's CI is per process)"]
    if request.data_path:
        from measure.llm.text import read_text_file

        read_text_file(request.data_path)  # refused here, before anything is stored
    else:
        notes.append("efficiency only: no evaluation text, prompts are random token ids")
    sweep = sweep_points(
        ("torch",), request.precisions, request.batches, request.threads, dims, devices
    )
    sweep = remaining_sweep(tuple(_with_reason(p) for p in sweep), request, notes)

    # Everything is valid: from here on, write.
    path = str(_store_folder(store, folder, sha, files)) if builder is None else source
    artifact = ArtifactRef(sha, "hf-causal-lm", path, size, builder=builder)
    dataset = _store_text(store, request.data_path)
    if dataset is not None and request.data_name:  # an upload's quarantine copy is text.txt
        dataset = dataclasses.replace(dataset, name=request.data_name)
    model = _model(request, sha, size)
    info = ModelInfo(path, sha, size, (), (), {}, 0, "transformers", None, format="hf-causal-lm")
    models = {p: _variant(model, p) for p in request.precisions if p != "fp32"}
    return ProfilePlan(
        request, info, model, artifact, dataset, (), sweep, tuple(notes), models=models
    )
