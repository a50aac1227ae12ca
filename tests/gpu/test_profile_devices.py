"""``paretoscope profile --device cpu,cuda:0`` on a real GPU: every combination, ORT CUDA included.

Marked ``gpu``: skipped where torch sees no CUDA GPU. Run on the H200 machine
with onnxruntime-gpu installed (``ort_has_cuda``): the six ONNX runs are all
measured there, each with device memory and energy.
"""

from __future__ import annotations

import json
from contextlib import redirect_stdout
from io import StringIO
from pathlib import Path

import numpy as np
import pytest

from measure import testing
from paretoscope import cli
from paretoscope.profiling import devices
from tests.gpu.conftest import cuda_available, ort_has_cuda

pytestmark = pytest.mark.gpu


@pytest.fixture(autouse=True)
def _needs_cuda() -> None:
    if not cuda_available():
        pytest.skip("no CUDA GPU here")


def _rows(db: str) -> list[dict[str, object]]:
    out = StringIO()
    with redirect_stdout(out):
        assert cli.main(["runs", "--store", db, "--all", "--format", "json"]) == 0
    rows: list[dict[str, object]] = json.loads(out.getvalue())
    return rows


def test_the_host_offers_its_gpu() -> None:
    assert "cuda:0" in devices.offered_devices()
    assert devices.resolve_devices(["all"], devices.offered_devices())[:2] == ("cpu", "cuda:0")


def test_onnx_on_cpu_and_cuda_at_three_precisions_is_six_runs(tmp_path: Path) -> None:
    if not ort_has_cuda():
        pytest.skip("this onnxruntime has no CUDA provider: install onnxruntime-gpu")
    model = testing.export_onnx(testing.tiny_mlp(), tmp_path / "m.onnx", np.zeros((2, 64)))
    db = str(tmp_path / "gpu.duckdb")
    argv = ["profile", str(model), "--device", "cpu,cuda:0", "--precision", "fp32,fp16,int8"]
    code = cli.main([*argv, "--store", db, "--quick", "--repeats", "1"])
    rows = _rows(db)
    combos = sorted((str(r["device"]), str(r["precision"])) for r in rows)
    assert combos == sorted((d, p) for d in ("cpu", "cuda:0") for p in ("fp32", "fp16", "int8"))
    # int8 on the CUDA provider may fall back to the CPU for some nodes (recorded in
    # provenance) but must be measured; every GPU run has device memory and energy.
    bad = [(r["device"], r["precision"], r.get("error")) for r in rows if r["status"] != "ok"]
    assert not bad and code == 0, bad
    for r in rows:
        if r["device"] == "cuda:0":
            assert r["peak_mem_mb"] is not None, r
            assert r["energy_j_per_item"] is not None, r.get("energy_unavailable_reason")


@pytest.mark.slow
def test_a_pt2_program_on_cuda_at_fp32_fp16_and_bf16(tmp_path: Path) -> None:
    pt2 = testing.export_pt2(testing.tiny_mlp(), tmp_path / "m.pt2", np.zeros((2, 64)))
    db = str(tmp_path / "pt2.duckdb")
    argv = ["profile", str(pt2), "--runtime", "torch", "--device", "cuda:0"]
    argv += ["--precision", "fp32,fp16,bf16", "--store", db, "--quick", "--repeats", "1"]
    assert cli.main(argv) == 0
    rows = _rows(db)
    assert sorted(str(r["precision"]) for r in rows) == ["bf16", "fp16", "fp32"]
    assert {r["device"] for r in rows} == {"cuda:0"} and {r["status"] for r in rows} == {"ok"}
