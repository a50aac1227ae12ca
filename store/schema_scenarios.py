"""Migration 11 (issue 16): serving scenarios, offline and server.

Kept apart from ``schema_sql`` and ``schema_lm`` so each module stays small.
The scenario columns are appended at the end of ``runs`` and of the
``run_summary`` view (NULL for older runs and for runs that did not ask for
a scenario): ``offline_throughput_per_s`` and ``server_max_qps_at_p99`` are
metric keys, ``offline_best_batch`` and ``server_p99_bound_ms`` the context a
figure means nothing without. The whole ``ScenarioStats`` (every batch size
and every offered rate) is kept as JSON in ``runs.scenarios`` so Run detail
can draw the latency-vs-load curve. The view is migration 10's with the new
columns appended.
"""

from __future__ import annotations

from store.schema_lm import M010_LM

__all__ = ["M011_SCENARIOS", "SCENARIO_RUN_COLUMNS"]

#: The scenario columns of ``runs``, with their SQL types, in ``run_summary`` order.
SCENARIO_RUN_COLUMNS: dict[str, str] = {
    "offline_throughput_per_s": "DOUBLE",
    "offline_best_batch": "INTEGER",
    "server_max_qps_at_p99": "DOUBLE",
    "server_p99_bound_ms": "DOUBLE",
}

_M010_VIEW = M010_LM[M010_LM.index("CREATE OR REPLACE VIEW run_summary") :]
_M010_TAIL = "    anta.value AS next_token_accuracy\nFROM runs r\n"
assert _M010_VIEW.count(_M010_TAIL) == 1

_COLUMNS = (
    "    anta.value AS next_token_accuracy,\n"
    + ",\n".join(f"    r.{c}" for c in SCENARIO_RUN_COLUMNS)
    + "\nFROM runs r\n"
)

M011_SCENARIOS = (
    "".join(f"ALTER TABLE runs ADD COLUMN {c} {t};\n" for c, t in SCENARIO_RUN_COLUMNS.items())
    + "ALTER TABLE runs ADD COLUMN scenarios JSON;\n\n"
    + _M010_VIEW.replace(_M010_TAIL, _COLUMNS)
)
