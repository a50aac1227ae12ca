"""Migration 10 (issue 15): causal language models.

Kept apart from ``schema_sql`` (which holds migrations 1-8) so each module
stays small. Every LM metric key is a ``run_summary`` column of the same
name: the generation figures are ``runs`` columns, ``perplexity`` and
``next_token_accuracy`` come from the measured ``accuracy`` rows of those
metrics. The whole ``GenerationStats`` (TTFT and TPOT samples included) is
kept as JSON in ``runs.generation`` so Run detail can draw both phases. The
view is migration 8's with the new columns appended (NULL for older runs).
"""

from __future__ import annotations

from store.schema_sql import M008_SERVING

__all__ = ["LM_RUN_COLUMNS", "M010_LM"]

#: The generation columns of ``runs`` (DOUBLE), in ``run_summary`` order.
LM_RUN_COLUMNS: tuple[str, ...] = (
    "ttft_ms_p50",
    "ttft_ms_p90",
    "ttft_ms_p99",
    "tpot_ms_p50",
    "tpot_ms_p90",
    "tpot_ms_p99",
    "decode_tokens_per_s",
    "prefill_tokens_per_s",
    "kv_cache_mb",
    "energy_j_per_token",
)

_M008_VIEW = M008_SERVING[M008_SERVING.index("CREATE OR REPLACE VIEW run_summary") :]
_M008_TAIL = "    r.serving_unavailable_reason\nFROM runs r\n"
_M008_END = "    AND armse.origin = 'measured';"
assert _M008_VIEW.count(_M008_TAIL) == 1 and _M008_VIEW.rstrip().endswith(_M008_END)

_LM_COLUMNS = (
    "    r.serving_unavailable_reason,\n"
    + "".join(f"    r.{c},\n" for c in LM_RUN_COLUMNS)
    + "    appl.value AS perplexity,\n"
    + "    anta.value AS next_token_accuracy\n"
    + "FROM runs r\n"
)
_LM_JOINS = """    AND armse.origin = 'measured'
LEFT JOIN accuracy appl ON appl.run_id = r.run_id AND appl.metric = 'perplexity'
    AND appl.origin = 'measured'
LEFT JOIN accuracy anta ON anta.run_id = r.run_id AND anta.metric = 'next_token_accuracy'
    AND anta.origin = 'measured';"""

M010_LM = (
    "".join(f"ALTER TABLE runs ADD COLUMN {c} DOUBLE;\n" for c in LM_RUN_COLUMNS)
    + "ALTER TABLE runs ADD COLUMN generation JSON;\n\n"
    + _M008_VIEW.replace(_M008_TAIL, _LM_COLUMNS).rstrip().removesuffix(_M008_END)
    + _LM_JOINS
    + "\n"
)
