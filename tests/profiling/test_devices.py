"""Profiles on devices: ``--device`` resolution, the device × runtime × precision sweep, refusals.

This host has no GPU: a GPU is faked only at the hardware boundary (the
device list the driver gives, onnxruntime's provider list); what a GPU
run would measure is in tests/gpu/test_profile_devices.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from measure import testing
from paretoscope import cli
from paretoscope.core.errors import InputError
from paretoscope.profiling import devices, plan_profile, run_profile
from paretoscope.profiling.request import SweepPoint, sweep_text
from store import Store

from .conftest import Models, request_for

CPU_ONLY_ORT = ("AzureExecutionProvider", "CPUExecutionProvider")


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host whose driver lists one GPU, with a CPU-only onnxruntime (the hardware boundary)."""
    monkeypatch.setattr(devices, "offered_devices", lambda: ("cpu", "cuda:0"))
    monkeypatch.setattr(devices, "ort_providers", lambda: CPU_ONLY_ORT)


def test_offered_devices_follow_the_driver_and_cuda_visible_devices() -> None:
    assert devices.offered_devices(gpus=(), env={}) == ("cpu",)
    two = ("NVIDIA H200", "NVIDIA H200")
    assert devices.offered_devices(gpus=two, env={}) == ("cpu", "cuda:0", "cuda:1")
    assert devices.offered_devices(gpus=two, env={"CUDA_VISIBLE_DEVICES": "1"}) == ("cpu", "cuda:0")
    assert devices.offered_devices(gpus=two, env={"CUDA_VISIBLE_DEVICES": ""}) == ("cpu",)
    assert devices.offered_devices(gpus=two, env={"CUDA_VISIBLE_DEVICES": "-1"}) == ("cpu",)


def test_resolve_devices_expands_all_and_cuda_and_keeps_the_order_asked() -> None:
    offered = ("cpu", "cuda:0", "cuda:1")
    assert devices.resolve_devices(["all"], offered) == offered
    assert devices.resolve_devices(["cuda", "cpu", "cuda:0"], offered) == ("cuda:0", "cpu")
    assert devices.resolve_devices(["CPU", "all"], offered) == offered
    assert devices.resolve_devices(["all"], ("cpu",)) == ("cpu",)


def test_resolve_devices_refuses_what_the_host_lacks_and_says_what_it_has() -> None:
    with pytest.raises(InputError, match=r"cuda:0.*no CUDA GPU, only cpu"):
        devices.resolve_devices(["cpu", "cuda:0"], ("cpu",))
    with pytest.raises(InputError, match=r"cuda:2.*its devices are cpu, cuda:0"):
        devices.resolve_devices(["cuda:2"], ("cpu", "cuda:0"))
    with pytest.raises(InputError, match="unknown device 'tpu'"):
        devices.resolve_devices(["tpu"], ("cpu",))


def test_unavailable_reasons_name_the_fix() -> None:
    reason = devices.unavailable_reason("ort", "fp32", "cuda:0", CPU_ONLY_ORT)
    assert reason is not None
    assert "no CUDA provider" in reason and "install onnxruntime-gpu" in reason
    with_cuda = ("CUDAExecutionProvider", "CPUExecutionProvider")
    assert devices.unavailable_reason("ort", "int8", "cuda:0", with_cuda) is None
    assert devices.unavailable_reason("ort", "fp32", "cpu", CPU_ONLY_ORT) is None
    assert "CPU only" in (devices.unavailable_reason("torch", "int8", "cuda:1", ()) or "")
    assert devices.unavailable_reason("torch", "int8", "cpu", ()) is None
    assert "torch only" in (devices.unavailable_reason("ort", "bf16", "cpu", ()) or "")
    assert devices.unavailable_reason("torch", "bf16", "cuda:0", ()) is None


def test_labels_and_sweep_text_name_a_device_other_than_cpu() -> None:
    point = SweepPoint("ort", "int8", 8, 1, {"seq": 16}, device="cuda:1")
    assert point.label == "ort int8 · cuda:1 · batch 8 · 1 thread · seq=16"
    # A cpu run's label is the one stored before devices existed: Run again still matches.
    assert SweepPoint("ort", "int8", 8, 1).label == "ort int8 · batch 8 · 1 thread"
    request = request_for(Path("m.onnx"), devices=("cpu", "cuda:0"), precisions=("fp32",))
    assert sweep_text(request) == "cpu, cuda:0 · fp32 · batch 1"


def test_every_device_gets_every_precision_and_a_missing_provider_is_a_reason(
    models: Models, store: Store, fake_gpu: None
) -> None:
    request = request_for(
        models.classifier,
        data_path=str(models.eval_npz),
        devices=("cpu", "cuda:0"),
        precisions=("fp32", "fp16", "int8"),
    )
    plan = plan_profile(store, request)
    combos = [(p.device, p.precision) for p in plan.sweep]
    assert combos == [(d, p) for d in ("cpu", "cuda:0") for p in ("fp32", "fp16", "int8")]
    assert [p.unavailable for p in plan.sweep if p.device == "cpu"] == ["", "", ""]
    for p in plan.sweep:
        if p.device == "cuda:0":
            assert "no CUDA provider here" in p.unavailable
            assert "install onnxruntime-gpu" in p.unavailable
    # Each variant is made once, for every device.
    assert sorted(v.precision for v in plan.variants) == ["fp16", "int8"]


def test_impossible_combinations_are_one_failed_run_each_with_the_reason(
    models: Models, store: Store, fake_gpu: None
) -> None:
    request = request_for(models.classifier, devices=("cpu", "cuda:0"), precisions=("fp32", "int8"))
    summary = run_profile(store, request)
    assert (summary.n_planned, summary.n_ok, summary.n_failed) == (4, 2, 2)
    frame = store.runs_frame(status=None)
    assert len(frame) == 4
    rows = {(r["device"], r["precision"]): r for r in frame.to_dict("records")}
    assert set(rows) == {(d, p) for d in ("cpu", "cuda:0") for p in ("fp32", "int8")}
    for precision in ("fp32", "int8"):
        assert rows[("cpu", precision)]["status"] == "ok"
        failed = rows[("cuda:0", precision)]
        assert failed["status"] == "failed"
        assert "install onnxruntime-gpu" in failed["error"]


def test_with_the_cuda_provider_nothing_is_refused_in_advance(
    models: Models, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(devices, "offered_devices", lambda: ("cpu", "cuda:0"))
    monkeypatch.setattr(devices, "ort_providers", lambda: ("CUDAExecutionProvider", "CPU"))
    request = request_for(models.classifier, devices=("all",), precisions=("fp32", "int8"))
    plan = plan_profile(store, request)
    assert plan.request.devices == ("cpu", "cuda:0")
    assert len(plan.sweep) == 4 and not any(p.unavailable for p in plan.sweep)


def test_device_all_here_is_the_cpu(models: Models, store: Store) -> None:
    plan = plan_profile(store, request_for(models.classifier, devices=("all",)))
    assert plan.request.devices == devices.offered_devices()
    if devices.offered_devices() == ("cpu",):
        assert [p.device for p in plan.sweep] == ["cpu"]


def test_cli_cuda_here_fails_with_one_message_and_stores_nothing(
    models: Models, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if devices.offered_devices() != ("cpu",):
        pytest.skip("this host has a GPU")
    db = tmp_path / "cli.duckdb"
    argv = ["profile", str(models.classifier), "--store", str(db), "--quick", "--repeats", "1"]
    assert cli.main(argv) == 0
    files = sorted(p for p in Path(f"{db}.files").rglob("*") if p.is_file())
    capsys.readouterr()
    assert cli.main([*argv, "--device", "cuda:0", "--precision", "fp32,int8"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err  # one line, no traceback
    assert err.startswith("paretoscope profile: cannot profile on cuda:0")
    assert "no CUDA GPU" in err
    assert Store(db).run_count() == 1
    assert sorted(p for p in Path(f"{db}.files").rglob("*") if p.is_file()) == files


def test_an_unknown_device_is_refused_before_anything_is_read(
    store: Store, unchanged: Callable[[], None]
) -> None:
    with pytest.raises(InputError, match="unknown device 'gpu0'"):
        plan_profile(store, request_for(Path("no-such-model.onnx"), devices=("gpu0",)))
    unchanged()


@pytest.mark.slow  # torch.export takes seconds
def test_a_pt2_program_runs_in_torch_at_fp32_fp16_and_bf16(store: Store, tmp_path: Path) -> None:
    pt2 = testing.export_pt2(testing.tiny_mlp(), tmp_path / "mlp.pt2", np.zeros((2, 64)))
    request = request_for(pt2, runtimes=("torch",), precisions=("fp32", "fp16", "bf16"))
    summary = run_profile(store, request)
    assert summary.ok and summary.n_ok == 3, summary
    records = store.records(summary.run_ids)
    assert sorted(r.spec.precision for r in records) == ["bf16", "fp16", "fp32"]
    assert {r.spec.artifact.format for r in records} == {"pt2"}
    assert {r.spec.model.model_id for r in records} == {summary.model_id}


def test_bf16_is_refused_without_the_torch_runtime(store: Store) -> None:
    with pytest.raises(InputError, match="bf16 runs in torch only"):
        plan_profile(store, request_for(Path("m.onnx"), precisions=("fp32", "bf16")))
