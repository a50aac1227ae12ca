"""Tests of host and device description: stable ids, /proc parsing, absent GPUs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from measure.devices import cpu_device, cuda_devices, device_for, host_info, parse_cpuinfo
from paretoscope.core.errors import InputError, UnavailableError

TWO_SOCKETS_WITH_SMT = "\n\n".join(
    f"processor\t: {cpu}\nmodel name\t: Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz\n"
    f"physical id\t: {cpu // 4}\ncore id\t\t: {(cpu % 4) // 2}\ncpu cores\t: 2"
    for cpu in range(8)
)
ARM_WITHOUT_CORE_IDS = (
    "processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\n\nHardware\t: BCM2835\n"
)


def test_parse_cpuinfo() -> None:
    assert parse_cpuinfo(TWO_SOCKETS_WITH_SMT) == (
        "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz",
        4,  # 8 logical CPUs, 2 sockets × 2 cores
    )
    assert parse_cpuinfo(ARM_WITHOUT_CORE_IDS) == ("BCM2835", None)
    assert parse_cpuinfo("") == (None, None)


def test_host_info_is_stable_and_plausible() -> None:
    a, b = host_info(), host_info()
    assert a == b
    assert re.fullmatch(r"[0-9a-f]{16}", a.host_id)
    assert a.cpu_cores_logical == os.cpu_count()
    assert a.cpu_cores_physical is None or 1 <= a.cpu_cores_physical <= a.cpu_cores_logical
    assert a.mem_total_mb > 100
    assert a.cpu_model and a.python_version.count(".") == 2


def test_host_info_survives_an_empty_proc(tmp_path: Path) -> None:
    info = host_info(proc_root=tmp_path)
    assert info.cpu_model and info.mem_total_mb > 0 and info.cpu_cores_physical is None


def test_cpu_device_id_is_per_host() -> None:
    host = host_info()
    dev = cpu_device(host)
    assert dev.device_id == f"{host.host_id}:cpu" and dev.kind == "cpu"
    assert device_for("cpu", host) == dev


def test_no_cuda_here_means_no_devices() -> None:
    pytest.importorskip("torch")
    import torch

    if torch.cuda.is_available():
        pytest.skip("this host has CUDA")
    host = host_info()
    assert cuda_devices(host) == []
    with pytest.raises(UnavailableError, match="cuda:0 requested"):
        device_for("cuda:0", host)


def test_cuda_devices_without_torch_is_empty() -> None:
    # A fresh interpreter where importing torch fails, as on a CPU-only
    # install without torch.
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from measure.devices import cuda_devices, host_info\n"
        "print(cuda_devices(host_info()))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("bad", ["tpu", "cuda:x", "gpu:0", ""])
def test_malformed_device_strings(bad: str) -> None:
    with pytest.raises(InputError, match="unknown device"):
        device_for(bad, host_info())
