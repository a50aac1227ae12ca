"""Layering rules, checked in fresh interpreters: what may import torch, Streamlit, DuckDB."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PURE = [
    "paretoscope.core.records",
    "paretoscope.core.metrics",
    "paretoscope.analysis.frontier",
    "paretoscope.core.errors",
    "paretoscope.present.runtable",
    "paretoscope.views",
    "paretoscope.present.charts",
    "paretoscope.present.methodology",
    "paretoscope.jobs.background",
]


def _loaded_after(module: str) -> set[str]:
    code = f"import sys, {module}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return set(out.split())


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_import_no_heavy_frameworks(module: str) -> None:
    loaded = _loaded_after(module)
    for heavy in ("torch", "streamlit", "duckdb", "onnxruntime"):
        assert heavy not in loaded, f"{module} imports {heavy}"


@pytest.mark.parametrize("module", ["paretoscope.cli", "store", "paretoscope.ui.dashboard"])
def test_cli_and_store_do_not_import_torch(module: str) -> None:
    loaded = _loaded_after(module)
    assert "torch" not in loaded and "onnxruntime" not in loaded
