"""Tests of accuracy evaluation: agreement with an independent computation, and bad data."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest

from measure import testing
from measure.evaluate import evaluate_classification, load_dataset, topk_correct
from measure.runtimes import runtime_for
from measure.runtimes.base import Session
from paretoscope.core.errors import InputError, MeasurementError
from paretoscope.core.records import DatasetRef

from .conftest import Zoo


@pytest.fixture(scope="module")
def ort_session(zoo: Zoo) -> Session:
    return runtime_for("ort").load(testing.make_spec(zoo.onnx, "ort"))


def _independent_accuracy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    top1 = float((logits.argmax(axis=1) == labels).mean())
    ranks = (logits > logits[np.arange(len(labels)), labels][:, None]).sum(axis=1)
    return top1, float((ranks < 5).mean())


@pytest.mark.parametrize("batch_size", [1, 7, 32, 1000])
def test_accuracy_equals_an_independent_computation(
    zoo: Zoo,
    ort_session: Session,
    reference_logits: Callable[[np.ndarray], np.ndarray],
    batch_size: int,
) -> None:
    results = evaluate_classification(ort_session, zoo.dataset, batch_size)
    top1, top5 = _independent_accuracy(reference_logits(zoo.x_eval), zoo.y_eval)
    assert [r.metric for r in results] == ["top1", "top5"]
    assert results[0].value == pytest.approx(top1, abs=1 / 300)  # fp32 vs fp64 ties at most
    assert results[1].value == pytest.approx(top5, abs=1 / 300)
    assert 0.8 <= results[0].value <= results[1].value <= 1.0
    assert all(r.n_samples == 300 and r.dataset_id == zoo.dataset.dataset_id for r in results)


def test_a_fixed_batch_model_is_padded_and_the_padding_discarded(
    zoo: Zoo, ort_session: Session, tmp_path: Path
) -> None:
    # The same graph with its batch dimension pinned to 8: 300 items are 37
    # full batches and one of 4 real items plus 4 copies.
    model = onnx.load(zoo.onnx.path)
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 8
    fixed_path = tmp_path / "fixed8.onnx"
    onnx.save(model, str(fixed_path))
    fixed = runtime_for("ort").load(
        testing.make_spec(testing.artifact_ref(fixed_path, "onnx"), "ort")
    )
    assert fixed.inputs[0].batch_fixed == 8
    assert evaluate_classification(fixed, zoo.dataset, 1) == evaluate_classification(
        ort_session, zoo.dataset, 1
    )


def test_non_finite_outputs_are_counted_and_refused(zoo: Zoo, tmp_path: Path) -> None:
    state = testing.save_state(testing.nan_mlp(), tmp_path / "nan.pt")
    artifact = testing.artifact_ref(state, "torch-state", builder="measure.testing:nan_mlp")
    session = runtime_for("torch").load(testing.make_spec(artifact, "torch"))
    x = zoo.x_eval.copy()
    x[[3, 50, 299], 0] = -1.0
    data = testing.write_dataset(tmp_path / "with-nan.npz", x, zoo.y_eval)
    with pytest.raises(MeasurementError, match="non-finite outputs on 3 of 300 items"):
        evaluate_classification(session, testing.dataset_ref(data), 16)


def _dataset(path: Path) -> DatasetRef:
    return DatasetRef("bad", "bad", "eval", str(path), 0, "0" * 64)


def test_labels_outside_the_classes_are_input_errors(
    zoo: Zoo, ort_session: Session, tmp_path: Path
) -> None:
    labels = zoo.y_eval.copy()
    labels[:2] = [10, -1]
    data = testing.write_dataset(tmp_path / "bad-labels.npz", zoo.x_eval, labels)
    with pytest.raises(InputError, match=r"2 of 300 labels are outside 0\.\.9"):
        evaluate_classification(ort_session, _dataset(data), 64)


def test_few_classes_report_top1_only(tmp_path: Path, zoo: Zoo) -> None:
    model = testing.tiny_mlp(64, 8, 5)
    state = testing.save_state(model, tmp_path / "five.pt")
    artifact = testing.artifact_ref(
        state,
        "torch-state",
        builder="measure.testing:tiny_mlp",
        builder_kwargs={"hidden": 8, "classes": 5},
    )
    session = runtime_for("torch").load(testing.make_spec(artifact, "torch"))
    data = testing.write_dataset(tmp_path / "five.npz", zoo.x_eval, zoo.y_eval % 5)
    (result,) = evaluate_classification(session, _dataset(data), 50)
    assert result.metric == "top1" and 0.0 <= result.value <= 1.0


def test_unreadable_data_sets(tmp_path: Path, ort_session: Session) -> None:
    with pytest.raises(InputError, match="data set file not found"):
        load_dataset(tmp_path / "absent.npz")
    np.savez(tmp_path / "nolabels.npz", x=np.zeros((3, 64), np.float32))
    with pytest.raises(InputError, match="lacks array"):
        load_dataset(tmp_path / "nolabels.npz")
    np.savez(tmp_path / "pickled.npz", x=np.zeros((2, 64)), labels=np.array([{}, {}], object))
    with pytest.raises(InputError, match="cannot read data set"):
        load_dataset(tmp_path / "pickled.npz")
    np.savez(tmp_path / "short.npz", x=np.zeros((3, 64)), labels=np.zeros(2, np.int64))
    with pytest.raises(InputError, match="one label per item"):
        load_dataset(tmp_path / "short.npz")
    np.savez(tmp_path / "strlabels.npz", x=np.zeros((2, 64)), labels=np.array(["a", "b"]))
    with pytest.raises(InputError, match="labels must be integers"):
        load_dataset(tmp_path / "strlabels.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="cannot read data set"):
        evaluate_classification(ort_session, _dataset(tmp_path / "junk.npz"), 8)


def test_a_zip_bomb_is_refused_before_it_inflates(tmp_path: Path) -> None:
    import zipfile

    bomb = tmp_path / "bomb.npz"
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.uint8))
    header["shape"] = (300 * 2**20,)  # 300 MB of zeros, a few hundred KB deflated
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        with zf.open("x.npy", "w", force_zip64=True) as f:
            np.lib.format.write_array_header_1_0(f, header)
            chunk = bytes(2**20)
            for _ in range(300):
                f.write(chunk)
        zf.writestr("labels.npy", b"")
    assert bomb.stat().st_size < 2 * 2**20
    with pytest.raises(InputError, match=r"refused bomb\.npz: its arrays would inflate to 300 MB"):
        load_dataset(bomb)


def test_topk_with_ties_and_k_equal_classes() -> None:
    logits = np.array([[0.0, 1.0, 1.0], [3.0, 2.0, 1.0]])
    labels = np.array([2, 2])
    assert topk_correct(logits, labels, 1).tolist() == [False, False]
    assert topk_correct(logits, labels, 3).tolist() == [True, True]


def test_float_labels_that_are_integers_are_accepted(tmp_path: Path) -> None:
    path = testing.write_dataset(tmp_path / "f.npz", np.zeros((2, 4)), np.array([1.0, 3.0]))
    _, labels = load_dataset(path)
    assert labels.dtype == np.int64 and labels.tolist() == [1, 3]


def test_dataset_ref_path_is_what_is_read(zoo: Zoo, ort_session: Session) -> None:
    moved = dataclasses.replace(zoo.dataset, path=str(Path(zoo.dataset.path).with_name("x.npz")))
    with pytest.raises(InputError, match="not found"):
        evaluate_classification(ort_session, moved, 8)


def test_a_scored_range_scores_only_those_items(
    zoo: Zoo, ort_session: Session, reference_logits: Callable[[np.ndarray], np.ndarray]
) -> None:
    whole = evaluate_classification(ort_session, zoo.dataset, 16)
    part = evaluate_classification(
        ort_session, dataclasses.replace(zoo.dataset, items="100:300"), 16
    )
    assert whole[0].items == "0:300" and whole[0].n_samples == 300
    top1 = part[0]
    assert (top1.items, top1.n_samples) == ("100:300", 200)
    # Per-item correctness is exactly the scored items', in order.
    assert (
        top1.item_correct is not None and top1.item_correct == (whole[0].item_correct or "")[100:]
    )
    expected = reference_logits(zoo.x_eval[100:]).argmax(axis=1) == zoo.y_eval[100:]
    assert top1.item_correct == "".join("1" if c else "0" for c in expected)
    assert top1.value == pytest.approx(expected.mean())
    assert top1.ci_low is not None and top1.ci_low < top1.value < (top1.ci_high or 0)
    assert part[1].items == "100:300" and part[1].n_samples == 200


@pytest.mark.parametrize("items", ["5", "a:b", "10:5", "0:301", "-1:10"])
def test_a_malformed_scored_range_is_an_input_error(
    zoo: Zoo, ort_session: Session, items: str
) -> None:
    with pytest.raises(InputError, match="not a range start:stop within its 300 items"):
        evaluate_classification(ort_session, dataclasses.replace(zoo.dataset, items=items), 16)
