"""store.rows: one record's rows per table, and back to the same record."""

from __future__ import annotations

from datetime import datetime

from paretoscope.core.records import EnergyStats
from store.rows import REFERENCE_KEYS, TABLES, record_from_rows, record_rows
from tests.factories import make_record

NOW = datetime(2026, 11, 22, 10, 0, 5)


def _by_table(rec_rows: list[tuple[str, dict]]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for table, row in rec_rows:
        out.setdefault(table, []).append(row)
    return out


def test_rows_come_in_table_order_with_references_first() -> None:
    tables = [t for t, _ in record_rows(make_record(), NOW)]
    assert tables == sorted(tables, key=TABLES.index)
    assert set(REFERENCE_KEYS) <= set(tables)


def test_rows_round_trip_to_the_record() -> None:
    for rec in (
        make_record(),
        make_record(status="failed", error="killed", latency_ms=None, accuracy=None),
        make_record(energy=EnergyStats(12.0, 0.5, 30.0, "rapl", None, 0.4), host=None),
    ):
        rows = _by_table(record_rows(rec, NOW))
        assert rows["runs"][0]["ingested_at"] == NOW
        back = record_from_rows(
            rows["runs"][0],
            host=rows.get("hosts", [None])[0],
            device=rows.get("devices", [None])[0],
            latency=rows.get("latency", [None])[0],
            accuracy=rows.get("accuracy", []),
        )
        assert back == rec
