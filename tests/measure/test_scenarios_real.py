"""Scenarios of a real ~1 ms ONNX model, measured in one worker process on the real clock.

On a shared 2-core machine adjacent rates can swap their p99s, so the
assertions compare the lowest offered rate with the highest; speed itself is
in benchmarks/server_scenario.py.
"""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pytest

from measure import testing
from measure.worker import run_in_worker
from paretoscope.core.records import RunRecord
from paretoscope.core.scenarios import parse_scenarios, scenario_request

# Generous: on a shared 2-core machine the worker can lose its core for tens of ms
# at any rate; only a queue that grows fails this bound.
BOUND_MS = 200.0


@pytest.fixture(scope="module")
def record(tmp_path_factory: pytest.TempPathFactory) -> RunRecord:
    art = testing.millisecond_mlp_onnx(tmp_path_factory.mktemp("ms") / "ms.onnx")
    spec = testing.make_spec(art, "ort", name="ms-mlp", timeout_s=240.0)
    request = scenario_request(
        parse_scenarios("offline,server"), server_p99_ms=BOUND_MS, offline_max_batch=16
    )
    return run_in_worker(dataclasses.replace(spec, scenarios=request))


def test_the_server_scenario_p99_rises_with_the_offered_rate(record: RunRecord) -> None:
    assert record.status == "ok", record.error
    assert record.scenarios is not None and record.scenarios.server is not None
    server = record.scenarios.server
    assert server.unavailable_reason is None, server.unavailable_reason
    assert server.p99_bound_ms == BOUND_MS and server.service_ms_p50 is not None
    # ~1 ms on the busy VM it was written on; 0.19 ms on a faster one (2026-12-05)
    assert 0.02 < server.service_ms_p50 < 20
    stepping = [s for s in server.steps if not s.confirm]
    low = min(stepping, key=lambda s: s.offered_qps)
    high = max(stepping, key=lambda s: s.offered_qps)
    assert high.offered_qps >= 2 * low.offered_qps
    assert high.p99_ms > low.p99_ms  # queueing grows with the load
    assert not high.met  # stepping stops at the first rate that misses the bound
    assert low.met and low.n_served == low.n_requests >= 20


def test_the_reported_maximum_met_its_bound_when_measured_again(record: RunRecord) -> None:
    assert record.scenarios is not None and record.scenarios.server is not None
    server = record.scenarios.server
    assert server.max_qps_at_p99 is not None, server.unavailable_reason
    at_max = [s for s in server.steps if s.offered_qps == server.max_qps_at_p99]
    assert any(s.confirm and s.met and s.p99_ms <= BOUND_MS for s in at_max)
    assert any(not s.confirm and s.met for s in at_max)  # met while stepping up, too


def test_the_offline_scenario_keeps_its_best_batch(record: RunRecord) -> None:
    assert record.scenarios is not None and record.scenarios.offline is not None
    off = record.scenarios.offline
    assert off.throughput_per_s is not None and off.best_batch is not None
    sizes = [p.batch_size for p in off.points]
    assert sizes[0] == 1 and all(b == 2 * a for a, b in itertools.pairwise(sizes))
    assert max(sizes) <= 16
    best = max(off.points, key=lambda p: p.throughput_per_s)
    assert (best.batch_size, best.throughput_per_s) == (off.best_batch, off.throughput_per_s)


def test_a_run_without_scenarios_has_none(tmp_path: Path) -> None:
    art = testing.millisecond_mlp_onnx(tmp_path / "ms.onnx")
    rec = run_in_worker(testing.make_spec(art, "ort"))
    assert rec.status == "ok" and rec.scenarios is None and rec.spec.scenarios is None
