"""Migration 10 adds the causal-LM columns: NULL for runs of older stores, kept for new ones."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from measure.timing import latency_stats
from paretoscope.core.metrics import metric_keys
from paretoscope.core.records import AccuracyResult, GenerationStats, RunRecord
from paretoscope.present.runtable import RUN_COLUMNS
from store import migrations
from store.schema_lm import LM_RUN_COLUMNS
from store.store import Store
from tests.factories import make_record
from tests.store.old_schema import store_at_version

LM_KEYS = ["perplexity", "next_token_accuracy", *LM_RUN_COLUMNS]


def _stats(base_ns: int, n: int) -> object:
    return latency_stats(
        [base_ns + 1000 * i for i in range(n)],
        warmup_iter=3,
        stop_reason="ci_target",
        timer="perf_counter_ns",
    )


def _lm_record(run_id: str) -> RunRecord:
    rec = make_record(run_id=run_id)
    gen = GenerationStats(
        prompt_len=64,
        gen_len=8,
        ttft=_stats(4_000_000, 20),  # type: ignore[arg-type]
        tpot=_stats(1_000_000, 140),  # type: ignore[arg-type]
        prefill_ms_p50=3.5,
        kv_cache_mb=0.25,
        energy_j_per_token=None,
        energy_unavailable_reason="no RAPL powercap interface",
        prompt_source="data",
    )
    spec = dataclasses.replace(rec.spec, batch_size=2, dims={"prompt_len": 64, "gen_len": 8})
    quality = (
        AccuracyResult("perplexity", 12.5, "text-abc", 1000),
        AccuracyResult("next_token_accuracy", 0.4, "text-abc", 1000, ci_low=0.37, ci_high=0.43),
    )
    return dataclasses.replace(rec, spec=spec, generation=gen, accuracy=quality)


def test_an_old_store_opens_with_null_lm_columns(tmp_path: Path) -> None:
    path = tmp_path / "v8.duckdb"
    store_at_version(path, make_record(run_id="old"), 8)
    store = Store(path)
    assert store.schema_version() == migrations.MIGRATIONS[-1].version >= 10
    frame = store.runs_frame()
    row = frame.iloc[0]
    for col in LM_KEYS:
        assert col in frame.columns, col
        assert row[col] is None or row[col] != row[col], col  # None or NaN
    old = store.get_record("old")
    assert old is not None and old.generation is None


def test_a_new_lm_run_keeps_its_generation_and_quality(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    rec = _lm_record("lm")
    store.ingest(rec)
    back = store.get_record("lm")
    assert back is not None and back.generation == rec.generation
    got = store.runs_frame().set_index("run_id").loc["lm"]
    gen = rec.generation
    assert gen is not None
    assert got["ttft_ms_p50"] == pytest.approx(gen.ttft.p50_ms)
    assert got["tpot_ms_p99"] == pytest.approx(gen.tpot.p99_ms)
    # Exactly batch × 1000 / TPOT p50, and batch × prompt length × 1000 / prefill p50.
    assert got["decode_tokens_per_s"] == 2 * 1000.0 / gen.tpot.p50_ms
    assert got["prefill_tokens_per_s"] == 2 * 64 * 1000.0 / 3.5
    assert got["kv_cache_mb"] == 0.25
    assert got["perplexity"] == 12.5 and got["next_token_accuracy"] == 0.4
    assert got["dim_prompt_len"] == 64 and got["dim_gen_len"] == 8


def test_every_lm_metric_key_is_a_column_at_the_end_of_runs() -> None:
    keys = [k for k in metric_keys() if k in LM_KEYS or k == "energy_j_per_token"]
    assert set(keys) == set(LM_KEYS)
    # New columns come after every column the runs table had before (later issues' after them).
    start = RUN_COLUMNS.index(keys[0])
    assert list(RUN_COLUMNS[start : start + len(keys)]) == keys
    assert RUN_COLUMNS.index("serving_unavailable_reason") < RUN_COLUMNS.index("perplexity")


def test_a_bundle_carries_the_generation_record(tmp_path: Path) -> None:
    from store.bundle import export_bundle, import_bundle

    source = Store(tmp_path / "a.duckdb")
    source.ingest(_lm_record("lm"))
    export_bundle(source, tmp_path / "b.parquet")
    dest = Store(tmp_path / "b.duckdb")
    import_bundle(dest, tmp_path / "b.parquet")
    got, sent = dest.get_record("lm"), source.get_record("lm")
    assert got is not None and sent is not None and got.generation == sent.generation
    row = dest.runs_frame().set_index("run_id").loc["lm"]
    assert row["decode_tokens_per_s"] == 2 * 1000.0 / row["tpot_ms_p50"]
    assert row["perplexity"] == 12.5
