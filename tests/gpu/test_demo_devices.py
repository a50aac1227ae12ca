"""`paretoscope demo --device`: what the demo plans on a GPU, and a clear refusal without one."""

from __future__ import annotations

from collections import Counter

import pytest

from measure import zoo
from measure.datasets import eval_dataset_id
from paretoscope.core.errors import InputError
from paretoscope.profiling.demo import _check_devices, _plan
from tests.gpu.conftest import cuda_available


def _counts(devices: list[str], *, ort_gpu: bool) -> Counter[tuple[str, str, str]]:
    entries = zoo.zoo_entries(quick=True)
    plan = _plan(entries, zoo.TrainConfig(), eval_dataset_id(), devices, ort_gpu=ort_gpu)
    return Counter((p.device, p.runtime, p.precision) for p in plan)


def test_gpu_plan_has_torch_half_precisions_and_ort() -> None:
    n = len(zoo.zoo_entries(quick=True)) * 2  # two batch sizes
    counts = _counts(["cpu", "cuda:0"], ort_gpu=True)
    assert counts[("cpu", "torch", "int8")] == n
    assert counts[("cuda:0", "torch", "int8")] == 0  # torch's int8 is CPU-only
    for precision in ("fp32", "fp16", "bf16"):
        assert counts[("cuda:0", "torch", precision)] == n
    assert counts[("cuda:0", "ort", "fp32")] == counts[("cuda:0", "ort", "int8")] == n


def test_without_ort_cuda_the_gpu_plan_is_torch_only() -> None:
    counts = _counts(["cuda:0"], ort_gpu=False)
    assert {rt for (_, rt, _) in counts} == {"torch"}


def test_cpu_is_the_default_plan_unchanged() -> None:
    counts = _counts(["cpu"], ort_gpu=True)
    assert {d for (d, _, _) in counts} == {"cpu"}
    assert len(counts) == 4  # ort and torch, fp32 and int8


def test_cuda_on_a_host_without_a_gpu_is_refused() -> None:
    if cuda_available():
        pytest.skip("this host has a GPU")
    with pytest.raises(InputError, match="cannot run the demo on cuda:0"):
        _check_devices(["cpu", "cuda"])


def test_cpu_only_needs_no_gpu_check() -> None:
    assert _check_devices(["cpu", "cpu"]) == (["cpu"], [])
