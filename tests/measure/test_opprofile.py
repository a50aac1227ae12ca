"""Per-operator profiles (``--op-profile``) of real tiny models, ONNX Runtime and torch, on CPU."""

from __future__ import annotations

import dataclasses
import math

import pytest

from measure import testing
from measure.opprofile import (
    MAX_ITERS,
    MIN_ITERS,
    attach_op_profile,
    ort_node_times,
    profile_iterations,
    profile_ops,
    summarise,
)
from measure.profile import profile_run
from measure.worker import run_in_worker
from paretoscope.core.records import ArtifactRef, OpProfile, RunSpec

from .conftest import Zoo


def _spec(artifact: ArtifactRef, runtime: str, precision: str | None = None) -> RunSpec:
    return dataclasses.replace(
        testing.make_spec(artifact, runtime, precision=precision), op_profile=True
    )


def _check_profile(prof: OpProfile) -> set[str]:
    assert prof.ops, prof
    assert MIN_ITERS <= prof.iterations <= MAX_ITERS
    assert math.isclose(sum(op.share for op in prof.ops), 1.0, rel_tol=1e-9)
    shares = [op.share for op in prof.ops]
    assert shares == sorted(shares, reverse=True) or prof.others  # the rest row may be smaller
    assert all(op.calls >= 1 and op.total_ms > 0 for op in prof.ops)
    return {op.op for op in prof.ops}


def test_ort_fp32_and_int8_profiles_name_their_operators(zoo: Zoo) -> None:
    fp32 = profile_ops(_spec(zoo.onnx, "ort"), latency_ms=0.05)
    int8 = profile_ops(_spec(zoo.onnx_int8, "ort"), latency_ms=0.05)
    fp32_ops, int8_ops = _check_profile(fp32), _check_profile(int8)
    assert fp32.profiler.startswith("onnxruntime profiler")
    # fp32 runs float GEMMs; dynamic int8 quantizes activations and multiplies integers.
    assert fp32_ops & {"Gemm", "FusedGemm", "MatMul"}, fp32_ops
    assert int8_ops & {"DynamicQuantizeMatMul", "MatMulInteger", "DynamicQuantizeLinear"}
    assert not int8_ops & {"Gemm", "FusedGemm"}, int8_ops
    # Every profiled inference ran each layer once: calls are a multiple of the iterations.
    assert all(op.calls % fp32.iterations == 0 for op in fp32.ops)


def test_torch_fp32_and_int8_profiles_name_their_operators(zoo: Zoo) -> None:
    fp32 = profile_ops(_spec(zoo.state, "torch", "fp32"), latency_ms=0.05)
    int8 = profile_ops(_spec(zoo.state, "torch", "int8"), latency_ms=0.05)
    fp32_ops, int8_ops = _check_profile(fp32), _check_profile(int8)
    assert fp32.profiler == "torch.profiler: self CPU time"
    assert "aten::addmm" in fp32_ops or "aten::linear" in fp32_ops, fp32_ops
    assert any(op.startswith("quantized::") for op in int8_ops), int8_ops


def test_a_worker_run_with_op_profile_carries_it_and_its_timing_is_unchanged(zoo: Zoo) -> None:
    spec = dataclasses.replace(_spec(zoo.onnx_int8, "ort"), repeats=2)
    record = run_in_worker(spec)
    assert record.status == "ok", record.error
    assert record.op_profile is not None
    _check_profile(record.op_profile)
    # Two repeats, one profile: the first repeat's, kept by the combined record.
    assert record.latency is not None and record.latency.ci_scope == "between-repeats"
    plain = run_in_worker(dataclasses.replace(spec, run_id="plain", op_profile=False, repeats=1))
    assert plain.op_profile is None


def test_a_profile_that_cannot_be_made_leaves_the_run_ok_with_a_note(zoo: Zoo) -> None:
    record = profile_run(_spec(zoo.onnx, "ort"), accuracy=False)
    gone = dataclasses.replace(record.spec.artifact, path="/nonexistent/model.onnx")
    broken = dataclasses.replace(record, spec=dataclasses.replace(record.spec, artifact=gone))
    out = attach_op_profile(broken)
    assert out.status == "ok" and out.op_profile is None
    assert out.provenance is not None
    assert any(n.startswith("no operator profile: InputError") for n in out.provenance.notes)


def test_summarise_keeps_the_top_ops_and_the_rest_as_one() -> None:
    times = {f"op{i:02d}": (i, float(i)) for i in range(1, 21)}  # op20 the most time
    prof = summarise(times, profiler="p", iterations=4, top=5)
    assert [op.op for op in prof.ops[:5]] == ["op20", "op19", "op18", "op17", "op16"]
    assert prof.ops[-1].op == "15 other ops" and prof.others == 15
    assert prof.ops[-1].calls == sum(range(1, 16))
    assert math.isclose(sum(op.share for op in prof.ops), 1.0)
    assert math.isclose(prof.ops[0].total_ms, 20 / 1000.0)
    # One op past the top is kept by name, not as "1 other ops".
    six = summarise(dict(list(times.items())[:6]), profiler="p", iterations=1, top=5)
    assert len(six.ops) == 6 and six.others == 0
    # Ties are ordered by name; ops without time are dropped; no time at all: no ops.
    tie = summarise({"b": (1, 5.0), "a": (1, 5.0), "z": (3, 0.0)}, profiler="p", iterations=1)
    assert [op.op for op in tie.ops] == ["a", "b"]
    assert summarise({"z": (1, 0.0)}, profiler="p", iterations=1).ops == ()


def test_ort_node_times_skips_warmup_runs_and_names_other_providers() -> None:
    def run(ts: int) -> dict[str, object]:
        return {"cat": "Session", "name": "model_run", "ts": ts, "dur": 100}

    def node(ts: int, op: str, dur: int, provider: str = "CPUExecutionProvider") -> dict:
        args = {"op_name": op, "provider": provider}
        return {"cat": "Node", "name": f"n_{op}_kernel_time", "ts": ts, "dur": dur, "args": args}

    events = [
        run(0),
        node(10, "Gemm", 90),  # the warm-up run: skipped
        run(200),
        node(210, "Gemm", 5),
        node(220, "MatMul", 7, "CUDAExecutionProvider"),
        {"cat": "Node", "name": "n_Gemm_fence_before", "ts": 230, "dur": 50},
        node(1000, "Gemm", 40),  # outside every run (session initialisation): skipped
    ]
    assert ort_node_times(events, skip_runs=1) == {
        "Gemm": (1, 5.0),
        "MatMul (CUDAExecutionProvider)": (1, 7.0),
    }


@pytest.mark.parametrize(
    ("latency_ms", "iters"), [(None, MIN_ITERS), (0.0, MIN_ITERS), (1000.0, MIN_ITERS), (1.0, 100)]
)
def test_profile_iterations_aim_at_a_tenth_of_a_second(
    latency_ms: float | None, iters: int
) -> None:
    assert profile_iterations(latency_ms) == iters
    assert profile_iterations(1e-6) == MAX_ITERS
