"""Every bad input is refused with its own message, before anything is written to the store."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from paretoscope.core.errors import InputError
from paretoscope.core.safety import sniff
from paretoscope.profiling import inspect_in_worker, plan_profile
from store import Store

from . import onnx_models
from .conftest import Models, request_for


def _copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    return dst


# -- model files --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda m, d: d.joinpath("truncated.onnx").write_bytes(
                m.classifier.read_bytes()[: m.classifier.stat().st_size // 2]
            ),
            "not a valid ONNX model: truncated.onnx",
        ),
        (
            lambda m, d: d.joinpath("random.onnx").write_bytes(
                np.random.default_rng(7).integers(1, 256, 4096, dtype=np.uint8).tobytes()
            ),
            "not a valid ONNX model: random.onnx",
        ),
        (lambda m, d: d.joinpath("empty.onnx").write_bytes(b""), "the file is empty"),
    ],
    ids=["truncated", "random-bytes", "empty"],
)
def test_corrupt_onnx_is_refused_and_nothing_is_stored(
    models: Models,
    store: Store,
    unchanged: Callable[[], None],
    tmp_path: Path,
    make: Callable[[Models, Path], object],
    message: str,
) -> None:
    make(models, tmp_path)
    path = next(p for p in tmp_path.iterdir() if p.suffix == ".onnx")
    with pytest.raises(InputError, match=message):
        plan_profile(store, request_for(path, data_path=str(models.eval_npz)))
    unchanged()


@pytest.mark.parametrize(
    ("name", "as_zip", "evidence"),
    [
        ("model.onnx", False, "pickle protocol-4 header"),
        ("weights.npz", False, "pickle protocol-4 header"),
        ("model.onnx", True, "torch.save zip archive holding the pickle archive/data.pkl"),
        ("checkpoint.pt", True, "torch.save zip archive"),
    ],
)
def test_a_pickle_under_any_name_is_refused_and_never_executed(
    models: Models,
    store: Store,
    unchanged: Callable[[], None],
    tmp_path: Path,
    name: str,
    as_zip: bool,
    evidence: str,
) -> None:
    marker = tmp_path / "PWNED"
    path = onnx_models.pickle_payload(tmp_path / name, marker, as_torch_zip=as_zip)
    assert sniff(path).is_pickle
    with pytest.raises(InputError, match="Python pickle") as err:
        plan_profile(store, request_for(path))
    assert evidence in str(err.value)
    assert "never opens one" in str(err.value)
    # As evaluation data, too.
    with pytest.raises(InputError, match="Python pickle"):
        plan_profile(store, request_for(models.classifier, data_path=str(path)))
    with pytest.raises(InputError, match="Python pickle"):
        inspect_in_worker(path)
    assert not marker.exists()
    unchanged()


def test_the_pickle_payload_really_would_create_the_file(tmp_path: Path) -> None:
    # The control for the test above: unpickled, the payload does create its file.
    import pickle

    marker = tmp_path / "PWNED"
    pickle.loads(onnx_models.pickle_payload(tmp_path / "p.pkl", marker).read_bytes()).close()
    assert marker.exists()


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("../outside.bin", "points outside its folder"),
        ("sub/../../outside.bin", "points outside its folder"),
        ("/etc/passwd", "absolute path '/etc/passwd'"),
    ],
)
def test_external_data_outside_the_model_folder_is_refused(
    store: Store, unchanged: Callable[[], None], tmp_path: Path, location: str, message: str
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (tmp_path / "outside.bin").write_bytes(b"\0" * 32)
    path = onnx_models.with_external_data(folder / "ext.onnx", location)
    with pytest.raises(InputError, match=message):
        plan_profile(store, request_for(path))
    unchanged()


def test_an_operator_onnxruntime_cannot_run_is_refused(
    models: Models, store: Store, unchanged: Callable[[], None]
) -> None:
    with pytest.raises(InputError, match=r"ONNX Runtime cannot run custom-op\.onnx") as err:
        plan_profile(store, request_for(models.custom_op))
    assert "com.example::FancyOp" in str(err.value)
    unchanged()


def test_a_fixed_batch_model_refuses_other_batches(
    models: Models, store: Store, unchanged: Callable[[], None], tmp_path: Path
) -> None:
    path = onnx_models.mlp(tmp_path / "fixed.onnx", models.weights, batch=1)
    with pytest.raises(
        InputError, match=r"fixed batch of 1 \(shape \[1, 64\]\); it cannot run batch 8"
    ):
        plan_profile(store, request_for(path, batches=(1, 8)))
    unchanged()


# -- data ---------------------------------------------------------------------------------


def _npz(path: Path, **arrays: np.ndarray) -> str:
    np.savez(path, **arrays)  # type: ignore[arg-type]  # numpy's stub wants positional arrays
    return str(path)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        (
            lambda m: {"x": m.x_eval[:, :60], "labels": m.y_eval},
            r"axis 1 must be 64, not 60",
        ),
        (
            lambda m: {"x": m.x_eval.reshape(-1, 8, 8), "labels": m.y_eval},
            r"rank 3\); the model wants \(batch, 64\) \(rank 2\)",
        ),
        (lambda m: {"x": m.x_eval, "labels": m.y_eval + 5}, "labels are outside 0..9"),
        (lambda m: {"x": m.x_eval, "labels": m.y_eval[:-3]}, "200 item"),
        (lambda m: {"x": m.x_eval}, "has no `labels` array"),
        (lambda m: {"inputs": m.x_eval, "labels": m.y_eval}, "lacks an array for model input"),
        (
            lambda m: {"x": m.x_eval.astype(np.str_), "labels": m.y_eval},
            "has dtype <U32; the model wants float32",
        ),
        (
            lambda m: {"x": m.x_eval, "labels": m.y_eval + 0.5},
            "classification labels must be integer class ids",
        ),
        (
            lambda m: {"x": np.where(m.x_eval > 0.9, np.nan, m.x_eval), "labels": m.y_eval},
            "NaN or infinite values",
        ),
    ],
    ids=[
        "width",
        "rank",
        "labels-range",
        "lengths",
        "no-labels",
        "input-name",
        "dtype",
        "float-labels",
        "nan-input",
    ],
)
def test_data_that_does_not_fit_is_refused(
    models: Models,
    store: Store,
    unchanged: Callable[[], None],
    tmp_path: Path,
    arrays: Callable[[Models], dict[str, np.ndarray]],
    message: str,
) -> None:
    data = _npz(tmp_path / "bad.npz", **arrays(models))
    with pytest.raises(InputError, match=message):
        plan_profile(store, request_for(models.classifier, data_path=data))
    unchanged()


def test_int_ids_with_fractions_and_mismatched_sequence_lengths_are_refused(
    models: Models, store: Store, unchanged: Callable[[], None], tmp_path: Path
) -> None:
    ids = np.random.default_rng(0).integers(0, 50, (20, 12))
    labels = np.arange(20) % 4
    fractional = _npz(tmp_path / "f.npz", ids=ids + 0.5, labels=labels)
    with pytest.raises(InputError, match="fractional values; the model wants integers"):
        plan_profile(store, request_for(models.tokens, data_path=fractional))
    data = _npz(tmp_path / "ids.npz", ids=ids, labels=labels)
    with pytest.raises(
        InputError, match="the evaluation data has seq=12 but --dim asks for seq=16"
    ):
        plan_profile(store, request_for(models.tokens, data_path=data, dims={"seq": (16,)}))
    with pytest.raises(InputError, match=r"give a value for every symbolic dimension: --dim seq="):
        plan_profile(store, request_for(models.tokens))
    with pytest.raises(InputError, match="no symbolic dimension 'heads'"):
        plan_profile(store, request_for(models.tokens, dims={"seq": (8,), "heads": (2,)}))
    unchanged()


def test_object_arrays_in_npz_are_refused_unloaded(
    models: Models, store: Store, unchanged: Callable[[], None], tmp_path: Path
) -> None:
    path = tmp_path / "objects.npz"
    np.savez(path, x=np.array([{"a": 1}] * 3, dtype=object), labels=np.arange(3))
    with pytest.raises(InputError, match="pickled Python objects"):
        plan_profile(store, request_for(models.classifier, data_path=str(path)))
    unchanged()


def test_csv_problems_are_named(
    models: Models, store: Store, unchanged: Callable[[], None], tmp_path: Path
) -> None:
    frame = pd.DataFrame(models.x_eval, columns=[f"f{i}" for i in range(64)])
    frame["digit"] = models.y_eval
    frame.to_csv(tmp_path / "d.csv", index=False)
    with pytest.raises(InputError, match="name the label column"):
        plan_profile(store, request_for(models.classifier, data_path=str(tmp_path / "d.csv")))
    frame["f3"] = "text"
    frame.to_csv(tmp_path / "t.csv", index=False)
    with pytest.raises(InputError, match=r"feature column\(s\) f3 are not numeric"):
        plan_profile(
            store,
            request_for(models.classifier, data_path=str(tmp_path / "t.csv"), label_column="digit"),
        )
    with pytest.raises(InputError, match="a csv table feeds a model with one input"):
        plan_profile(
            store,
            request_for(models.two_inputs, data_path=str(tmp_path / "d.csv"), label_column="digit"),
        )
    unchanged()


def test_option_problems_are_listed_together(
    models: Models, store: Store, unchanged: Callable[[], None]
) -> None:
    with pytest.raises(InputError) as err:
        plan_profile(
            store,
            request_for(
                models.classifier,
                precisions=("fp32", "int4", "int8-static"),
                batches=(0,),
                reported_accuracy=1.5,
            ),
        )
    text = str(err.value)
    assert "precision 'int4'" in text
    assert "batch values must be >= 1" in text
    assert "fraction in [0, 1]" in text
    assert "int8-static is calibrated on your data" in text
    with pytest.raises(InputError, match="ONNX model, which runs with --runtime ort"):
        plan_profile(store, request_for(models.classifier, runtimes=("torch",)))
    with pytest.raises(InputError, match="built-in data set 'iris' is for classification"):
        plan_profile(store, request_for(models.classifier, builtin_data="iris", task="regression"))
    with pytest.raises(InputError, match=r"axis 1 must be 64, not 4"):
        plan_profile(store, request_for(models.classifier, builtin_data="iris"))
    unchanged()


def test_a_missing_model_file(store: Store, unchanged: Callable[[], None], tmp_path: Path) -> None:
    with pytest.raises(InputError, match="model file not found"):
        plan_profile(store, request_for(tmp_path / "nope.onnx"))
    unchanged()


def test_a_single_score_model_is_not_scored_as_a_classifier(
    store: Store, unchanged: Callable[[], None], tmp_path: Path
) -> None:
    model = onnx_models.regressor(tmp_path / "score.onnx", np.ones((3, 1)))
    data = _npz(tmp_path / "d.npz", x=np.zeros((5, 3)), labels=np.array([0, 1, 0, 1, 1]))
    with pytest.raises(InputError, match="outputs one score per item"):
        plan_profile(store, request_for(model, data_path=data))
    unchanged()
