"""Accuracy of a loaded model on a labelled ``.npz`` data set, measured apart from timing.

The data file holds ``x`` (items along axis 0) and integer ``labels``; it is
read with ``allow_pickle=False``, so a data file cannot run code. A
normalised evaluation set (``measure.evaldata``) also holds ``input_names``
and one array per model input (``x``, ``x1``, …), which feeds models with
several inputs, and may hold float labels for regression.

Tasks: classification (top-1 and, with more than 5 classes, top-5, as
fractions) and regression (MAE and RMSE, in the labels' units, lower is
better). Non-finite outputs fail the evaluation: never a clean number.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from measure.evaldata import check_npz_size
from measure.runtimes.base import Session
from paretoscope.core.errors import InputError, MeasurementError
from paretoscope.core.intervals import wilson_interval
from paretoscope.core.records import AccuracyResult, DatasetRef

__all__ = [
    "EvalArrays",
    "evaluate",
    "evaluate_classification",
    "evaluate_regression",
    "item_range",
    "load_dataset",
    "load_eval_arrays",
    "predict",
    "topk_correct",
]


def load_dataset(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Arrays ``x`` and ``labels`` (as int64) of the ``.npz`` file at ``path``.

    Raises ``InputError`` when the file is missing, unreadable, holds pickled
    objects, lacks either array, the lengths differ, or labels are not integers.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"data set file not found: {path}")
    check_npz_size(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in ("x", "labels") if k not in data.files]
            if missing:
                raise InputError(
                    f"data set {path} lacks array(s) {', '.join(missing)}; it has "
                    f"{', '.join(data.files) or 'none'}"
                )
            x = data["x"]
            labels = data["labels"]
    except InputError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        # ValueError is also what allow_pickle=False raises for object arrays.
        raise InputError(f"cannot read data set {path}: {err}") from err
    if x.ndim < 1 or labels.ndim != 1 or len(x) != len(labels):
        raise InputError(
            f"data set {path}: x has shape {x.shape} and labels {labels.shape}; "
            "need one label per item of x"
        )
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels % 1 == 0):
            labels = labels.astype(np.int64)
        else:
            raise InputError(f"data set {path}: labels must be integers, got {labels.dtype}")
    return x, labels.astype(np.int64, copy=False)


def topk_correct(logits: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Boolean per item: is the label among the ``k`` highest scores? O(n·c).

    Ties at the k-th score are broken by ``argpartition``'s order.
    """
    if k == 1:
        return np.asarray(np.argmax(logits, axis=1) == labels)
    top = np.argpartition(-logits, k - 1, axis=1)[:, :k]
    return np.asarray((top == labels[:, None]).any(axis=1))


@dataclass(frozen=True)
class EvalArrays:
    """The arrays of an evaluation file: inputs by model input name (None: one unnamed ``x``)."""

    x: np.ndarray
    inputs: dict[str, np.ndarray] | None
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, start: int, stop: int) -> EvalArrays:
        """Items ``start:stop`` only (views, not copies)."""
        inputs = None if self.inputs is None else {k: v[start:stop] for k, v in self.inputs.items()}
        return EvalArrays(self.x[start:stop], inputs, self.labels[start:stop])

    def feed(self, session: Session, start: int, stop: int) -> dict[str, np.ndarray]:
        """Items ``start:stop`` as a feed for ``session``. Raises ``InputError`` on a mismatch."""
        if self.inputs is None:
            return session.feed(self.x[start:stop])
        missing = [i.name for i in session.inputs if i.name not in self.inputs]
        if missing:
            raise InputError(
                f"the data set has no array for model input(s) {', '.join(missing)}; it has "
                f"{', '.join(self.inputs)}"
            )
        return {i.name: self.inputs[i.name][start:stop] for i in session.inputs}


def load_eval_arrays(path: str | Path) -> EvalArrays:
    """Every input array and the labels (as stored: int or float) of the ``.npz`` at ``path``.

    Raises ``InputError`` as ``load_dataset`` does, except that float labels
    are kept (regression).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"data set file not found: {path}")
    check_npz_size(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            if "x" not in data.files or "labels" not in data.files:
                raise InputError(
                    f"data set {path} needs arrays x and labels; it has "
                    f"{', '.join(data.files) or 'none'}"
                )
            labels = data["labels"]
            x = data["x"]
            inputs = None
            if "input_names" in data.files:
                names = [str(n) for n in data["input_names"]]
                inputs = {n: data["x" if i == 0 else f"x{i}"] for i, n in enumerate(names)}
    except InputError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as err:
        raise InputError(f"cannot read data set {path}: {err}") from err
    arrays = [x] if inputs is None else list(inputs.values())
    if labels.ndim < 1 or any(a.ndim < 1 or len(a) != len(labels) for a in arrays):
        raise InputError(f"data set {path}: every input array needs one item per label")
    return EvalArrays(x, inputs, labels)


def item_range(dataset: DatasetRef, n: int) -> tuple[int, int]:
    """The ``(start, stop)`` of the items of ``dataset`` (``n`` in its file) that are scored.

    All of them unless ``dataset.items`` names a range (``"128:450"``).
    Raises ``InputError`` for a malformed range or one outside ``0:n``.
    """
    if dataset.items is None:
        return 0, n
    start_text, sep, stop_text = dataset.items.partition(":")
    try:
        start, stop = int(start_text), int(stop_text)
    except ValueError:
        start = stop = -1
    if not sep or not 0 <= start < stop <= n:
        raise InputError(
            f"data set {dataset.path}: the items to score, {dataset.items!r}, are not a range "
            f"start:stop within its {n} items"
        )
    return start, stop


def _scored(dataset: DatasetRef) -> tuple[EvalArrays, str]:
    """The scored items of ``dataset`` and their range as text (``"0:450"``)."""
    arrays = load_eval_arrays(dataset.path)
    start, stop = item_range(dataset, len(arrays))
    if (start, stop) != (0, len(arrays)):
        arrays = arrays.subset(start, stop)
    return arrays, f"{start}:{stop}"


def predict(session: Session, arrays: EvalArrays, batch_size: int) -> np.ndarray:
    """The model's first output for every item, in order, run in batches of ``batch_size``.

    A model exported with a fixed batch runs in batches of that size
    instead, the last one padded with copies of its final item and the
    padding's outputs discarded. Raises ``MeasurementError`` when the
    output's first axis is not the batch.
    """
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    n = len(arrays)
    fixed = session.inputs[0].batch_fixed if session.inputs else None
    step = fixed or batch_size
    outputs = []
    for start in range(0, n, step):
        feed = arrays.feed(session, start, start + step)
        real = len(next(iter(feed.values())))
        if fixed is not None and real < fixed:
            feed = {
                k: np.concatenate([v, np.repeat(v[-1:], fixed - real, axis=0)], axis=0)
                for k, v in feed.items()
            }
        out = np.asarray(session.run(feed))
        if out.ndim < 1 or out.shape[0] != real + (0 if fixed is None else fixed - real):
            raise MeasurementError(
                f"expected outputs with the batch along axis 0 ({real} items), got {out.shape}"
            )
        outputs.append(out[:real])
    return np.concatenate(outputs, axis=0)


def _check_finite(out: np.ndarray, n: int) -> None:
    bad = int((~np.isfinite(out.reshape(len(out), -1))).any(axis=1).sum())
    if bad:
        raise MeasurementError(
            f"model produced non-finite outputs on {bad} of {n} items (NaN or infinity); "
            "no accuracy is recorded for such a model"
        )


def evaluate_classification(
    session: Session, dataset: DatasetRef, batch_size: int
) -> tuple[AccuracyResult, ...]:
    """Top-1 (and, with more than 5 classes, top-5) accuracy as fractions over the scored items.

    The scored items are the whole set unless ``dataset.items`` names a
    range (``item_range``); per-item correctness covers exactly those. Runs
    them through ``session`` in batches of ``batch_size`` (see ``predict``
    for fixed-batch models). Raises ``InputError`` for an
    unreadable data set or labels outside the model's classes, and
    ``MeasurementError`` when outputs are not (n, classes) or not finite.
    """
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    arrays, items = _scored(dataset)
    x, labels = arrays.x, arrays.labels
    if labels.dtype.kind not in "iu":
        if labels.dtype.kind == "f" and np.all(np.isfinite(labels)) and np.all(labels % 1 == 0):
            labels = labels.astype(np.int64)
        else:
            raise InputError(
                f"data set {dataset.path}: labels must be integers, got {labels.dtype}"
            )
    labels = labels.astype(np.int64, copy=False)
    n = len(labels)
    if n == 0 or len(x) == 0:
        raise InputError(f"data set {dataset.path} is empty")
    out = predict(session, arrays, batch_size)
    if out.ndim != 2:
        raise MeasurementError(
            f"expected classification outputs of shape ({n}, classes), got {out.shape}"
        )
    logits = out.astype(np.float64, copy=False)
    _check_finite(logits, n)
    classes = logits.shape[1]
    out_of_range = (labels < 0) | (labels >= classes)
    if out_of_range.any():
        raise InputError(
            f"data set {dataset.path}: {int(out_of_range.sum())} of {n} labels are outside "
            f"0..{classes - 1}, the classes the model outputs (e.g. {int(labels[out_of_range][0])})"
        )

    results = [_proportion("top1", topk_correct(logits, labels, 1), dataset, items, keep=True)]
    if classes > 5:
        results.append(_proportion("top5", topk_correct(logits, labels, 5), dataset, items))
    return tuple(results)


def _proportion(
    metric: str, correct: np.ndarray, dataset: DatasetRef, items: str, keep: bool = False
) -> AccuracyResult:
    """A fraction correct with its Wilson interval; ``keep``: with per-item correctness too.

    Per-item correctness lets two runs scored on the same items get a paired
    test (McNemar) instead of two overlapping intervals.
    """
    n, k = len(correct), int(correct.sum())
    low, high = wilson_interval(k, n)
    return AccuracyResult(
        metric,
        k / n,
        dataset.dataset_id,
        n,
        ci_low=low,
        ci_high=high,
        item_correct="".join("1" if c else "0" for c in correct) if keep else None,
        items=items,
    )


def evaluate_regression(
    session: Session, dataset: DatasetRef, batch_size: int
) -> tuple[AccuracyResult, ...]:
    """Mean absolute error and root mean squared error over every scored item and output value.

    Both are in the labels' units, lower is better. Labels of shape ``(n,)``
    pair with outputs of shape ``(n,)`` or ``(n, 1)``; labels ``(n, k)``
    with outputs ``(n, k)``. Raises ``InputError`` for an unreadable data set
    or labels that do not match the outputs' shape, and ``MeasurementError``
    for non-finite outputs.
    """
    arrays, items = _scored(dataset)
    labels = arrays.labels
    n = len(labels)
    if n == 0:
        raise InputError(f"data set {dataset.path} is empty")
    if labels.dtype.kind not in "iuf":
        raise InputError(f"data set {dataset.path}: labels must be numbers, got {labels.dtype}")
    out = predict(session, arrays, batch_size).astype(np.float64, copy=False)
    _check_finite(out, n)
    pred = out.reshape(n, -1)
    target = labels.astype(np.float64).reshape(n, -1)
    if pred.shape != target.shape:
        raise InputError(
            f"data set {dataset.path}: labels of shape {labels.shape} do not match the model's "
            f"outputs of shape {out.shape}"
        )
    err = pred - target
    mae = float(np.mean(np.abs(err)))
    rmse = float(np.sqrt(np.mean(err**2)))
    return (
        AccuracyResult("mae", mae, dataset.dataset_id, n, items=items),
        AccuracyResult("rmse", rmse, dataset.dataset_id, n, items=items),
    )


def evaluate(
    session: Session, dataset: DatasetRef, batch_size: int, task: str = "classification"
) -> tuple[AccuracyResult, ...]:
    """``evaluate_classification`` or ``evaluate_regression`` by ``task``.

    Raises ``InputError`` for an unknown task.
    """
    if task == "classification":
        return evaluate_classification(session, dataset, batch_size)
    if task == "regression":
        return evaluate_regression(session, dataset, batch_size)
    raise InputError(f"unknown task {task!r}; choose classification or regression")
