"""The committed H200 example bundle: causal-LM runs on the H200 with NVML energy per token.

Runs everywhere (no GPU needed): it reads what was measured on the H200 machine
(examples/h200/README.md says how).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from paretoscope.profiling.demo import example_bundle_path, import_example
from store import Store


@pytest.fixture(scope="module")
def h200_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(tmp_path_factory.mktemp("h200") / "store.duckdb")
    result = import_example(store, "h200")
    assert result.inserted == result.total == 18
    return store


def test_the_readme_names_the_bundle_and_the_command() -> None:
    readme = Path(__file__).resolve().parents[2] / "examples" / "h200" / "README.md"
    text = readme.read_text()
    assert "paretoscope/profiling/bundles/h200-example.parquet" in text
    assert "--task causal-lm --device cuda:0" in text
    assert example_bundle_path("h200").stat().st_size < 1_000_000


def test_lm_runs_on_the_h200_carry_energy_per_token(h200_store: Store) -> None:
    frame = h200_store.runs_frame(status="ok")
    assert set(frame["origin"]) == {"imported"}
    gpu = frame[(frame["device"] == "cuda:0") & frame["decode_tokens_per_s"].notna()]
    assert len(gpu) == 9 and set(gpu["precision"]) == {"fp32", "fp16", "bf16"}
    assert (gpu["device_name"] == "NVIDIA H200").all()
    assert (gpu["energy_j_per_token"] > 0).all()
    # Tokens/s is exactly batch x 1000 / TPOT's median, on every LM run.
    lm = frame[frame["decode_tokens_per_s"].notna()]
    expect = lm["batch_size"] * 1000.0 / lm["tpot_ms_p50"]
    assert ((lm["decode_tokens_per_s"] - expect).abs() <= 1e-9 * expect).all()


def test_gpu_energy_per_token_is_a_power_the_board_can_draw(h200_store: Store) -> None:
    # J/token x tokens/s is a power in watts: above nothing, below the 700 W limit.
    gpu = h200_store.runs_frame(status="ok").query("device == 'cuda:0'")
    watts = gpu["energy_j_per_token"] * gpu["decode_tokens_per_s"]
    assert ((watts > 20) & (watts < 700)).all(), watts.tolist()


def test_cpu_runs_say_why_energy_is_unavailable(h200_store: Store) -> None:
    frame = h200_store.runs_frame(status="ok")
    cpu = frame[frame["device"] == "cpu"]
    assert len(cpu) == 9
    assert cpu["energy_j_per_item"].isna().all() and cpu["energy_j_per_token"].isna().all()
    assert cpu["energy_unavailable_reason"].str.contains("RAPL").all()
