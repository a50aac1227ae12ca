"""``paretoscope check`` on real measurements: a slowed model fails, an unchanged one passes.

The models are tiny real ONNX graphs measured by ``paretoscope profile`` in
worker processes. The slowed model does ~100x the work of the fast one under
the same name (a 1024-wide stack of MatMuls), so the slowdown is far beyond
the noise of a shared 2-core machine; the unchanged re-measurement is checked
with a generous tolerance (50%), because load from other processes between
two measurements moves a median by tens of percent there.
"""

from __future__ import annotations

import io
import json
import sqlite3
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from paretoscope.cli import main
from store import Store
from tests.factories import make_record

NAME = "gate-model"


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _model(path: Path, hidden: int, layers: int) -> Path:
    """``x [batch, 64] → MatMul(64×h) → (Relu → MatMul(h×h)) × layers → MatMul(h×10)``."""
    rng = np.random.default_rng(0)
    weights = {"w_in": rng.standard_normal((64, hidden)).astype(np.float32) * 0.1}
    nodes = [helper.make_node("MatMul", ["x", "w_in"], ["h0"])]
    for i in range(layers):
        weights[f"w{i}"] = rng.standard_normal((hidden, hidden)).astype(np.float32) * 0.01
        nodes.append(helper.make_node("Relu", [f"h{i}"], [f"r{i}"]))
        nodes.append(helper.make_node("MatMul", [f"r{i}", f"w{i}"], [f"h{i + 1}"]))
    weights["w_out"] = rng.standard_normal((hidden, 10)).astype(np.float32) * 0.1
    nodes.append(helper.make_node("MatMul", [f"h{layers}", "w_out"], ["logits"]))
    graph = helper.make_graph(
        nodes,
        "gate",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
        [numpy_helper.from_array(v, k) for k, v in weights.items()],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def _profile(db: Path, model: Path) -> None:
    argv = ["profile", str(model), "--name", NAME, "--store", str(db), "--quick"]
    code, _, err = run_cli(*argv, "--repeats", "3")
    assert code == 0, err


@pytest.fixture(scope="module")
def measured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("gate")
    fast = _model(tmp / "fast.onnx", hidden=16, layers=1)
    slow = _model(tmp / "slow.onnx", hidden=1024, layers=3)
    paths = {k: tmp / f"{k}.duckdb" for k in ("baseline", "same", "slowed")}
    _profile(paths["baseline"], fast)
    _profile(paths["same"], fast)
    _profile(paths["slowed"], slow)
    paths["bundle"] = tmp / "baseline.parquet"
    code, _, err = run_cli(
        "export", "--store", str(paths["baseline"]), "--out", str(paths["bundle"])
    )
    assert code == 0, err
    return paths


def test_slowed_model_is_a_regression_naming_the_metric(measured: dict[str, Path]) -> None:
    bundle, slowed = str(measured["bundle"]), str(measured["slowed"])
    code, out, err = run_cli("check", "--baseline", bundle, "--store", slowed,
                             "--tolerance", "latency_ms_p50=+50%")  # fmt: skip
    assert code == 1, err
    assert "regression in" in err and "latency_ms_p50" in err
    code, out, _ = run_cli("check", "--baseline", bundle, "--against", slowed, "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["exit_status"] == 1 and len(report["matched"]) == 1
    p50 = next(r for r in report["regressions"] if r["metric"] == "latency_ms_p50")
    assert p50["change_pct"] > 200 and p50["ci_low_pct"] > 0 and p50["significant"] is True
    assert p50["test"] == "ratio-ci" and p50["unit"] == "ms"


def test_unchanged_remeasurement_passes(measured: dict[str, Path]) -> None:
    for baseline in (measured["bundle"], measured["baseline"]):  # a bundle, or a store file
        code, out, err = run_cli("check", "--baseline", str(baseline), "--store",
                                 str(measured["same"]), "--tolerance", "latency_ms_p50=+50%",
                                 "--tolerance", "throughput_per_s=-50%")  # fmt: skip
        assert code == 0, out + err
        assert "1 configuration(s) matched" in out


def test_markdown_report(measured: dict[str, Path]) -> None:
    code, out, _ = run_cli("check", "--baseline", str(measured["bundle"]), "--store",
                           str(measured["slowed"]), "--format", "md")  # fmt: skip
    assert code == 1
    assert out.startswith("### Paretoscope regression check: **Regression**")
    assert (
        "| Configuration |" in out
        and "| `latency_ms_p50 (ms)` |" in out
        and "**regression**" in out
    )


def test_baseline_store_is_not_written(measured: dict[str, Path]) -> None:
    before = measured["baseline"].read_bytes()
    code, _, err = run_cli("check", "--baseline", str(measured["baseline"]), "--store",
                           str(measured["same"]), "--tolerance", "latency_ms_p50=50%",
                           "--tolerance", "throughput_per_s=50%")  # fmt: skip
    assert code == 0, err
    assert measured["baseline"].read_bytes() == before


@pytest.mark.parametrize(
    ("tolerance", "needle"),
    [
        ("latency_ms_p50", "takes METRIC=AMOUNT"),
        ("nonsense_ms=5%", "unknown metric 'nonsense_ms'"),
        ("latency_ms_p50=fast", "'fast' is not a number"),
        ("latency_ms_p50=-5%", "write latency_ms_p50=+5%"),
        ("accuracy=+1%", "write accuracy=-1%"),
    ],
)
def test_bad_tolerance_is_exit_2(tmp_path: Path, tolerance: str, needle: str) -> None:
    missing = str(tmp_path / "b.parquet")
    argv = ["--store", str(tmp_path / "s.duckdb"), "--tolerance", tolerance]
    code, out, err = run_cli("check", "--baseline", missing, *argv)
    assert code == 2 and needle in err and out == ""


def test_unreadable_baselines_are_exit_2(tmp_path: Path) -> None:
    store = str(tmp_path / "s.duckdb")
    Store(store).ingest(make_record())
    text = tmp_path / "notes.txt"
    text.write_text("hello\n")
    lite = tmp_path / "other.sqlite"
    sqlite3.connect(lite).execute("CREATE TABLE t (x)").connection.close()
    foreign = tmp_path / "other.duckdb"
    import duckdb

    duckdb.connect(str(foreign)).execute("CREATE TABLE orders (id INT)").close()
    fake = tmp_path / "fake.parquet"
    import pandas as pd

    pd.DataFrame({"x": [1]}).to_parquet(fake)
    cases = [
        (tmp_path / "missing.parquet", "no baseline at"),
        (text, "a text file, not a DuckDB database"),
        (lite, "a SQLite database"),
        (foreign, "another application (tables: orders)"),
        (fake, "not a Paretoscope result bundle"),
    ]
    for path, needle in cases:
        code, _, err = run_cli("check", "--baseline", str(path), "--store", store)
        assert code == 2, (path, err)
        assert needle in err, (path, err)
    assert not (tmp_path / "other.duckdb.files").exists()


def test_a_missing_current_store_is_exit_2_and_not_created(tmp_path: Path) -> None:
    base = tmp_path / "a.duckdb"
    Store(base).ingest(make_record())
    code, _, err = run_cli("check", "--baseline", str(base), "--store", str(tmp_path / "typo"))
    assert code == 2 and "no current store at" in err
    assert not (tmp_path / "typo").exists()


def test_nothing_matched_passes_and_says_so(tmp_path: Path) -> None:
    a, b = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    Store(a).ingest(make_record(model="one"))
    Store(b).ingest(make_record(model="two"))
    code, out, err = run_cli("check", "--baseline", str(a), "--store", str(b))
    assert code == 0
    assert "0 configuration(s) matched" in out and "Nothing to compare" in out
    assert "nothing matched the baseline" in err
    code, _, err = run_cli("check", "--baseline", str(a), "--store", str(b), "--require-match")
    assert code == 1 and "no run in the current store" in err
