"""Accuracy of a loaded model on a labelled ``.npz`` data set, measured apart from timing.

The data file holds ``x`` (items along axis 0) and integer ``labels``; it is
read with ``allow_pickle=False``, so a data file cannot run code.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from measure.runtimes.base import Session
from paretoscope.errors import InputError, MeasurementError
from paretoscope.records import AccuracyResult, DatasetRef

__all__ = ["evaluate_classification", "load_dataset", "topk_correct"]


def load_dataset(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Arrays ``x`` and ``labels`` (as int64) of the ``.npz`` file at ``path``.

    Raises ``InputError`` when the file is missing, unreadable, holds pickled
    objects, lacks either array, the lengths differ, or labels are not integers.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"data set file not found: {path}")
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


def evaluate_classification(
    session: Session, dataset: DatasetRef, batch_size: int
) -> tuple[AccuracyResult, ...]:
    """Top-1 (and, with more than 5 classes, top-5) accuracy as fractions over the whole set.

    Runs the data through ``session`` in batches of ``batch_size``; a model
    exported with a fixed batch runs in batches of that size instead, the
    last one padded with copies of its final item and the padding's outputs
    discarded. Raises ``InputError`` for an unreadable data set or labels
    outside the model's classes, and ``MeasurementError`` when outputs are
    not (n, classes) or not finite.
    """
    if batch_size < 1:
        raise InputError(f"batch_size must be >= 1, got {batch_size}")
    x, labels = load_dataset(dataset.path)
    n = len(labels)
    if n == 0:
        raise InputError(f"data set {dataset.path} is empty")
    fixed = session.inputs[0].batch_fixed if session.inputs else None
    step = fixed or batch_size

    outputs = []
    for start in range(0, n, step):
        chunk = x[start : start + step]
        real = len(chunk)
        if fixed is not None and real < fixed:
            pad = np.repeat(chunk[-1:], fixed - real, axis=0)
            chunk = np.concatenate([chunk, pad], axis=0)
        out = np.asarray(session.run(session.feed(chunk)))
        if out.ndim != 2 or out.shape[0] != len(chunk):
            raise MeasurementError(
                f"expected classification outputs of shape ({len(chunk)}, classes), got {out.shape}"
            )
        outputs.append(out[:real])
    logits = np.concatenate(outputs, axis=0).astype(np.float64, copy=False)

    bad = int((~np.isfinite(logits)).any(axis=1).sum())
    if bad:
        raise MeasurementError(f"model produced non-finite outputs on {bad} of {n} items")
    classes = logits.shape[1]
    out_of_range = (labels < 0) | (labels >= classes)
    if out_of_range.any():
        raise InputError(
            f"data set {dataset.path}: {int(out_of_range.sum())} of {n} labels are outside "
            f"0..{classes - 1}, the classes the model outputs (e.g. {int(labels[out_of_range][0])})"
        )

    results = [
        AccuracyResult("top1", float(topk_correct(logits, labels, 1).mean()), dataset.dataset_id, n)
    ]
    if classes > 5:
        results.append(
            AccuracyResult(
                "top5", float(topk_correct(logits, labels, 5).mean()), dataset.dataset_id, n
            )
        )
    return tuple(results)
