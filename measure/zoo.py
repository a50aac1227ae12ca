"""The demo model zoo: small MLPs and CNNs trained on digits, exported to ONNX and quantised.

Input contract, the same for every model of the zoo: one tensor ``x``, float32,
shape ``(batch, 1, 8, 8)``, the standardised image written by
``measure.datasets`` (MLPs flatten it as their first layer, so one evaluation
file serves the whole zoo and every run is scored on the same data set).
Output: logits, float32, ``(batch, 10)``.

The builders ``build_mlp`` and ``build_cnn`` take keyword arguments only, so a
runtime can rebuild a module from an ``ArtifactRef`` (``builder`` =
``"measure.zoo:build_mlp"``, ``builder_kwargs``) and load its state dict with
``torch.load(weights_only=True)``.

Training is the same recipe for every model (Adam, fixed epochs, fixed seed,
one thread so the weights are reproducible), with no early stopping or
checkpoint picking: the test split is never looked at while training.

torch, onnx and onnxruntime are imported inside the functions that need them,
so reading the catalogue (names, ids) stays cheap.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from measure.datasets import IMAGE_SHAPE, N_CLASSES, DigitsSplit
from measure.variants import without_value_info

if TYPE_CHECKING:
    import numpy as np
    from torch import nn

__all__ = [
    "INPUT_NAME",
    "ORT_INT8_TRANSFORMATION",
    "OUTPUT_NAME",
    "QUICK_ZOO",
    "TORCH_INT8_TRANSFORMATION",
    "ZOO",
    "ZOO_VERSION",
    "TrainConfig",
    "TrainedModel",
    "ZooModel",
    "build_cnn",
    "build_mlp",
    "build_module",
    "export_onnx",
    "load_state",
    "model_id",
    "param_count",
    "quantize_onnx_int8",
    "quantized_ops",
    "save_state",
    "torch_logits",
    "train_model",
    "variant_id",
    "zoo_entries",
]

# Bumped whenever an architecture, the training recipe or the export changes;
# it is part of every model id, so a new zoo never masquerades as the old one.
ZOO_VERSION = 1

INPUT_NAME = "x"
OUTPUT_NAME = "logits"
ORT_INT8_TRANSFORMATION = "int8 dynamic quantization (onnxruntime)"
TORCH_INT8_TRANSFORMATION = "int8 dynamic quantization (torch.ao)"


@dataclass(frozen=True)
class TrainConfig:
    """The one training recipe of the zoo."""

    epochs: int = 30
    batch_size: int = 32
    lr: float = 1e-3
    seed: int = 0


@dataclass(frozen=True)
class ZooModel:
    """One architecture of the zoo: a name, and the builder that makes it."""

    name: str
    family: Literal["mlp", "cnn"]
    builder: str  # "module:function"
    builder_kwargs: dict[str, int] = field(default_factory=dict)
    description: str = ""


def _mlp(width: int, depth: int) -> ZooModel:
    return ZooModel(
        name=f"mlp-w{width}-d{depth}",
        family="mlp",
        builder="measure.zoo:build_mlp",
        builder_kwargs={"width": width, "depth": depth},
        description=f"MLP, {depth} hidden layer(s) of {width} ReLU units, on 8×8 digits",
    )


def _cnn(channels: int, n_conv: int) -> ZooModel:
    suffix = "" if n_conv == 1 else f"-{n_conv}conv"
    return ZooModel(
        name=f"cnn-c{channels}{suffix}",
        family="cnn",
        builder="measure.zoo:build_cnn",
        builder_kwargs={"channels": channels, "n_conv": n_conv},
        description=(
            f"CNN, {n_conv} 3×3 conv layer(s) of {channels} channels, 2×2 max-pool, linear head,"
            " on 8×8 digits"
        ),
    )


ZOO: tuple[ZooModel, ...] = (
    _mlp(8, 1),
    _mlp(32, 1),
    _mlp(64, 2),
    _mlp(256, 2),
    _mlp(512, 3),
    _cnn(8, 1),
    _cnn(16, 1),
    _cnn(32, 2),
)
# Two MLPs and a CNN, for tests and ``--quick``: still a tiny and a larger model.
QUICK_ZOO: tuple[str, ...] = ("mlp-w8-d1", "mlp-w64-d2", "cnn-c8")


def zoo_entries(*, quick: bool = False) -> tuple[ZooModel, ...]:
    """The zoo, or its quick subset."""
    if not quick:
        return ZOO
    return tuple(m for m in ZOO if m.name in QUICK_ZOO)


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:12]


def model_id(entry: ZooModel, config: TrainConfig, dataset_id: str) -> str:
    """Stable id of a trained fp32 model: its name and a hash of everything that made it.

    Derived from the recipe (zoo version, architecture, training, data split)
    rather than the weight bytes, so it is known before training (the demo can
    tell it has nothing to do without importing torch) and the same model
    measured on two hosts is one model.
    """
    recipe = {
        "zoo_version": ZOO_VERSION,
        "builder": entry.builder,
        "builder_kwargs": entry.builder_kwargs,
        "train": asdict(config),
        "dataset": dataset_id,
    }
    return f"demo-{entry.name}-{_digest(recipe)}"


def variant_id(parent_id: str, transformation: str) -> str:
    """Stable id of a variant made from ``parent_id`` by ``transformation``."""
    return f"{parent_id}-{_digest({'parent': parent_id, 'transformation': transformation})[:8]}"


# -- builders -------------------------------------------------------------


def build_mlp(*, width: int, depth: int, n_classes: int = N_CLASSES) -> nn.Module:
    """An MLP: flatten ``(batch, 1, 8, 8)``, ``depth`` hidden ReLU layers of ``width``, logits."""
    from torch import nn

    if width < 1 or depth < 1:
        raise ValueError(f"width and depth must be positive, got width={width}, depth={depth}")
    layers: list[nn.Module] = [nn.Flatten()]
    in_features = IMAGE_SHAPE[0] * IMAGE_SHAPE[1] * IMAGE_SHAPE[2]
    for _ in range(depth):
        layers += [nn.Linear(in_features, width), nn.ReLU()]
        in_features = width
    layers.append(nn.Linear(in_features, n_classes))
    return _declare_input(nn.Sequential(*layers))


def build_cnn(*, channels: int, n_conv: int = 1, n_classes: int = N_CLASSES) -> nn.Module:
    """A CNN: ``n_conv`` 3×3 conv+ReLU layers of ``channels``, 2×2 max-pool, linear logits."""
    from torch import nn

    if channels < 1 or n_conv < 1:
        raise ValueError(f"channels and n_conv must be positive, got {channels}, {n_conv}")
    layers: list[nn.Module] = []
    in_ch = IMAGE_SHAPE[0]
    for _ in range(n_conv):
        layers += [nn.Conv2d(in_ch, channels, kernel_size=3, padding=1), nn.ReLU()]
        in_ch = channels
    pooled = (IMAGE_SHAPE[1] // 2) * (IMAGE_SHAPE[2] // 2)
    layers += [nn.MaxPool2d(2), nn.Flatten(), nn.Linear(channels * pooled, n_classes)]
    return _declare_input(nn.Sequential(*layers))


def _declare_input(module: nn.Module) -> nn.Module:
    # An nn.Module does not declare its input; the torch runtime reads
    # `input_shape` (per item, without the batch) to make timing batches.
    setattr(module, "input_shape", IMAGE_SHAPE)  # noqa: B010 - nn.Module types __setattr__
    setattr(module, "input_dtype", "float32")  # noqa: B010
    return module


def build_module(builder: str, builder_kwargs: dict[str, Any]) -> nn.Module:
    """Call the ``module:function`` builder with its keyword arguments."""
    import importlib

    module_name, _, func_name = builder.partition(":")
    func = getattr(importlib.import_module(module_name), func_name)
    module: nn.Module = func(**builder_kwargs)
    return module


def param_count(module: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


# -- training -------------------------------------------------------------


@dataclass(frozen=True)
class TrainedModel:
    """A trained fp32 module, with how long training took and its train-set accuracy.

    ``train_accuracy`` is a fraction on the training part, for logs only: the
    accuracy that the dashboard shows is measured by each run on the test part.
    """

    entry: ZooModel
    module: nn.Module
    params: int
    train_s: float
    train_accuracy: float


@contextlib.contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_model(
    entry: ZooModel, split: DigitsSplit, config: TrainConfig | None = None
) -> TrainedModel:
    """Train ``entry`` on the training part of ``split`` with Adam for ``config.epochs``.

    Runs on one CPU thread with a fixed seed, so the same recipe gives the
    same weights on the same software. Returns the module in eval mode.
    """
    import torch
    from torch import nn

    config = config or TrainConfig()
    started = time.perf_counter()
    with _torch_threads(1):
        torch.manual_seed(config.seed)
        module = build_module(entry.builder, entry.builder_kwargs)
        x = torch.from_numpy(split.x_train)
        y = torch.from_numpy(split.y_train)
        opt = torch.optim.Adam(module.parameters(), lr=config.lr)
        loss_fn = nn.CrossEntropyLoss()
        gen = torch.Generator().manual_seed(config.seed)
        module.train()
        for _ in range(config.epochs):
            order = torch.randperm(len(x), generator=gen)
            for start in range(0, len(x), config.batch_size):
                idx = order[start : start + config.batch_size]
                opt.zero_grad(set_to_none=True)
                loss = loss_fn(module(x[idx]), y[idx])
                loss.backward()
                opt.step()
        module.eval()
        with torch.inference_mode():
            train_acc = float((module(x).argmax(dim=1) == y).float().mean())
    return TrainedModel(
        entry=entry,
        module=module,
        params=param_count(module),
        train_s=time.perf_counter() - started,
        train_accuracy=train_acc,
    )


# -- files ----------------------------------------------------------------


def save_state(module: nn.Module, path: Path) -> Path:
    """Save the state dict (tensors only, loadable with ``weights_only=True``)."""
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().clone().contiguous() for k, v in module.state_dict().items()}
    torch.save(state, path)
    return path


def load_state(builder: str, builder_kwargs: dict[str, Any], path: Path) -> nn.Module:
    """Rebuild a module and load its weights with ``weights_only=True``; eval mode."""
    import torch

    module = build_module(builder, builder_kwargs)
    module.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return module.eval()


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """Silence what the ONNX exporter says about itself, not about the model.

    The dynamo exporter logs one line per torchvision op it cannot register
    (torchvision is not installed; the zoo uses none of them) and torch's
    pytree raises a FutureWarning about its own internals. Errors still raise.
    """
    names = ("torch.onnx", "torch.export", "torch._export", "torch.fx", "onnxscript")
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=FutureWarning)
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\..*")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


_TORCHLIB_OPS: list[Any] = []


@contextlib.contextmanager
def _torchlib_ops_once() -> Iterator[None]:
    """Let the exporter read onnxscript's table of ATen functions once a process.

    ``torch.onnx.export`` rebuilds its registry on every call from
    ``onnxscript``'s ``get_torchlib_ops()``, which parses the source of
    about 500 functions each time (about 1–4 s an export, most of exporting
    a small model). The table is the same for every export of a process, so
    its first answer is kept and handed out again; the registry built from
    it, and so the exported graph, are the same. Where torch names the
    function differently (another version), nothing is changed.
    """
    try:
        from torch.onnx._internal.exporter import _registration

        apis = _registration.onnxscript_apis
        original = apis.get_torchlib_ops
    except (ImportError, AttributeError):
        yield
        return

    def cached() -> list[Any]:
        if not _TORCHLIB_OPS:
            _TORCHLIB_OPS.extend(original())
        return list(_TORCHLIB_OPS)

    apis.get_torchlib_ops = cached
    try:
        yield
    finally:
        apis.get_torchlib_ops = original


def export_onnx(module: nn.Module, path: Path, *, example_batch: int = 2) -> Path:
    """Export ``module`` to one self-contained ONNX file with a dynamic batch dimension.

    Uses the ``torch.export`` based exporter (the TorchScript one is
    deprecated) and checks the result with ``onnx.checker``. Input ``x``
    ``(batch, 1, 8, 8)``, output ``logits`` ``(batch, 10)``. Raises
    ``RuntimeError`` when the exporter fails.
    """
    import onnx
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    example = torch.zeros(example_batch, *IMAGE_SHAPE)
    batch = torch.export.Dim("batch", min=1)
    module = module.eval()
    with _quiet_exporter(), _torchlib_ops_once():
        torch.onnx.export(
            module,
            (example,),
            str(path),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            dynamic_shapes=({0: batch},),
            external_data=False,
            optimize=True,
            verbose=False,
        )
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    return path


class _DropPreprocessHint(logging.Filter):
    """Drops onnxruntime's advice to run ``quant_pre_process``.

    It is logged on the root logger for every model; pre-processing (shape
    inference and graph fusions) changes nothing for these fully static,
    already optimised graphs.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


def quantize_onnx_int8(src: Path, dst: Path) -> Path:
    """Dynamic int8 quantisation of an ONNX file: int8 weights, activations quantised at run time.

    onnxruntime quantises every operator it supports here, MatMul/Gemm and
    Conv (``MatMulInteger``/``ConvInteger``); torch's dynamic quantisation, by
    contrast, leaves convolutions in fp32. Raises ``RuntimeError`` when
    nothing in the graph was quantised, since an "int8" file that is really
    fp32 would lie.
    """
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    dst.parent.mkdir(parents=True, exist_ok=True)
    root = logging.getLogger()
    hint_filter = _DropPreprocessHint()
    root.addFilter(hint_filter)
    try:
        with tempfile.TemporaryDirectory(prefix="paretoscope-quant-") as tmp:
            bare = without_value_info(src, Path(tmp) / src.name)
            quantize_dynamic(
                model_input=str(bare), model_output=str(dst), weight_type=QuantType.QInt8
            )
    finally:
        root.removeFilter(hint_filter)
    model = onnx.load(str(dst))
    onnx.checker.check_model(model, full_check=True)
    if not quantized_ops(model):
        raise RuntimeError(f"quantize_dynamic left {src.name} without any integer operator")
    return dst


def quantized_ops(model: Any) -> list[str]:
    """The integer operators of an ONNX ``ModelProto``, in graph order."""
    integer = {"MatMulInteger", "ConvInteger", "DynamicQuantizeLinear"}
    return [n.op_type for n in model.graph.node if n.op_type in integer]


def torch_logits(module: nn.Module, x: np.ndarray) -> np.ndarray:
    """Logits of ``module`` on ``x`` (for checks and tests), float32 ``(n, 10)``."""
    import torch

    with torch.inference_mode():
        return module(torch.from_numpy(x)).numpy()
