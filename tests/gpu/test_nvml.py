"""NVML discovery, GPU state and the energy meter, over a fake pynvml (no GPU needed)."""

from __future__ import annotations

import pytest

from measure.devices import nvml as nv
from measure.energy import NullMeter, energy_meter_for
from measure.energy.nvml import NvmlMeter, probe_update_period_s
from tests.gpu.fake_nvml import FakeGpu, FakeNvml


def test_gpu_info_reads_versions_limits_and_capability() -> None:
    fake = FakeNvml()
    info = nv.gpu_info(fake, nv.handle_for(fake, 0))
    assert info["name"] == "NVIDIA H100 80GB HBM3"
    assert info["driver_version"] == "580.159.04"
    assert info["cuda_driver_version"] == "13.0"
    assert info["compute_capability"] == "9.0"
    assert info["power_limit_w"] == 700.0
    assert info["memory_mb"] == pytest.approx(85_520.809984)
    extra = nv.device_extra(info)
    assert "name" not in extra and extra["power_limit_w"] == 700.0


def test_handle_by_uuid_survives_reordering() -> None:
    a, b = FakeGpu(uuid="GPU-aaaa"), FakeGpu(uuid="GPU-bbbb")
    fake = FakeNvml(a, b)
    # torch calls it cuda:0 (CUDA_VISIBLE_DEVICES=1) but NVML's index is 1.
    assert nv.handle_for(fake, 0, "bbbb") == 1
    assert nv.handle_for(fake, 0, "GPU-bbbb") == 1
    assert nv.handle_for(fake, 1, None) == 1


def test_missing_functions_leave_fields_out() -> None:
    class Partial:
        def nvmlDeviceGetName(self, handle: object) -> bytes:
            return b"Old GPU"

    info = nv.gpu_info(Partial(), 0)
    assert info == {"name": "Old GPU"}


def test_gpu_state_records_clocks_temperature_power() -> None:
    fake = FakeNvml()
    env, warnings = nv.gpu_state(fake, 0, own_pids={1})
    assert env["gpu_sm_clock_mhz"] == "1755"
    assert env["gpu_temperature_c"] == "41"
    assert env["gpu_power_limit_w"] == "700"
    assert env["gpu_power_draw_w"] == "120.0"
    assert env["gpu_pstate"] == "P0"
    assert env["gpu_other_processes"] == "0"
    assert warnings == []


def test_other_processes_on_the_gpu_give_a_warning() -> None:
    fake = FakeNvml(FakeGpu(processes=[(4242, 2_000_000_000), (77, 1_000_000)]))
    env, warnings = nv.gpu_state(fake, 0, own_pids={77})
    assert env["gpu_other_processes"] == "1"
    (warning,) = warnings
    assert "pid 4242 (2000 MB)" in warning and "latency and energy may be off" in warning


def test_probe_finds_the_counter_period() -> None:
    fake = FakeNvml(FakeGpu(energy_period_s=0.02))
    handle = nv.handle_for(fake, 0)
    period = probe_update_period_s(
        lambda: fake.nvmlDeviceGetTotalEnergyConsumption(handle), clock=fake.clock
    )
    assert period == pytest.approx(0.02, abs=0.003)


def test_meter_measures_energy_over_the_window() -> None:
    fake = FakeNvml(FakeGpu(power_w=150.0, energy_period_s=0.01))
    meter = NvmlMeter(fake, 0, clock=fake.clock)
    assert meter.min_window_s == pytest.approx(1.0)  # max(1 s, 20 steps of 10 ms)
    meter.start()
    fake.t += 2.0
    stats = meter.stop(items=4000)
    assert stats.source == "nvml"
    assert stats.energy_j == pytest.approx(300.0, rel=0.02)
    assert stats.avg_power_w == pytest.approx(150.0, rel=0.02)
    assert stats.energy_j_per_item == pytest.approx(300.0 / 4000, rel=0.02)
    assert stats.window_s == pytest.approx(2.0, rel=0.01)
    env = meter.provenance()
    assert env["nvml_energy_update_period_ms"] == "10.0"
    assert env["nvml_power_source"] == "nvml field POWER_INSTANT"


def test_slow_counter_asks_for_a_longer_window() -> None:
    fake = FakeNvml(FakeGpu(energy_period_s=0.1), tick=0.002)
    meter = NvmlMeter(fake, 0, clock=fake.clock)
    assert meter.min_window_s == pytest.approx(2.0, rel=0.05)


def test_short_window_is_unavailable_not_a_guess() -> None:
    fake = FakeNvml()
    meter = NvmlMeter(fake, 0, clock=fake.clock)
    meter.start()
    fake.t += 0.3
    stats = meter.stop(items=10)
    assert stats.energy_j is None and stats.source is None
    assert stats.unavailable_reason is not None and "shorter than" in stats.unavailable_reason


def test_counter_that_does_not_move_is_unavailable() -> None:
    fake = FakeNvml(FakeGpu(power_w=0.0))
    meter = NvmlMeter(fake, 0, clock=fake.clock)
    meter.start()
    fake.t += 2.0
    stats = meter.stop(items=10)
    assert stats.energy_j is None
    assert "did not advance" in (stats.unavailable_reason or "")


def test_power_usage_is_the_fallback_cross_check() -> None:
    fake = FakeNvml(FakeGpu(has_instant_power=False))
    meter = NvmlMeter(fake, 0, clock=fake.clock, sample_interval_s=0.001)
    meter.start()
    import time

    time.sleep(0.02)  # let the sampling thread take a few readings
    fake.t += 2.0
    meter.stop(items=1)
    env = meter.provenance()
    assert env["nvml_power_source"] == "nvmlDeviceGetPowerUsage"
    assert int(env["nvml_power_samples"]) >= 1
    assert float(env["nvml_power_mean_w"]) == pytest.approx(120.0)


def test_energy_meter_for_cuda_uses_nvml() -> None:
    meter = energy_meter_for("cuda:0", nvml=FakeNvml())
    assert isinstance(meter, NvmlMeter)


def test_gpu_without_energy_counter_says_why() -> None:
    meter = energy_meter_for("cuda:0", nvml=FakeNvml(FakeGpu(has_energy=False)))
    assert isinstance(meter, NullMeter)
    assert "no NVML energy counter" in meter.reason


def test_missing_gpu_says_why() -> None:
    meter = energy_meter_for("cuda:3", nvml=FakeNvml())
    assert isinstance(meter, NullMeter) and "NVML has no GPU 3" in meter.reason


def test_bad_device_string_is_unavailable() -> None:
    meter = energy_meter_for("tpu:0")
    assert isinstance(meter, NullMeter) and "tpu:0" in meter.reason


def test_without_pynvml_the_reason_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pynvml", None)  # makes `import pynvml` fail
    module, reason = nv.load_nvml()
    assert module is None and reason is not None and "nvidia-ml-py" in reason
