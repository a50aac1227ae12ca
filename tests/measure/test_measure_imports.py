"""The package's import hygiene and public surface, checked in fresh interpreters."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import measure

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_measure_imports_no_ml_library() -> None:
    # Everything but the runtime adapters must be importable without paying
    # for torch (seconds) or onnxruntime; the dashboard imports measure.
    code = (
        "import sys\n"
        "import measure, measure.devices, measure.timing, measure.memory, measure.energy\n"
        "import measure.evaluate, measure.profile, measure.worker, measure.executor\n"
        "import measure.runtimes, measure.runtimes.base, measure.testing\n"
        "heavy = sorted(m for m in ('torch', 'onnxruntime', 'onnx') if m in sys.modules)\n"
        "print(heavy)"
    )
    out = _run(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_timing_is_pure() -> None:
    out = _run(
        "import sys, measure.timing\n"
        "print(sorted(m for m in ('torch', 'onnxruntime', 'streamlit', 'duckdb')"
        " if m in sys.modules))"
    )
    assert out.stdout.strip() == "[]", out.stderr


def test_public_names_resolve() -> None:
    for name in measure.__all__:
        assert getattr(measure, name) is not None, name
    assert set(measure.__all__) <= set(dir(measure))
