"""Tests of host and device description: stable ids, /proc parsing, absent GPUs."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from measure.devices import (
    cpu_device,
    cuda_devices,
    device_for,
    host_fingerprint,
    host_info,
    machine_id,
    parse_cpuinfo,
)
from paretoscope.core.errors import InputError, UnavailableError
from tests.gpu.fake_nvml import FakeGpu, FakeNvml

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


def _fake_host(
    tmp_path: Path,
    name: str,
    *,
    mem_kb: int = 16_384_000,
    gpus: tuple[str, ...] = (),
    mid: str | None = "0123456789abcdef0123456789abcdef",
) -> tuple[Path, Path]:
    """A fake /proc and / for one host: CPU, memory, the NVIDIA driver's GPUs, a machine id."""
    proc, root = tmp_path / name / "proc", tmp_path / name / "root"
    proc.mkdir(parents=True)
    root.mkdir(parents=True)
    (proc / "cpuinfo").write_text(TWO_SOCKETS_WITH_SMT)
    (proc / "meminfo").write_text(f"MemTotal:       {mem_kb} kB\nMemFree:        1 kB\n")
    for i, gpu in enumerate(gpus):
        folder = proc / "driver/nvidia/gpus" / f"0000:{i:02x}:00.0"
        folder.mkdir(parents=True)
        (folder / "information").write_text(
            f"Model: \t\t {gpu}\nIRQ:   \t\t 42\nGPU UUID: \t GPU-{i}\n"
        )
    if mid is not None:
        (root / "etc").mkdir()
        (root / "etc/machine-id").write_text(mid + "\n")
    return proc, root


def _host_id(tmp_path: Path, name: str, **kwargs: object) -> str:
    proc, root = _fake_host(tmp_path, name, **kwargs)  # type: ignore[arg-type]
    return host_info(proc_root=proc, root=root, nvml=FakeNvml()).host_id


def test_host_id_is_a_fingerprint_of_the_hardware_and_machine_id(tmp_path: Path) -> None:
    proc, root = _fake_host(tmp_path, "a", gpus=("NVIDIA H100 80GB HBM3",) * 2)
    info = host_info(proc_root=proc, root=root, nvml=FakeNvml())
    assert info.gpus == ("NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3")
    assert info == host_info(proc_root=proc, root=root, nvml=FakeNvml())  # stable
    base = info.host_id
    # Memory reported a few MB differently (another kernel) is the same host.
    assert _host_id(tmp_path, "jitter", gpus=("NVIDIA H100 80GB HBM3",) * 2, mem_kb=16_380_000) == (
        base
    )
    # Anything that identifies the machine changes the id.
    assert _host_id(tmp_path, "one-gpu", gpus=("NVIDIA H100 80GB HBM3",)) != base
    assert _host_id(
        tmp_path, "more-mem", gpus=("NVIDIA H100 80GB HBM3",) * 2, mem_kb=64_000_000
    ) != (base)
    other_mid = "fedcba9876543210fedcba9876543210"
    assert _host_id(tmp_path, "clone", gpus=("NVIDIA H100 80GB HBM3",) * 2, mid=other_mid) != base


def test_the_hostname_is_not_part_of_the_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    proc, root = _fake_host(tmp_path, "a")
    first = host_info(proc_root=proc, root=root, nvml=FakeNvml())
    monkeypatch.setattr(socket, "gethostname", lambda: "renamed-box")
    renamed = host_info(proc_root=proc, root=root, nvml=FakeNvml())
    assert renamed.hostname == "renamed-box" != first.hostname
    assert renamed.host_id == first.host_id


def test_machine_id_falls_back_to_dbus_and_is_omitted_when_absent(tmp_path: Path) -> None:
    assert machine_id(tmp_path) is None
    (tmp_path / "var/lib/dbus").mkdir(parents=True)
    (tmp_path / "var/lib/dbus/machine-id").write_text("abc\n")
    assert machine_id(tmp_path) == "abc"
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/machine-id").write_text("")  # empty: as in some container images
    assert machine_id(tmp_path) == "abc"
    # Without a machine id the rest of the fingerprint still identifies the host.
    assert _host_id(tmp_path, "no-mid", mid=None) == _host_id(tmp_path, "no-mid-2", mid=None)
    assert _host_id(tmp_path, "no-mid-3", mid=None) != _host_id(tmp_path, "mid", mid="x")


def test_gpus_from_nvml_where_the_driver_lists_none_in_proc(tmp_path: Path) -> None:
    proc, root = _fake_host(tmp_path, "wsl")
    fake = FakeNvml(FakeGpu(name="NVIDIA L4"), FakeGpu(name="NVIDIA A10"))
    info = host_info(proc_root=proc, root=root, nvml=fake)
    assert info.gpus == ("NVIDIA L4", "NVIDIA A10")
    # The GPU set is a multiset: the order GPUs are enumerated in does not matter.
    swapped = FakeNvml(FakeGpu(name="NVIDIA A10"), FakeGpu(name="NVIDIA L4"))
    assert host_info(proc_root=proc, root=root, nvml=swapped).host_id == info.host_id
    assert host_fingerprint("cpu", 8, 16_000, (), None) != info.host_id
