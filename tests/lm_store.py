"""A store of synthetic causal-LM runs (issue 15) for the dashboard's tests.

Two tiny GPT-2-style models and an int8 variant of the first, each swept over
prompt lengths 32, 128 and 512 (TTFT grows with the prompt, TPOT barely), one
generated length, batch 1; one model's name is hostile. Test fixtures only,
never shown to users as measurements.

``build_lm_store`` checks that the store returns the run_summary columns the
contract names (``lm_columns``) for each of its runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from paretoscope.core.records import RunRecord
from store import Store
from tests.app_pages.hostile import hostile
from tests.factories import make_lm_record

PROMPT_LENS = (32, 128, 512)
HOSTILE_LM = hostile("lm")
# Run id stems: model -> (ttft per prompt token ms, tpot ms, perplexity, next-token acc).
_MODELS = {
    "gpt2-w64-d2": (0.05, 1.0, 60.0, 0.25),
    "gpt2-w128-d4": (0.12, 2.5, 35.0, 0.33),
    HOSTILE_LM: (0.2, 4.0, 30.0, 0.35),
}


def lm_records() -> list[RunRecord]:
    """The synthetic LM runs: three models × three prompt lengths, and an int8 variant."""
    out = []
    for model, (per_token, tpot, ppl, acc) in _MODELS.items():
        for n in PROMPT_LENS:
            out.append(
                make_lm_record(
                    model=model,
                    prompt_len=n,
                    ttft_ms=tpot + per_token * n,
                    tpot_ms=tpot * (1 + n / 4096),
                    perplexity=ppl,
                    next_token_accuracy=acc,
                )
            )
    parent = out[0].spec.model.model_id
    for n in PROMPT_LENS:
        out.append(
            make_lm_record(
                model="gpt2-w64-d2",
                precision="int8",
                prompt_len=n,
                ttft_ms=0.6 + 0.03 * n,
                tpot_ms=0.5,
                perplexity=61.5,
                next_token_accuracy=0.245,
                parent_model_id=parent,
            )
        )
    return out


def lm_columns(rec: RunRecord) -> dict[str, float | None]:
    """The contract's run_summary columns of one run (``None`` where it lacks the metric)."""
    gen = rec.generation
    acc = {a.metric: a.value for a in rec.accuracy}
    out: dict[str, float | None] = {
        "perplexity": acc.get("perplexity"),
        "next_token_accuracy": acc.get("next_token_accuracy"),
    }
    for phase in ("ttft", "tpot"):
        stats = getattr(gen, phase) if gen else None
        for q in ("p50", "p90", "p99"):
            out[f"{phase}_ms_{q}"] = getattr(stats, f"{q}_ms") if stats else None
    batch = rec.spec.batch_size
    tpot = gen.tpot.p50_ms if gen else None
    pre = gen.prefill_ms_p50 if gen else None
    out["decode_tokens_per_s"] = batch * 1000.0 / tpot if tpot else None
    out["prefill_tokens_per_s"] = batch * gen.prompt_len * 1000.0 / pre if gen and pre else None
    out["kv_cache_mb"] = gen.kv_cache_mb if gen else None
    out["energy_j_per_token"] = gen.energy_j_per_token if gen else None
    return out


def build_lm_store(
    path: Path,
    monkeypatch: pytest.MonkeyPatch,
    extra: Sequence[RunRecord] = (),
    *,
    base: bool = True,
) -> tuple[Store, list[RunRecord]]:
    """A real store of ``lm_records()`` (unless ``base`` is False) and ``extra``.

    Checks that the store gives back the contract's LM columns (``lm_columns``)
    for every run, so the dashboard's tests stand on what the store really returns.
    """
    records = [*(lm_records() if base else []), *extra]
    store = Store(path)
    store.ingest_many(records)
    frame = store.runs_frame().set_index("run_id")
    for rec in records:
        for key, want in lm_columns(rec).items():
            got: Any = frame.loc[rec.run_id, key]
            if want is None:
                assert pd.isna(got), (rec.run_id, key, got)
            else:
                assert math.isclose(float(got), want, rel_tol=1e-9), (rec.run_id, key, got, want)
    return store, records


def run_of(records: Sequence[RunRecord], **want: Any) -> RunRecord:
    """The first record whose model name, precision and prompt length match ``want``."""
    for r in records:
        got = {
            "model": r.spec.model.name,
            "precision": r.spec.precision,
            "prompt_len": r.spec.dims.get("prompt_len"),
        }
        if all(got[k] == v for k, v in want.items()):
            return r
    raise LookupError(want)
