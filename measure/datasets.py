"""The scikit-learn digits data set: one fixed, stratified split, and its held-out part as ``.npz``.

Every demo model takes the same input: ``x`` float32 of shape ``(batch, 1, 8, 8)``,
the 8×8 grey-level image standardised with one mean and one standard deviation
fitted on the training part only (MLPs flatten it themselves). The stored
evaluation file holds exactly that input, already standardised, so a runtime
feeds ``x`` to the model unchanged. A single scalar mean/std (rather than one
per pixel) keeps border pixels, nearly always 0 in training, from exploding
when a test digit happens to touch them.

Nothing here downloads anything: ``load_digits`` ships inside scikit-learn.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "DATASET_NAME",
    "IMAGE_SHAPE",
    "N_CLASSES",
    "SPLIT_SEED",
    "TEST_FRACTION",
    "DigitsSplit",
    "digits_split",
    "eval_dataset_id",
    "write_eval_npz",
]

DATASET_NAME = "sklearn-digits"
IMAGE_SHAPE: tuple[int, int, int] = (1, 8, 8)
N_CLASSES = 10
SPLIT_SEED = 0
TEST_FRACTION = 0.25
# Bumped whenever the split or the preprocessing changes, so a different
# evaluation set never shares an id with an old one.
SPLIT_VERSION = 1


@dataclass(frozen=True)
class DigitsSplit:
    """Standardised images ``(n, 1, 8, 8)`` float32 and labels ``(n,)`` int64, train and test.

    ``mean``/``std`` are the grey-level statistics of the training images (raw
    pixel units, 0–16) that were applied to both parts.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    mean: float
    std: float
    seed: int
    test_fraction: float


def digits_split(*, seed: int = SPLIT_SEED, test_fraction: float = TEST_FRACTION) -> DigitsSplit:
    """Load digits and split it, stratified by class; the test part is never trained on."""
    # Imported here: scikit-learn (and scipy behind it) takes about a second to import.
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float64)
    labels = np.asarray(bunch.target, dtype=np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        images, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    mean = float(x_tr.mean())
    std = float(x_tr.std())

    def standardise(x: np.ndarray) -> np.ndarray:
        return ((x - mean) / std).astype(np.float32).reshape(-1, *IMAGE_SHAPE)

    return DigitsSplit(
        x_train=standardise(x_tr),
        y_train=y_tr,
        x_test=standardise(x_te),
        y_test=y_te,
        mean=mean,
        std=std,
        seed=seed,
        test_fraction=test_fraction,
    )


def eval_dataset_id(*, seed: int = SPLIT_SEED, test_fraction: float = TEST_FRACTION) -> str:
    """Stable id of the held-out set: derived from how it was made, not from its bytes.

    Float statistics can differ in the last bit between machines; the runs of
    two hosts must still be comparable on one data set.
    """
    return f"{DATASET_NAME}-test{round(test_fraction * 100)}-seed{seed}-v{SPLIT_VERSION}"


def write_eval_npz(split: DigitsSplit, path: Path) -> Path:
    """Write the held-out set as ``.npz`` (``x``, ``labels``, plus the train statistics).

    The archive is written with fixed timestamps, so the same split always
    gives the same bytes and content addressing stores it once.
    """
    arrays: dict[str, np.ndarray] = {
        "x": np.ascontiguousarray(split.x_test, dtype=np.float32),
        "labels": np.ascontiguousarray(split.y_test, dtype=np.int64),
        "train_mean": np.asarray(split.mean, dtype=np.float64),
        "train_std": np.asarray(split.std, dtype=np.float64),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, arr in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            with zf.open(info, "w", force_zip64=True) as fh:
                np.lib.format.write_array(fh, arr, allow_pickle=False)
    return path
