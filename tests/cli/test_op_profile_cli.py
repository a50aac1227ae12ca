"""``paretoscope profile --op-profile``: the flag reaches every run; queued requests keep it."""

from __future__ import annotations

from pathlib import Path

from measure import testing
from paretoscope.core.records import from_dict, to_dict
from paretoscope.profiling.request import ProfileRequest, sweep_text
from store import Store
from tests.cli.test_commands import run_cli


def _profile(tmp_path: Path, *extra: str) -> Store:
    x = testing.digits_split()[2]
    model = testing.export_onnx(testing.tiny_mlp(hidden=128), tmp_path / "mlp.onnx", x[:2])
    db = tmp_path / "s.duckdb"
    argv = ["profile", str(model), "--precision", "fp32,int8", "--quick", "--store", str(db)]
    code, _, err = run_cli(*argv, *extra)
    assert code == 0, err
    return Store(db)


def test_op_profile_gives_every_run_its_operator_profile(tmp_path: Path) -> None:
    store = _profile(tmp_path, "--op-profile")
    records = {r.spec.precision: r for r in store.records()}
    assert set(records) == {"fp32", "int8"}
    for rec in records.values():
        assert rec.status == "ok" and rec.spec.op_profile
        assert rec.op_profile is not None and rec.op_profile.ops
    int8_ops = {op.op for op in records["int8"].op_profile.ops}  # type: ignore[union-attr]
    fp32_ops = {op.op for op in records["fp32"].op_profile.ops}  # type: ignore[union-attr]
    assert int8_ops & {"DynamicQuantizeMatMul", "MatMulInteger", "DynamicQuantizeLinear"}
    assert fp32_ops & {"Gemm", "FusedGemm", "MatMul"}


def test_without_the_flag_no_run_is_profiled(tmp_path: Path) -> None:
    store = _profile(tmp_path)
    assert [r.op_profile for r in store.records()] == [None, None]
    assert store.query("SELECT count(*) AS n FROM op_profiles")["n"][0] == 0


def test_a_queued_request_keeps_the_flag_and_its_title_says_so() -> None:
    request = ProfileRequest(model_path="m.onnx", op_profile=True)
    assert from_dict(ProfileRequest, to_dict(request)).op_profile is True
    old_job = {k: v for k, v in to_dict(request).items() if k != "op_profile"}
    assert from_dict(ProfileRequest, old_job).op_profile is False
    assert sweep_text(request).endswith("op profile")
    assert "op profile" not in sweep_text(ProfileRequest(model_path="m.onnx"))
