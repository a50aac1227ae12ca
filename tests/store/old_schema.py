"""A store at an older schema version holding a run, for the migration tests."""

from __future__ import annotations

from pathlib import Path

import duckdb

from paretoscope.core.records import RunRecord
from paretoscope.core.timefmt import utc_now
from store import migrations
from store.rows import record_rows


def store_at_version(path: Path, rec: RunRecord, version: int) -> None:
    """A store file at schema ``version`` holding ``rec``, written with that version's columns.

    Only the migrations up to ``version`` are applied, then each of the record's
    rows is inserted with the columns its table had then (today's extra ones dropped),
    as a store written by that release would hold it.
    """
    conn = duckdb.connect(str(path))
    try:
        saved = migrations.MIGRATIONS
        migrations.MIGRATIONS = tuple(m for m in saved if m.version <= version)
        try:
            migrations.apply_migrations(conn)
        finally:
            migrations.MIGRATIONS = saved
        assert migrations.schema_version(conn) == version
        for table, row in record_rows(rec, utc_now()):
            cols = {c[0] for c in conn.execute(f"DESCRIBE {table}").fetchall()}
            row = {k: v for k, v in row.items() if k in cols}
            conn.execute(
                f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )
    finally:
        conn.close()
