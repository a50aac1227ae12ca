"""The store's schema: numbered, named, append-only migrations.

Never edit a migration that has shipped; add a new one. Each is applied in one
transaction together with its row in ``schema_migrations``, so a store is never
left half-migrated. References between tables are checked in code, not
declared: DuckDB cannot ALTER a table that a foreign key points at, and later
migrations will need to.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paretoscope.core.errors import SchemaError
from paretoscope.core.timefmt import utc_now
from store.schema_lm import M010_LM
from store.schema_scenarios import M011_SCENARIOS
from store.schema_sql import (
    M001_CORE,
    M002_RUN_SUMMARY,
    M003_JOBS,
    M004_SAVED_VIEWS,
    M005_RUN_SUMMARY_QUALITY,
    M006_TRUST,
    M007_JOB_SUBMITTER,
    M008_SERVING,
    M009_OP_PROFILES,
)
from store.transaction import transaction

__all__ = ["MIGRATIONS", "Migration", "apply_migrations", "schema_version"]


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "core tables: hosts, devices, models, artifacts, datasets, runs", M001_CORE),
    Migration(2, "run_summary view", M002_RUN_SUMMARY),
    Migration(3, "jobs", M003_JOBS),
    Migration(4, "saved views", M004_SAVED_VIEWS),
    Migration(5, "run_summary: accuracy_top5, mae, rmse", M005_RUN_SUMMARY_QUALITY),
    Migration(
        6,
        "memory sources, host memory, accuracy intervals, repeats, data set and host labels",
        M006_TRUST,
    ),
    Migration(7, "jobs.submitted_by", M007_JOB_SUBMITTER),
    Migration(8, "serving costs: load_ms, first_run_ms, end-to-end latency", M008_SERVING),
    Migration(9, "op_profiles: per-operator profiles of runs", M009_OP_PROFILES),
    Migration(10, "causal language models: generation columns, perplexity", M010_LM),
    Migration(11, "serving scenarios: offline throughput, server max rate at p99", M011_SCENARIOS),
)

_BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    applied_at TIMESTAMP -- UTC
)
"""


def schema_version(conn: Any) -> int:
    """Highest applied migration of an open DuckDB connection (0 for a new file)."""
    exists = conn.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()[0]
    if not exists:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def apply_migrations(conn: Any) -> list[int]:
    """Apply every pending migration, each in its own transaction; return those applied.

    Raises ``SchemaError`` when the store was written by a newer Paretoscope.
    """
    conn.execute(_BOOKKEEPING)
    current = schema_version(conn)
    latest = MIGRATIONS[-1].version
    if current > latest:
        raise SchemaError(
            f"this store has schema version {current}, newer than this Paretoscope "
            f"understands ({latest}); upgrade Paretoscope to open it"
        )
    applied: list[int] = []
    for mig in MIGRATIONS:
        if mig.version <= current:
            continue
        with transaction(conn):
            conn.execute(mig.sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                [mig.version, mig.name, utc_now()],
            )
        applied.append(mig.version)
    return applied
