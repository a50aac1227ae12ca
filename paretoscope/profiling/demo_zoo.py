"""The demo zoo made measurable: the digits split, and each model trained, exported and quantised.

Every file goes into the store's folder (content-addressed). Importing this
module imports neither torch nor onnxruntime: ``measure.zoo`` is imported
inside the functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from paretoscope.core.errors import MeasurementError
from paretoscope.core.records import ArtifactRef, DatasetRef, ModelRef

if TYPE_CHECKING:
    from measure.datasets import DigitsSplit
    from measure.zoo import TrainConfig, ZooModel
    from store import Store

__all__ = ["DemoVariant", "VariantKey", "prepare_zoo"]

VariantKey = tuple[str, str, str]  # (model_id, runtime, precision)


@dataclass(frozen=True)
class DemoVariant:
    """One measurable variant: a model, the file a runtime loads, and its precision."""

    model: ModelRef
    artifact: ArtifactRef
    runtime: Literal["ort", "torch"]
    precision: str


def prepare_zoo(
    store: Store,
    entries: Sequence[ZooModel],
    config: TrainConfig,
    workdir: Path,
    on_step: Callable[[str], None],
) -> tuple[DatasetRef, dict[VariantKey, DemoVariant]]:
    """Split the data, train and export each model, and put every file into the store.

    ``on_step`` is called with a label after each step: the split, then per
    model its training and its export. Raises ``MeasurementError`` when a
    model cannot be trained or exported.
    """
    from measure.datasets import DATASET_NAME, digits_split, eval_dataset_id, write_eval_npz

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
    on_step(f"digits split: {len(split.y_train)} train, {len(split.y_test)} test")
    variants: dict[VariantKey, DemoVariant] = {}
    for entry in entries:
        variants.update(
            _prepare_model(store, entry, split, config, dataset.dataset_id, workdir, on_step)
        )
    return dataset, variants


def _prepare_model(
    store: Store,
    entry: ZooModel,
    split: DigitsSplit,
    config: TrainConfig,
    dataset_id: str,
    workdir: Path,
    on_step: Callable[[str], None],
) -> dict[VariantKey, DemoVariant]:
    """Train one model, export it and quantise it; its four variants."""
    from measure import zoo

    try:
        trained = zoo.train_model(entry, split, config)
    except Exception as err:
        raise MeasurementError(f"could not train demo model {entry.name}: {err}") from err
    on_step(f"trained {entry.name} ({trained.params} params, {trained.train_s:.1f} s)")
    try:
        state = zoo.save_state(trained.module, workdir / f"{entry.name}.pt")
        fp32 = zoo.export_onnx(trained.module, workdir / f"{entry.name}.onnx")
        int8 = zoo.quantize_onnx_int8(fp32, workdir / f"{entry.name}.int8.onnx")
    except Exception as err:
        raise MeasurementError(f"could not export demo model {entry.name}: {err}") from err
    parent, ort_int8, torch_int8 = _model_refs(entry, config, dataset_id, trained.params)
    state_art = _store_artifact(store, entry, state, "torch-state", "fp32")
    on_step(f"exported {entry.name} (ONNX fp32, ONNX int8, state dict)")
    found = [
        DemoVariant(parent, _store_artifact(store, entry, fp32, "onnx", "fp32"), "ort", "fp32"),
        DemoVariant(ort_int8, _store_artifact(store, entry, int8, "onnx", "int8"), "ort", "int8"),
        DemoVariant(parent, state_art, "torch", "fp32"),
        # The int8 torch run loads the fp32 state dict and quantises it at load time.
        DemoVariant(torch_int8, state_art, "torch", "int8"),
    ]
    return {(v.model.model_id, v.runtime, v.precision): v for v in found}


def _store_artifact(
    store: Store,
    entry: ZooModel,
    path: Path,
    fmt: Literal["onnx", "torch-state"],
    precision: str,
) -> ArtifactRef:
    """Put one of ``entry``'s files into the store; a state dict names its builder."""
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


def _model_refs(
    entry: ZooModel, config: TrainConfig, dataset_id: str, params: int
) -> tuple[ModelRef, ModelRef, ModelRef]:
    """The trained model and its two int8 variants (onnxruntime's and torch's)."""
    from measure import zoo

    parent_id = zoo.model_id(entry, config, dataset_id)
    recipe = (
        f"{entry.description}. Trained here on the digits training split: Adam "
        f"(lr {config.lr}), {config.epochs} epochs, batch {config.batch_size}, seed {config.seed}."
    )
    parent = ModelRef(
        model_id=parent_id,
        name=entry.name,
        family=entry.family,
        params=params,
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
            params=params,
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
    return parent, ort_int8, torch_int8
