"""A user's evaluation data, read safely, checked against the model and written normalised.

Sources: ``.npz`` (one array per model input, by input name, plus
``labels``; read with ``allow_pickle=False``), ``.csv``/``.parquet`` (feature
columns and a label column, for single-input tabular models), or a built-in
scikit-learn set (``paretoscope.profiling.BUILTIN_DATASETS``; nothing is
downloaded). ``check_eval_set`` compares the arrays with a ``ModelInfo``:
input names, dtypes, fixed dimensions, consistent symbolic dimensions, label
type and range; every mismatch has its own message.

The normalised file (``write_eval_npz``) holds ``labels``, ``input_names``
(a unicode array) and the inputs as ``x`` (the first), ``x1``, ``x2``, … in
the model's input order, so a single-input set is also in the layout
``measure.evaluate.load_dataset`` reads. It is written with fixed
timestamps, so the same data gives the same bytes and is stored once.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from paretoscope.core.errors import InputError
from paretoscope.core.modelinfo import BUILTIN_DATASETS, ModelInfo, TensorInfo
from paretoscope.core.safety import refuse_untrusted

__all__ = [
    "LABEL_COLUMN_GUESSES",
    "EvalSet",
    "builtin_eval_set",
    "check_eval_set",
    "check_npz_size",
    "input_key",
    "load_eval_set",
    "read_eval_file",
    "write_eval_npz",
]

LABEL_COLUMN_GUESSES: tuple[str, ...] = ("label", "labels", "target", "y", "class")


@dataclass(frozen=True)
class EvalSet:
    """Arrays by model input name (items along axis 0) and one label per item."""

    name: str
    inputs: dict[str, np.ndarray]
    labels: np.ndarray
    source: str  # "npz" | "csv" | "parquet" | "scikit-learn"

    @property
    def n_items(self) -> int:
        return len(self.labels)


def input_key(index: int) -> str:
    """Key of the ``index``-th model input in the normalised ``.npz``: ``x``, ``x1``, ``x2``, …"""
    return "x" if index == 0 else f"x{index}"


# --- reading ----------------------------------------------------------------------------


#: The most an evaluation ``.npz`` may inflate to, and by what factor (a zip bomb inflates
#: a small upload to GBs in memory; real numeric arrays rarely compress 200-fold).
MAX_NPZ_INFLATED_MB = 2048.0
MAX_NPZ_RATIO = 200.0


def check_npz_size(path: Path) -> None:
    """Refuse an ``.npz`` whose members would inflate past the limits, before reading any."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
    except (OSError, zipfile.BadZipFile) as err:
        raise InputError(f"cannot read data set {path.name}: {err}") from err
    inflated = sum(m.file_size for m in members)
    packed = max(1, sum(m.compress_size for m in members))
    mb = inflated / 2**20
    if mb > MAX_NPZ_INFLATED_MB or (mb > 64 and inflated / packed > MAX_NPZ_RATIO):
        raise InputError(
            f"refused {path.name}: its arrays would inflate to {mb:,.0f} MB from "
            f"{packed / 2**20:,.1f} MB on disk (limits: {MAX_NPZ_INFLATED_MB:g} MB, and "
            f"{MAX_NPZ_RATIO:g}-fold beyond 64 MB); use a smaller sample of your data"
        )


def _read_npz(path: Path, info: ModelInfo) -> tuple[dict[str, np.ndarray], np.ndarray]:
    check_npz_size(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            files = list(data.files)
            if "labels" not in files:
                raise InputError(
                    f"data set {path.name} has no `labels` array; it has "
                    f"{', '.join(files) or 'no arrays'}. Save one array per model input "
                    f"({', '.join(t.name for t in info.inputs)}) plus `labels`"
                )
            names = [t.name for t in info.inputs]
            inputs: dict[str, np.ndarray] = {}
            missing = []
            for i, name in enumerate(names):
                if name in files:
                    inputs[name] = data[name]
                elif len(names) == 1 and "x" in files:
                    inputs[name] = data["x"]
                elif "input_names" in files and input_key(i) in files:
                    inputs[name] = data[input_key(i)]
                else:
                    missing.append(name)
            if missing:
                raise InputError(
                    f"data set {path.name} lacks an array for model input(s) "
                    f"{', '.join(missing)}; it has {', '.join(files)}. Name each array after "
                    "the model input it feeds"
                )
            labels = data["labels"]
    except InputError:
        raise
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise InputError(
                f"refused {path.name}: it holds pickled Python objects (object arrays), which "
                "Paretoscope never loads; save plain numeric arrays"
            ) from err
        raise InputError(f"cannot read data set {path.name}: {err}") from err
    except (OSError, zipfile.BadZipFile, EOFError) as err:
        raise InputError(f"cannot read data set {path.name}: {err}") from err
    return inputs, labels


def _read_table(
    path: Path, kind: str, info: ModelInfo, label_column: str | None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    import pandas as pd

    try:
        frame = pd.read_parquet(path) if kind == "parquet" else pd.read_csv(path)
    except Exception as err:  # pandas/pyarrow raise many types on bad files
        raise InputError(f"cannot read {path.name} as {kind}: {err}") from err
    if len(info.inputs) != 1:
        raise InputError(
            f"a {kind} table feeds a model with one input; this model has {len(info.inputs)} "
            f"({', '.join(t.name for t in info.inputs)}): save the data as .npz, one array "
            "per input plus `labels`"
        )
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    if label_column is None:
        found = [c for c in LABEL_COLUMN_GUESSES if c in columns]
        if not found:
            raise InputError(
                f"{path.name} has no column named {', '.join(LABEL_COLUMN_GUESSES)}; name the "
                "label column (--label-column NAME)"
            )
        label_column = found[0]
    if label_column not in columns:
        raise InputError(
            f"{path.name} has no column {label_column!r}; its columns are {', '.join(columns)}"
        )
    features = frame.drop(columns=[label_column])
    bad = [c for c in features.columns if not pd.api.types.is_numeric_dtype(features[c])]
    if bad:
        raise InputError(
            f"{path.name}: feature column(s) {', '.join(bad[:5])} are not numeric; every column "
            f"except the label {label_column!r} is a model feature"
        )
    if features.isna().to_numpy().any():
        rows = int(features.isna().any(axis=1).sum())
        raise InputError(f"{path.name}: {rows} row(s) have missing feature values")
    x = features.to_numpy(dtype=np.float64)
    labels = frame[label_column].to_numpy()
    if labels.dtype == object:
        raise InputError(
            f"{path.name}: label column {label_column!r} is not numeric; encode classes as "
            "integers 0..C-1"
        )
    return {info.inputs[0].name: _fit_features(x, info.inputs[0], path.name)}, labels


def _fit_features(x: np.ndarray, inp: TensorInfo, source: str) -> np.ndarray:
    """Reshape (n, F) features to the input's trailing fixed dims when their product is F."""
    trailing = inp.shape[1:]
    if len(trailing) <= 1:
        return x
    if all(isinstance(d, int) for d in trailing):
        size = int(np.prod([int(d) for d in trailing if isinstance(d, int)]))
        if size == x.shape[1]:
            return x.reshape(len(x), *[int(d) for d in trailing if isinstance(d, int)])
    raise InputError(
        f"{source}: {x.shape[1]} feature columns cannot feed input {inp.name!r} of shape "
        f"{_shape_text(inp.shape)}"
    )


def read_eval_file(
    path: str | Path, info: ModelInfo, *, label_column: str | None = None
) -> EvalSet:
    """Read ``.npz``/``.csv``/``.parquet`` evaluation data for the model ``info`` describes.

    The file is sniffed first (a pickle under any name is refused unread).
    Raises ``InputError`` for unreadable files and missing arrays or columns;
    shapes and dtypes are checked by ``check_eval_set``.
    """
    path = Path(path)
    found = refuse_untrusted(path, {"npz", "csv", "parquet", "onnx-candidate"})
    kind = found.kind
    if kind == "onnx-candidate":
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".tsv"):
            raise InputError(
                f"cannot read {path.name} as evaluation data: give a .npz, .csv or .parquet file"
            )
        kind = "csv"
    if kind == "npz":
        inputs, labels = _read_npz(path, info)
    else:
        inputs, labels = _read_table(path, kind, info, label_column)
    return EvalSet(path.stem, inputs, np.asarray(labels), kind)


def builtin_eval_set(name: str, info: ModelInfo) -> EvalSet:
    """A scikit-learn set shaped for the model's single input. Raises ``InputError`` if unfit."""
    from sklearn import datasets as skd

    spec = BUILTIN_DATASETS.get(name)
    if spec is None:
        raise InputError(
            f"unknown built-in data set {name!r}; choose one of {', '.join(BUILTIN_DATASETS)}"
        )
    if len(info.inputs) != 1:
        raise InputError(
            f"built-in data sets feed models with one input; this model has {len(info.inputs)}"
        )
    loader = {
        "digits": skd.load_digits,
        "breast_cancer": skd.load_breast_cancer,
        "iris": skd.load_iris,
        "wine": skd.load_wine,
        "diabetes": skd.load_diabetes,
    }[name]
    bunch = loader()
    x = np.asarray(bunch.data, dtype=np.float64)
    if name == "digits":
        x = x / 16.0  # grey levels 0..16 to [0, 1]
    elif name != "diabetes":
        # Standardised with the whole set's statistics: the model's training
        # preprocessing is unknown, and z-scores are the common choice.
        x = (x - x.mean(axis=0)) / np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    labels = np.asarray(bunch.target)
    inp = info.inputs[0]
    return EvalSet(name, {inp.name: _fit_features(x, inp, name)}, labels, "scikit-learn")


# --- checking ---------------------------------------------------------------------------


def _shape_text(shape: tuple[int | str | None, ...]) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _check_dtype(arr: np.ndarray, inp: TensorInfo, name: str) -> np.ndarray:
    want = inp.dtype
    kind = arr.dtype.kind
    if want.startswith("<"):
        raise InputError(f"model input {inp.name!r} has type {want}, which is not supported")
    target = np.dtype(want)
    if kind not in "biuf":
        raise InputError(
            f"data for input {inp.name!r} has dtype {arr.dtype}; the model wants {target}"
        )
    if target.kind in "iu":
        if kind == "f" and (not np.all(np.isfinite(arr)) or not np.all(arr % 1 == 0)):
            raise InputError(
                f"data for input {inp.name!r} is {arr.dtype} with fractional values; the "
                f"model wants integers ({target}, e.g. token ids)"
            )
        return arr.astype(target)
    if target.kind == "f":
        out = arr.astype(target)
        if not np.all(np.isfinite(out)):
            bad = int((~np.isfinite(out)).reshape(len(out), -1).any(axis=1).sum())
            raise InputError(
                f"data for input {inp.name!r} has NaN or infinite values in {bad} item(s)"
            )
        return out
    if target.kind == "b":
        return arr.astype(bool)
    raise InputError(f"model input {inp.name!r} has dtype {target}, which is not supported")


def check_eval_set(data: EvalSet, info: ModelInfo, task: str) -> tuple[EvalSet, dict[str, int]]:
    """Check ``data`` against the model; return it with dtypes cast, and the dims it fixes.

    The returned dict gives the value each symbolic dimension other than
    the batch takes in the data (e.g. ``{"seq": 16}``). Raises
    ``InputError`` naming the input, the axis and both shapes for a wrong
    rank, fixed dimension or inconsistent symbolic dimension; for dtypes
    that cannot be cast; for labels that are not integers in 0..C-1
    (classification, C from the output shape) or not finite numbers
    (regression); and for an empty set.
    """
    n = len(data.labels)
    if n == 0:
        raise InputError(f"data set {data.name} is empty")
    labels = np.asarray(data.labels)
    dims: dict[str, int] = {}
    cast: dict[str, np.ndarray] = {}
    batch_names = set(info.batch_dims)
    for inp in info.inputs:
        arr = np.asarray(data.inputs[inp.name])
        if arr.ndim == 0 or len(arr) != n:
            raise InputError(
                f"data for input {inp.name!r} has {len(arr) if arr.ndim else 0} item(s) but "
                f"there are {n} labels; give one label per item"
            )
        if inp.shape and arr.ndim != len(inp.shape):
            raise InputError(
                f"data for input {inp.name!r} has shape {arr.shape} (rank {arr.ndim}); the "
                f"model wants {_shape_text(inp.shape)} (rank {len(inp.shape)}), items along axis 0"
            )
        for axis, dim in enumerate(inp.shape[1:], start=1):
            got = int(arr.shape[axis])
            if isinstance(dim, int) and dim > 0 and got != dim:
                raise InputError(
                    f"data for input {inp.name!r} has shape {arr.shape}; the model wants "
                    f"{_shape_text(inp.shape)}: axis {axis} must be {dim}, not {got}"
                )
            if isinstance(dim, str) and dim not in batch_names and dims.setdefault(dim, got) != got:
                raise InputError(
                    f"data for input {inp.name!r} gives dimension {dim!r} the size {got}, "
                    f"but another input gives it {dims[dim]}"
                )
        cast[inp.name] = _check_dtype(arr, inp, data.name)
    labels = _check_labels(labels, info, task, data.name)
    return EvalSet(data.name, cast, labels, data.source), dims


def _check_labels(labels: np.ndarray, info: ModelInfo, task: str, name: str) -> np.ndarray:
    if labels.dtype.kind not in "biuf":
        raise InputError(f"data set {name}: labels have dtype {labels.dtype}; they must be numbers")
    out = info.outputs[0] if info.outputs else None
    if task == "regression":
        labels = labels.astype(np.float64)
        if not np.all(np.isfinite(labels)):
            raise InputError(f"data set {name}: regression labels include NaN or infinite values")
        return labels
    if labels.ndim != 1:
        raise InputError(
            f"data set {name}: classification labels must be one class id per item, got "
            f"shape {labels.shape}"
        )
    if labels.dtype.kind == "f" and (
        not np.all(np.isfinite(labels)) or not np.all(labels % 1 == 0)
    ):
        raise InputError(
            f"data set {name}: classification labels must be integer class ids, got "
            f"fractional values (e.g. {labels[labels % 1 != 0][:1]}); for a float target "
            "choose the regression task"
        )
    labels = labels.astype(np.int64)
    if out is not None and out.shape:
        if len(out.shape) != 2:
            raise InputError(
                f"classification needs a first output of shape (batch, classes); the model's "
                f"output {out.name!r} is {_shape_text(out.shape)}. Choose the regression task "
                "if it predicts values"
            )
        classes = out.shape[1]
        if classes == 1:
            raise InputError(
                f"the model outputs one score per item ({out.name!r} is "
                f"{_shape_text(out.shape)}), so top-1 accuracy over classes is meaningless; "
                "export a binary classifier with two outputs (one per class), or choose the "
                "regression task to measure the error of the score"
            )
        if isinstance(classes, int) and classes > 0:
            bad = (labels < 0) | (labels >= classes)
            if bad.any():
                raise InputError(
                    f"data set {name}: {int(bad.sum())} of {len(labels)} labels are outside "
                    f"0..{classes - 1}, the {classes} classes the model outputs (e.g. "
                    f"{int(labels[bad][0])})"
                )
    elif (labels < 0).any():
        raise InputError(f"data set {name}: labels must be class ids >= 0")
    return labels


def load_eval_set(
    info: ModelInfo,
    task: str,
    *,
    path: str | Path | None = None,
    builtin: str | None = None,
    label_column: str | None = None,
) -> tuple[EvalSet, dict[str, int]]:
    """Read (``path``) or build (``builtin``) the data and check it; see ``check_eval_set``."""
    if path is not None:
        data = read_eval_file(path, info, label_column=label_column)
    elif builtin is not None:
        spec = BUILTIN_DATASETS.get(builtin)
        if spec is not None and spec.task != task:
            raise InputError(
                f"built-in data set {builtin!r} is for {spec.task}, but the task is {task}"
            )
        data = builtin_eval_set(builtin, info)
    else:
        raise InputError("no evaluation data given")
    return check_eval_set(data, info, task)


# --- writing ----------------------------------------------------------------------------


def write_eval_npz(data: EvalSet, path: Path, input_order: tuple[str, ...]) -> Path:
    """Write the normalised ``.npz`` (see the module docstring) with fixed timestamps."""
    arrays: dict[str, np.ndarray] = {
        "labels": np.ascontiguousarray(data.labels),
        "input_names": np.asarray(list(input_order), dtype=np.str_),
    }
    for i, name in enumerate(input_order):
        arrays[input_key(i)] = np.ascontiguousarray(data.inputs[name])
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for key in sorted(arrays):
            zinfo = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(zinfo, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, arrays[key], allow_pickle=False)
    return path
