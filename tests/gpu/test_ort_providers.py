"""ONNX Runtime on CUDA: provider detection and the recording of nodes placed on the CPU.

These run everywhere: where onnxruntime has no CUDA provider they check the
refusal, and the placement report is checked on what the CPU build places.
"""

from __future__ import annotations

import dataclasses

import onnxruntime as ort
import pytest

from measure import testing
from measure.runtimes.ort import (
    ASSIGNMENT_CONFIG_KEY,
    OrtRuntime,
    node_placement,
    placement_notes,
)
from paretoscope.core.errors import UnavailableError
from tests.gpu.conftest import GpuZoo, ort_has_cuda


def test_cuda_without_the_provider_is_refused_with_the_fix(gpu_zoo: GpuZoo) -> None:
    if ort_has_cuda():
        pytest.skip("this onnxruntime has the CUDA provider")
    spec = dataclasses.replace(testing.make_spec(gpu_zoo.onnx, "ort"), device="cuda:0")
    with pytest.raises(UnavailableError, match="install onnxruntime-gpu"):
        OrtRuntime().load(spec)


def test_placement_is_read_from_the_session(gpu_zoo: GpuZoo) -> None:
    options = ort.SessionOptions()
    options.add_session_config_entry(ASSIGNMENT_CONFIG_KEY, "1")
    session = ort.InferenceSession(
        gpu_zoo.onnx_int8.path, options, providers=["CPUExecutionProvider"]
    )
    placement = node_placement(session)
    assert placement is not None
    assert set(placement) == {"CPUExecutionProvider"}
    assert "MatMulInteger" in placement["CPUExecutionProvider"]


def test_placement_without_the_option_is_none(gpu_zoo: GpuZoo) -> None:
    session = ort.InferenceSession(gpu_zoo.onnx.path, providers=["CPUExecutionProvider"])
    assert node_placement(session) is None


def test_nodes_left_on_the_cpu_are_noted() -> None:
    placement = {
        "CUDAExecutionProvider": ["MatMul", "Add", "Relu"],
        "CPUExecutionProvider": ["DynamicQuantizeLinear", "MatMulInteger", "MatMulInteger"],
    }
    env, notes = placement_notes(placement, "CUDAExecutionProvider")
    assert env == {"ort_nodes_CPUExecutionProvider": "3", "ort_nodes_CUDAExecutionProvider": "3"}
    (note,) = notes
    assert "placed 3 of 6 nodes on CPUExecutionProvider" in note
    assert "DynamicQuantizeLinear, MatMulInteger ×2" in note


def test_all_on_the_gpu_needs_no_note() -> None:
    env, notes = placement_notes({"CUDAExecutionProvider": ["Gemm"]}, "CUDAExecutionProvider")
    assert notes == [] and env == {"ort_nodes_CUDAExecutionProvider": "1"}


def test_unknown_placement_is_said_not_hidden() -> None:
    env, notes = placement_notes(None, "CUDAExecutionProvider")
    assert env["ort_node_placement"].startswith("not recorded")
    assert notes and "would go unnoticed" in notes[0]
