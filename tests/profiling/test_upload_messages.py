"""A refused upload's message names the user's file and fits what the file was meant to be."""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np
import pytest

from paretoscope.core.errors import InputError
from paretoscope.profiling import plan_profile, uploads
from store import Store

from .conftest import Models, request_for


def _upload(store: Store, name: str, data: bytes, role: str) -> uploads.Upload:
    return uploads.save_upload(store, name, io.BytesIO(data), role=role, limit_mb=10.0)


def test_a_pickled_data_file_is_refused_with_data_advice_and_its_own_name(store: Store) -> None:
    payload = pickle.dumps({"x": [1, 2, 3]}, protocol=4)
    with pytest.raises(InputError) as err:
        _upload(store, "my-eval-set.npz", payload, "data")
    text = str(err.value)
    assert "my-eval-set.npz" in text and "data.npz" not in text
    assert "Python pickle" in text
    assert "export" not in text.lower() and "torch" not in text  # no "export the model"
    assert ".npz" in text and ".csv" in text


def test_a_pickled_model_file_still_gets_the_model_advice(store: Store) -> None:
    with pytest.raises(InputError) as err:
        _upload(store, "weights.pt", pickle.dumps([1], protocol=4), "model")
    text = str(err.value)
    assert "weights.pt" in text and "model.pt" not in text
    assert "torch.onnx.export" in text


def test_a_data_file_refused_when_planned_names_the_users_file(
    models: Models, store: Store, tmp_path: Path
) -> None:
    # Object arrays are stored as pickles inside the .npz: the upload is a valid
    # zip of .npy members, and only reading it (at plan time) refuses it.
    source = tmp_path / "objects.npz"
    np.savez(source, x=np.array([{"a": 1}] * 4, dtype=object), labels=np.arange(4))
    data = _upload(store, "Team eval (v2).npz", source.read_bytes(), "data")
    assert data.path.name == "data.npz"
    model = _upload(store, "clf.onnx", models.classifier.read_bytes(), "model")
    request = request_for(
        model.path, data_path=str(data.path), data_name=data.original_name, source="upload"
    )
    with pytest.raises(InputError) as err:
        plan_profile(store, request)
    text = str(err.value)
    assert "Team eval (v2).npz" in text and "data.npz" not in text
