"""Serving scenarios on a GPU (issue 16): offline and server for torch and ONNX Runtime on cuda:0.

The ~1 ms CPU model is a few tens of microseconds on a GPU, so the server
scenario's rates run into the thousands per second: p99 must still rise from
the lowest offered rate to the highest, the reported maximum must have met
its bound again, and offline throughput must grow beyond batch 1.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from measure import testing
from measure.worker import run_in_worker
from paretoscope.core.scenarios import parse_scenarios, scenario_request
from tests.gpu.conftest import cuda_available, ort_has_cuda

pytestmark = pytest.mark.gpu


@pytest.mark.parametrize("runtime", ["ort", "torch"])
def test_scenarios_on_cuda(tmp_path: Path, runtime: str) -> None:
    if not cuda_available():
        pytest.skip("no CUDA GPU here")
    if runtime == "ort" and not ort_has_cuda():
        pytest.skip("onnxruntime has no CUDA provider here")
    art = testing.millisecond_mlp_onnx(tmp_path / "ms.onnx")
    if runtime == "torch":
        testing.save_state(testing.tiny_mlp(1024, 4096), tmp_path / "ms.pt")
        art = testing.artifact_ref(
            tmp_path / "ms.pt", "torch-state", builder="measure.testing:tiny_mlp",
            builder_kwargs={"in_features": 1024, "hidden": 4096},
        )  # fmt: skip
    spec = dataclasses.replace(
        testing.make_spec(art, runtime, timeout_s=300.0),
        device="cuda:0",
        scenarios=scenario_request(parse_scenarios("offline,server"), server_p99_ms=10.0),
    )
    rec = run_in_worker(spec)
    assert rec.status == "ok", rec.error
    assert rec.scenarios is not None
    off, server = rec.scenarios.offline, rec.scenarios.server
    assert off is not None and off.throughput_per_s is not None, off
    assert off.best_batch is not None and off.best_batch > 1
    assert server is not None and server.max_qps_at_p99 is not None, server
    stepping = [s for s in server.steps if not s.confirm]
    low = min(stepping, key=lambda s: s.offered_qps)
    high = max(stepping, key=lambda s: s.offered_qps)
    assert high.p99_ms > low.p99_ms
    assert any(s.confirm and s.met for s in server.steps if s.offered_qps == server.max_qps_at_p99)
    print(
        runtime, server.service_ms_p50, server.max_qps_at_p99, off.best_batch, off.throughput_per_s
    )
