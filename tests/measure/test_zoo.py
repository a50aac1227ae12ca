"""The zoo and the digits split: builders, training, ONNX export (fp32 and int8), ids, files."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from measure import zoo
from measure.datasets import (
    IMAGE_SHAPE,
    DigitsSplit,
    digits_split,
    eval_dataset_id,
    write_eval_npz,
)


@pytest.fixture(scope="module")
def split() -> DigitsSplit:
    return digits_split()


@pytest.fixture(scope="module")
def tiny(split: DigitsSplit) -> zoo.TrainedModel:
    """A small MLP trained briefly: enough to be far better than chance, in well under a second."""
    entry = zoo.ZooModel("mlp-w16-d1", "mlp", "measure.zoo:build_mlp", {"width": 16, "depth": 1})
    return zoo.train_model(entry, split, zoo.TrainConfig(epochs=5))


@pytest.fixture(scope="module")
def onnx_pair(
    tiny: zoo.TrainedModel, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Path, Path]]:
    folder = tmp_path_factory.mktemp("onnx")
    fp32 = zoo.export_onnx(tiny.module, folder / "tiny.onnx")
    int8 = zoo.quantize_onnx_int8(fp32, folder / "tiny.int8.onnx")
    yield fp32, int8


def _session(path: Path) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(axis=1) == labels).mean())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the split --------------------------------------------------------------------


def test_split_is_stratified_held_out_and_standardised_on_train(split: DigitsSplit) -> None:
    assert split.x_train.shape == (1347, *IMAGE_SHAPE)
    assert split.x_test.shape == (450, *IMAGE_SHAPE)
    assert split.x_train.dtype == split.x_test.dtype == np.float32
    # Stratified: every class keeps its share in the test part (within one item).
    train_share = np.bincount(split.y_train, minlength=10) / len(split.y_train)
    test_counts = np.bincount(split.y_test, minlength=10)
    assert np.all(np.abs(test_counts - train_share * len(split.y_test)) <= 1.5)
    # The statistics come from the training part only: it is standardised exactly.
    assert abs(float(split.x_train.mean())) < 1e-5
    assert abs(float(split.x_train.std()) - 1.0) < 1e-5
    assert abs(float(split.x_test.mean())) > 1e-4  # the test part was not refitted


def test_eval_npz_holds_the_model_input_and_is_byte_stable(
    split: DigitsSplit, tmp_path: Path
) -> None:
    a = write_eval_npz(split, tmp_path / "a.npz")
    b = write_eval_npz(digits_split(), tmp_path / "b.npz")
    assert _sha(a) == _sha(b)  # same split, same bytes: content addressing stores it once
    with np.load(a, allow_pickle=False) as data:
        np.testing.assert_array_equal(data["x"], split.x_test)
        np.testing.assert_array_equal(data["labels"], split.y_test)
        assert data["x"].dtype == np.float32 and data["labels"].dtype == np.int64


def test_dataset_id_names_the_split() -> None:
    assert eval_dataset_id() == eval_dataset_id(seed=0, test_fraction=0.25)
    assert eval_dataset_id(seed=1) != eval_dataset_id()


# -- builders and training --------------------------------------------------------


@pytest.mark.parametrize("entry", zoo.ZOO, ids=lambda e: e.name)
def test_builders_take_the_image_and_return_logits(entry: zoo.ZooModel) -> None:
    module = zoo.build_module(entry.builder, entry.builder_kwargs)
    assert module.input_shape == IMAGE_SHAPE  # read by the torch runtime
    with torch.inference_mode():
        assert module(torch.zeros(3, *IMAGE_SHAPE)).shape == (3, 10)


def test_builders_take_keywords_only() -> None:
    with pytest.raises(TypeError):
        zoo.build_mlp(16, 1)  # type: ignore[call-arg]  # positional on purpose
    with pytest.raises(ValueError, match="positive"):
        zoo.build_cnn(channels=0)


def test_zoo_spans_sizes_and_the_quick_subset_is_in_it() -> None:
    params = {
        e.name: zoo.param_count(zoo.build_module(e.builder, e.builder_kwargs)) for e in zoo.ZOO
    }
    assert max(params.values()) > 100 * min(params.values())
    assert {e.family for e in zoo.ZOO} == {"mlp", "cnn"}
    quick = zoo.zoo_entries(quick=True)
    assert {e.name for e in quick} == set(zoo.QUICK_ZOO)
    assert {e.family for e in quick} == {"mlp", "cnn"}


def test_training_learns_and_is_reproducible(tiny: zoo.TrainedModel, split: DigitsSplit) -> None:
    acc = _accuracy(zoo.torch_logits(tiny.module, split.x_test), split.y_test)
    assert acc > 0.8  # chance is 0.1
    again = zoo.train_model(tiny.entry, split, zoo.TrainConfig(epochs=5))
    for k, v in tiny.module.state_dict().items():
        assert torch.equal(v, again.module.state_dict()[k])


def test_state_dict_round_trips_with_weights_only(
    tiny: zoo.TrainedModel, tmp_path: Path, split: DigitsSplit
) -> None:
    path = zoo.save_state(tiny.module, tmp_path / "tiny.pt")
    loaded = zoo.load_state(tiny.entry.builder, tiny.entry.builder_kwargs, path)
    np.testing.assert_array_equal(
        zoo.torch_logits(loaded, split.x_test), zoo.torch_logits(tiny.module, split.x_test)
    )


# -- ONNX -------------------------------------------------------------------------


def test_onnx_fp32_matches_torch_at_any_batch(
    tiny: zoo.TrainedModel, onnx_pair: tuple[Path, Path], split: DigitsSplit
) -> None:
    fp32, _ = onnx_pair
    model = onnx.load(str(fp32))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == [zoo.INPUT_NAME]
    batch_dim = model.graph.input[0].type.tensor_type.shape.dim[0]
    assert batch_dim.dim_param  # symbolic, not fixed
    session = _session(fp32)
    for n in (1, 7, 450):
        x = split.x_test[:n]
        np.testing.assert_allclose(
            session.run(None, {"x": x})[0], zoo.torch_logits(tiny.module, x), atol=1e-4, rtol=1e-4
        )


def test_onnx_int8_is_quantised_runs_and_stays_close(
    onnx_pair: tuple[Path, Path], split: DigitsSplit
) -> None:
    fp32, int8 = onnx_pair
    assert "MatMulInteger" in zoo.quantized_ops(onnx.load(str(int8)))
    assert int8.stat().st_size < fp32.stat().st_size
    logits32 = _session(fp32).run(None, {"x": split.x_test})[0]
    logits8 = _session(int8).run(None, {"x": split.x_test})[0]
    assert not np.array_equal(logits8, logits32)  # really a different computation
    acc32, acc8 = _accuracy(logits32, split.y_test), _accuracy(logits8, split.y_test)
    assert acc8 > 0.8 and abs(acc8 - acc32) < 0.03


def test_cnn_exports_and_its_int8_quantises_the_convolutions(
    split: DigitsSplit, tmp_path: Path
) -> None:
    module = zoo.build_cnn(channels=4)
    fp32 = zoo.export_onnx(module, tmp_path / "cnn.onnx")
    int8 = zoo.quantize_onnx_int8(fp32, tmp_path / "cnn.int8.onnx")
    assert "ConvInteger" in zoo.quantized_ops(onnx.load(str(int8)))
    x = split.x_test[:5]
    np.testing.assert_allclose(
        _session(fp32).run(None, {"x": x})[0], zoo.torch_logits(module, x), atol=1e-4, rtol=1e-4
    )
    assert _session(int8).run(None, {"x": x})[0].shape == (5, 10)


def test_export_is_byte_stable(
    tiny: zoo.TrainedModel, onnx_pair: tuple[Path, Path], tmp_path: Path
) -> None:
    fp32, int8 = onnx_pair
    again = zoo.export_onnx(tiny.module, tmp_path / "again.onnx")
    assert _sha(again) == _sha(fp32)
    assert _sha(zoo.quantize_onnx_int8(again, tmp_path / "again.int8.onnx")) == _sha(int8)


# -- ids --------------------------------------------------------------------------


def test_model_ids_are_stable_and_follow_the_recipe() -> None:
    entry, other = zoo.ZOO[0], zoo.ZOO[1]
    cfg = zoo.TrainConfig()
    mid = zoo.model_id(entry, cfg, "ds")
    assert mid == zoo.model_id(entry, zoo.TrainConfig(), "ds")
    assert mid.startswith(f"demo-{entry.name}-")
    assert mid != zoo.model_id(other, cfg, "ds")
    assert mid != zoo.model_id(entry, zoo.TrainConfig(epochs=cfg.epochs + 1), "ds")
    assert mid != zoo.model_id(entry, cfg, "other-ds")
    ort8 = zoo.variant_id(mid, zoo.ORT_INT8_TRANSFORMATION)
    torch8 = zoo.variant_id(mid, zoo.TORCH_INT8_TRANSFORMATION)
    assert len({mid, ort8, torch8}) == 3
    assert ort8 == zoo.variant_id(mid, zoo.ORT_INT8_TRANSFORMATION)
