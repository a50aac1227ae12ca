"""What a serving user pays: load time, the cold first run and end-to-end latency (real models)."""

from __future__ import annotations

import numpy as np
import pytest

from measure import testing
from measure.profile import profile_run
from measure.repeats import combine_repeats
from measure.runtimes import runtime_for
from measure.serving import measure_e2e, serving_stats
from paretoscope.core.records import RunRecord, ServingStats, from_dict, to_dict

from .conftest import Zoo


def _check_serving(record: RunRecord) -> None:
    assert record.status == "ok"
    serving, lat = record.serving, record.latency
    assert serving is not None and lat is not None
    assert serving.unavailable_reason is None
    # Milliseconds: a tiny MLP loads and runs well under a minute, and not in zero time.
    assert serving.load_ms is not None and 0 < serving.load_ms < 60_000
    assert serving.first_run_ms is not None and 0 < serving.first_run_ms < 60_000
    e2e = serving.e2e
    assert e2e is not None
    assert 0 < e2e.min_ms <= e2e.p50_ms <= e2e.p90_ms <= e2e.p99_ms <= e2e.max_ms < 1000
    assert e2e.ci_low_ms <= e2e.p50_ms <= e2e.ci_high_ms
    # The same harness and budget as the device-resident window, on the host clock.
    assert e2e.timer == "perf_counter_ns"
    assert e2e.warmup_iter == lat.warmup_iter == testing.QUICK_BUDGET.warmup_iters
    assert e2e.n_iter >= testing.QUICK_BUDGET.min_iters or e2e.stop_reason == "max_time"
    # JSON round trip, as a record crosses from the worker.
    assert from_dict(RunRecord, to_dict(record)).serving == serving


@pytest.mark.parametrize("which", ["onnx", "onnx_int8", "state", "pt2"])
def test_every_runtime_records_load_first_run_and_e2e(zoo: Zoo, which: str) -> None:
    artifact = getattr(zoo, which)
    runtime = "ort" if artifact.format == "onnx" else "torch"
    record = profile_run(testing.make_spec(artifact, runtime, dataset=zoo.dataset, batch_size=4))
    _check_serving(record)


def test_e2e_copies_every_output_back_to_numpy(zoo: Zoo) -> None:
    for artifact, runtime in ((zoo.onnx, "ort"), (zoo.state, "torch")):
        spec = testing.make_spec(artifact, runtime, batch_size=3)
        session = runtime_for(runtime).load(spec)
        assert session.load_ms is not None and session.load_ms > 0
        batch = {session.inputs[0].name: zoo.x_eval[:3].astype(np.float32)}
        out = session.e2e_step_fn(batch)()
        assert isinstance(out, list) and out, runtime
        assert all(isinstance(a, np.ndarray) for a in out)
        np.testing.assert_allclose(out[0], session.run(batch), rtol=1e-5, atol=1e-6)
        session.close()


def test_a_failing_e2e_path_leaves_a_reason_not_a_failed_run(zoo: Zoo) -> None:
    spec = testing.make_spec(zoo.onnx, "ort", batch_size=2)
    session = runtime_for("ort").load(spec)
    e2e, reason = measure_e2e(session, {"wrong-name": np.zeros((2, 64), np.float32)}, spec.budget)
    assert e2e is None and reason is not None and "missing model inputs" in reason
    stats = serving_stats(1.0, 2.0, e2e, reason)
    assert stats.load_ms == 1.0 and stats.unavailable_reason == reason


def test_old_records_have_no_serving_figures(zoo: Zoo) -> None:
    spec = testing.make_spec(zoo.onnx, "ort")
    data = to_dict(RunRecord(spec.run_id, spec, "failed", "", "", error="x"))
    data.pop("serving")
    assert from_dict(RunRecord, data).serving is None
    assert ServingStats().unavailable_reason is None


def test_repeats_combine_e2e_and_keep_the_first_load(zoo: Zoo) -> None:
    records = [profile_run(testing.make_spec(zoo.onnx, "ort", batch_size=2)) for _ in range(2)]
    combined = combine_repeats(records)
    assert combined.serving is not None and records[0].serving is not None
    assert combined.serving.load_ms == records[0].serving.load_ms
    assert combined.serving.e2e is not None
    assert combined.serving.e2e.ci_scope == "between-repeats"
    assert len(combined.serving.e2e.repeats) == 2
