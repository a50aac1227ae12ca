"""The ONNX wire reader against onnx itself, and inspection reuse by file hash."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from measure.profile import _onnx_external_files, _onnx_external_files_by_onnx
from measure.runtimes.onnx_wire import WireError, read_graph_summary
from measure.runtimes.ort import _onnx_param_count, onnx_param_count
from paretoscope.profiling import inspection

from .conftest import Zoo


def test_the_wire_reader_counts_what_onnx_counts(zoo: Zoo, tmp_path: Path) -> None:
    import onnx

    for artifact in (zoo.onnx, zoo.onnx_int8):
        path = Path(artifact.path)
        count = onnx_param_count(path)
        assert count is not None and count == _onnx_param_count(path) and count > 0
        assert _onnx_external_files(path) == _onnx_external_files_by_onnx(path) == []
    # External data: the weights in a file beside the model.
    model = onnx.load(zoo.onnx.path)
    external = tmp_path / "ext.onnx"
    onnx.save(
        model, str(external), save_as_external_data=True, location="ext.bin", size_threshold=0
    )
    assert read_graph_summary(external).external_files() == ("ext.bin",)
    assert _onnx_external_files(external) == [tmp_path / "ext.bin"]
    assert onnx_param_count(external) == onnx_param_count(Path(zoo.onnx.path))
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\xff\xff\xff")
    with pytest.raises(WireError):
        read_graph_summary(garbage)


def test_a_worker_run_does_not_import_onnx(zoo: Zoo) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from measure.runtimes.ort import onnx_param_count\n"
        "from measure.profile import artifact_size_mb\n"
        "from paretoscope.core.records import ArtifactRef\n"
        f"print(onnx_param_count(Path({zoo.onnx.path!r})))\n"
        f"artifact_size_mb(ArtifactRef('x', 'onnx', {zoo.onnx.path!r}, 1))\n"
        "assert 'onnx' not in sys.modules, 'onnx was imported'\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr


def test_inspection_is_reused_for_the_same_bytes_and_redone_for_new_ones(
    zoo: Zoo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "model.onnx"
    shutil.copy(zoo.onnx.path, path)
    inspection.clear_inspection_cache()
    calls: list[list[str]] = []
    real = inspection._run_inspector

    def counting(args: list[str], *rest: object, **kw: object) -> object:
        calls.append(args)
        return real(args, *rest, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(inspection, "_run_inspector", counting)
    first = inspection.inspect_in_worker(path)
    assert inspection.inspect_in_worker(path) == first
    assert len(calls) == 1
    shutil.copy(zoo.onnx_int8.path, path)  # new bytes at the same path: inspected again
    second = inspection.inspect_in_worker(path)
    assert len(calls) == 2 and second.sha256 != first.sha256
    assert second.params == first.params
    inspection.clear_inspection_cache()
