"""The committed H100 example bundle: it imports into a CPU-only store, its GPU energy is
consistent, and the dashboard's views put its CPU and GPU runs side by side on an energy axis.

Runs everywhere (no GPU needed): it reads what was measured on the H100 machine.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from paretoscope.analysis.selection import frontier_points
from paretoscope.core.errors import InputError
from paretoscope.core.metrics import METRICS
from paretoscope.profiling.demo import EXAMPLE_BUNDLES, example_bundle_path, import_example
from paretoscope.views import FrontierView, RunFilters
from store import Store


@pytest.fixture(scope="module")
def h100_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("h100") / "store.duckdb")
    result = import_example(store, "h100")
    assert result.inserted == result.total == 144
    return store


def test_the_bundle_is_small_and_known() -> None:
    path = example_bundle_path("h100")
    assert path.stat().st_size < 5_000_000
    # How it was measured is documented beside the probe script, and names the bundle's path.
    readme = Path(__file__).resolve().parents[2] / "examples" / "h100" / "README.md"
    assert "paretoscope/profiling/bundles/h100-demo.parquet" in readme.read_text()
    assert set(EXAMPLE_BUNDLES) == {"h100", "h200"}


def test_unknown_example_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown example 'tpu'"):
        example_bundle_path("tpu")


def test_import_is_idempotent_and_labelled(h100_store: Store) -> None:
    again = import_example(h100_store, "h100")
    assert again.inserted == 0 and again.skipped == 144
    frame = h100_store.runs_frame(status="ok")
    assert len(frame) == 144
    assert set(frame["origin"]) == {"imported"}
    assert set(frame["device"]) == {"cpu", "cuda:0"}
    assert (frame.loc[frame["device"] == "cuda:0", "device_name"] == "NVIDIA H100 80GB HBM3").all()


def test_gpu_energy_is_measured_and_consistent(h100_store: Store) -> None:
    records = [r for r in h100_store.records() if r.spec.device == "cuda:0"]
    assert len(records) == 80
    for rec in records:
        assert rec.energy is not None and rec.energy.source == "nvml"
        assert rec.latency is not None and rec.provenance is not None
        env = rec.provenance.env
        power = rec.energy.avg_power_w
        assert power is not None and rec.energy.energy_j_per_item is not None
        assert rec.energy.window_s is not None and rec.energy.window_s >= 1.9
        # Between idle (about 72 W on this card) and the power limit.
        assert 60.0 < power < float(env["gpu_power_limit_w"]) == 700.0
        # The counter agrees with NVML's power sampled in the same window.
        assert power == pytest.approx(float(env["nvml_power_mean_w"]), rel=0.10)
        # Joules per item times the items per second of that window is that power.
        sustained = rec.latency.n_iter * rec.spec.batch_size / rec.energy.window_s
        assert rec.energy.energy_j_per_item * sustained == pytest.approx(power, rel=1e-6)
        assert rec.latency.timer == (
            "cuda_event" if rec.spec.runtime == "torch" else "perf_counter_ns"
        )


def test_ort_int8_on_the_gpu_records_its_cpu_nodes(h100_store: Store) -> None:
    records = [
        r
        for r in h100_store.records()
        if r.spec.device == "cuda:0" and r.spec.runtime == "ort" and r.spec.precision == "int8"
    ]
    assert len(records) == 16
    for rec in records:
        assert rec.provenance is not None
        assert int(rec.provenance.env["ort_nodes_CPUExecutionProvider"]) > 0
        assert any("on CPUExecutionProvider" in n for n in rec.provenance.notes)


def test_cpu_runs_say_why_energy_is_unavailable(h100_store: Store) -> None:
    frame = h100_store.runs_frame(status="ok")
    cpu = frame[frame["device"] == "cpu"]
    assert len(cpu) == 64
    assert cpu["energy_j_per_item"].isna().all()
    assert (
        cpu["energy_unavailable_reason"]
        == "no RAPL powercap interface at /sys/class/powercap on this host"
    ).all()


def test_frontier_groups_cpu_and_gpu_side_by_side_on_energy(h100_store: Store) -> None:
    assert "energy_j_per_item" in METRICS
    frame = h100_store.runs_frame(status="ok")
    view = FrontierView(x="energy_j_per_item", y="accuracy", by="device")
    fp = frontier_points(frame, view)
    # Only GPU runs have energy here; the CPU runs are set aside with the reason.
    assert set(fp.points["device"]) == {"cuda:0"}
    assert any("no RAPL powercap" in line for line in fp.excluded)
    latency = frontier_points(frame, FrontierView(x="latency_ms_p50", y="accuracy", by="device"))
    groups = set(latency.points["group"])
    assert len(groups) == 2  # one frontier for the CPU, one for the H100
    assert latency.frontier.groupby("group").size().min() >= 1
    only_gpu = frontier_points(
        frame,
        FrontierView(x="latency_ms_p50", y="accuracy", filters=RunFilters(device=("cuda:0",))),
    )
    assert set(only_gpu.points["device"]) == {"cuda:0"}
