"""The causal-LM columns of a ``runs`` row (migration 10), both ways."""

from __future__ import annotations

import json
from typing import Any

from paretoscope.core.records import GenerationStats, RunRecord, from_dict, to_dict

__all__ = ["generation_columns", "generation_from_row"]


def generation_columns(rec: RunRecord) -> dict[str, Any]:
    """``runs`` columns of ``rec.generation``; all None for a record without one.

    ``decode_tokens_per_s`` is batch × 1000 / ``tpot_ms_p50`` and
    ``prefill_tokens_per_s`` batch × prompt length × 1000 / ``prefill_ms_p50``.
    """
    gen = rec.generation
    if gen is None:
        return {
            "ttft_ms_p50": None, "ttft_ms_p90": None, "ttft_ms_p99": None,
            "tpot_ms_p50": None, "tpot_ms_p90": None, "tpot_ms_p99": None,
            "decode_tokens_per_s": None, "prefill_tokens_per_s": None,
            "kv_cache_mb": None, "energy_j_per_token": None, "generation": None,
        }  # fmt: skip
    batch = rec.spec.batch_size
    tpot = gen.tpot.p50_ms
    prefill = gen.prefill_ms_p50
    return {
        "ttft_ms_p50": gen.ttft.p50_ms,
        "ttft_ms_p90": gen.ttft.p90_ms,
        "ttft_ms_p99": gen.ttft.p99_ms,
        "tpot_ms_p50": tpot,
        "tpot_ms_p90": gen.tpot.p90_ms,
        "tpot_ms_p99": gen.tpot.p99_ms,
        "decode_tokens_per_s": batch * 1000.0 / tpot if tpot > 0 else None,
        "prefill_tokens_per_s": batch * gen.prompt_len * 1000.0 / prefill if prefill else None,
        "kv_cache_mb": gen.kv_cache_mb,
        "energy_j_per_token": gen.energy_j_per_token,
        "generation": json.dumps(to_dict(gen)),
    }


def generation_from_row(run: dict[str, Any]) -> GenerationStats | None:
    """The ``GenerationStats`` kept in a ``runs`` row; None for rows without (older runs)."""
    raw = run.get("generation")
    return from_dict(GenerationStats, json.loads(raw)) if raw else None
