"""Inspection of ONNX files and sniffing of file kinds, in-process (fast)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from measure.inspect import inspect_onnx
from paretoscope.core.errors import InputError
from paretoscope.core.records import from_dict, to_dict
from paretoscope.core.safety import refuse_untrusted, sniff
from paretoscope.profiling import ModelInfo, inspect_in_worker, torch_uploads_allowed
from paretoscope.profiling.inspection import clear_inspection_cache

from .conftest import Models


def test_inspection_names_inputs_outputs_dims_and_size(models: Models) -> None:
    info = inspect_onnx(models.tokens)
    (ids,) = info.inputs
    assert (ids.name, ids.dtype, ids.shape) == ("ids", "int64", ("batch", "seq"))
    assert info.outputs[0].shape == ("batch", 4)
    assert info.symbolic_dims == ("batch", "seq")
    assert info.batch_dims == ("batch",) and info.other_dims == ("seq",)
    assert info.opset == 17 and info.producer == "paretoscope-tests"
    assert info.params == 100 * 8 + 8 * 4
    assert info.size_bytes == models.tokens.stat().st_size
    assert info.ort_error is None and info.custom_ops == ()
    assert from_dict(ModelInfo, json.loads(json.dumps(to_dict(info)))) == info


def test_inspection_in_a_worker_matches_in_process(models: Models) -> None:
    assert inspect_in_worker(models.two_inputs) == inspect_onnx(models.two_inputs)


def test_custom_operators_are_listed_with_onnxruntimes_reason(models: Models) -> None:
    info = inspect_onnx(models.custom_op)
    assert info.custom_ops == ("com.example::FancyOp",)
    assert info.ort_error is not None and "FancyOp" in info.ort_error


def test_external_data_inside_the_folder_is_accepted_and_counted(tmp_path: Path) -> None:
    from . import onnx_models

    (tmp_path / "weights.bin").write_bytes(np.ones((4, 2), dtype=np.float32).tobytes())
    info = inspect_onnx(onnx_models.with_external_data(tmp_path / "m.onnx", "weights.bin"))
    assert info.external_data == ("weights.bin",)
    assert info.size_bytes == (tmp_path / "m.onnx").stat().st_size + 32
    with pytest.raises(InputError, match=r"external data file 'missing.bin'.*is missing"):
        inspect_onnx(onnx_models.with_external_data(tmp_path / "n.onnx", "missing.bin"))


def test_sniff_kinds(tmp_path: Path, models: Models) -> None:
    assert sniff(models.classifier).kind == "onnx-candidate"
    assert sniff(models.eval_npz).kind == "npz"
    with zipfile.ZipFile(tmp_path / "script.zip", "w") as zf:
        zf.writestr("m/data.pkl", b"\x80\x02.")
        zf.writestr("m/code/__torch__/m.py", "")
    assert sniff(tmp_path / "script.zip").kind == "torchscript"
    with zipfile.ZipFile(tmp_path / "program.pt2", "w") as zf:
        zf.writestr("m/archive_format", "pt2")
        zf.writestr("m/models/model.json", "{}")
    assert sniff(tmp_path / "program.pt2").kind == "pt2"
    with pytest.raises(
        InputError, match=r"torch.export \(.pt2\) archive; loading one can run code"
    ):
        refuse_untrusted(tmp_path / "program.pt2", {"onnx-candidate"})
    (tmp_path / "w.pth").write_bytes(b"anything")
    assert sniff(tmp_path / "w.pth").is_pickle
    with pytest.raises(
        InputError, match=r"refused eval.npz: it is a NumPy .npz archive, not an ONNX"
    ):
        refuse_untrusted(_copy(models.eval_npz, tmp_path / "eval.npz"), {"onnx-candidate"})


def _copy(src: Path, dst: Path) -> Path:
    dst.write_bytes(src.read_bytes())
    return dst


def test_torch_uploads_are_off_unless_the_setting_says_so() -> None:
    assert not torch_uploads_allowed({})
    assert not torch_uploads_allowed({"PARETOSCOPE_ALLOW_TORCH_UPLOADS": "0"})
    assert torch_uploads_allowed({"PARETOSCOPE_ALLOW_TORCH_UPLOADS": "1"})


def test_an_inspector_that_crashes_or_hangs_is_an_input_error(
    models: Models, tmp_path: Path
) -> None:
    # Another test may have inspected the same file: a kept inspection would skip the child.
    clear_inspection_cache()
    crash = tmp_path / "crash.sh"
    crash.write_text("#!/bin/sh\necho 'Segmentation fault' >&2\nkill -SEGV $$\n")
    crash.chmod(0o755)
    with pytest.raises(InputError, match=r"classifier.onnx crashed the inspector \(signal 11"):
        inspect_in_worker(models.classifier, python=str(crash))
    hang = tmp_path / "hang.sh"
    hang.write_text("#!/bin/sh\nexec sleep 30\n")
    hang.chmod(0o755)
    with pytest.raises(InputError, match=r"took longer than 0.5 s"):
        inspect_in_worker(models.classifier, timeout_s=0.5, python=str(hang))
