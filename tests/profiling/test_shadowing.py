"""Files in the user's working directory never shadow Paretoscope's own modules."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from paretoscope import cli

from . import torch_models
from .conftest import Models

HOSTILE = 'raise RuntimeError("the working directory\'s {name}.py was imported")\n'


def _paretoscope() -> list[str]:
    script = Path(sys.executable).parent / "paretoscope"
    # -P keeps the parent itself from importing the working directory's files
    # when there is no console script (a bare checkout).
    return [str(script)] if script.exists() else [sys.executable, "-P", "-m", "paretoscope"]


@pytest.mark.slow
def test_profile_works_beside_a_users_measure_py_and_store_py(
    models: Models, tmp_path: Path
) -> None:
    work = tmp_path / "project"
    work.mkdir()
    for name in ("measure", "store", "paretoscope"):
        (work / f"{name}.py").write_text(HOSTILE.format(name=name))
    shutil.copy(models.classifier, work / "model.onnx")
    shutil.copy(models.eval_npz, work / "eval.npz")
    db = tmp_path / "store" / "paretoscope.duckdb"
    common = ["--store", str(db)]
    proc = subprocess.run(
        [*_paretoscope(), "profile", "model.onnx", "--data", "eval.npz", "--quick", *common],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    runs = subprocess.run(
        [*_paretoscope(), "runs", "--format", "json", *common],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    (run,) = json.loads(runs.stdout)
    assert run["accuracy"] is not None and run["accuracy"] > 0.5


@pytest.mark.slow  # torch.export takes seconds
def test_a_module_function_target_in_the_working_directory_still_imports(
    models: Models, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    for name in ("measure", "store", "paretoscope"):
        (work / f"{name}.py").write_text(HOSTILE.format(name=name))
    shutil.copy(torch_models.__file__, work / "usermodel.py")
    monkeypatch.chdir(work)
    argv = ["profile", "usermodel:classifier", "--data", str(models.eval_npz)]
    argv += ["--runtime", "torch", "--batch", "1", "--store", "runs.duckdb", "--quick"]
    assert cli.main(argv) == 0
