"""`paretoscope runs` and `paretoscope frontier` over a store measured by the real demo."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from paretoscope.analysis.frontier import pareto_mask_bruteforce
from paretoscope.core.metrics import metric
from tests.cli.test_commands import run_cli
from tests.conftest import QuickDemo

pytestmark = pytest.mark.slow


def test_runs_cover_both_runtimes_precisions_and_batches(quick_demo: QuickDemo) -> None:
    code, out, _ = run_cli("runs", "--store", str(quick_demo.store.path))
    assert code == 0
    runs = pd.read_csv(io.StringIO(out))
    assert len(runs) >= 12
    assert set(runs["runtime"]) == {"ort", "torch"}
    assert {"fp32", "int8"} <= set(runs["precision"])
    assert runs["batch_size"].nunique() >= 2
    assert runs["accuracy"].between(0, 1).all()


@pytest.mark.parametrize(
    "metrics",
    [
        ["latency_ms_p50", "accuracy"],
        ["latency_ms_p99", "accuracy"],
        ["throughput_per_s", "accuracy"],
        ["peak_mem_mb", "accuracy"],
        ["model_size_mb", "accuracy"],
        ["latency_ms_p50", "accuracy", "peak_mem_mb"],
    ],
)
def test_frontier_equals_brute_force_over_runs(quick_demo: QuickDemo, metrics: list[str]) -> None:
    path = str(quick_demo.store.path)
    _, out, _ = run_cli("runs", "--store", path, "--format", "json")
    runs = pd.read_json(io.StringIO(out))
    vals = runs[metrics].to_numpy(dtype=float)
    expected = set(runs["run_id"][pareto_mask_bruteforce(vals, [metric(m).sign for m in metrics])])
    z = [a for m in metrics[2:] for a in ("--z", m)]
    code, out, _ = run_cli("frontier", "--x", metrics[0], "--y", metrics[1], *z, "--store", path)
    assert code == 0
    assert set(pd.read_csv(io.StringIO(out))["run_id"]) == expected
    assert expected  # a real frontier, not a vacuous equality
