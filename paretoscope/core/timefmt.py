"""UTC timestamps: records carry ISO 8601 strings; the store keeps naive UTC TIMESTAMPs.

One clock for each: ``utc_now_iso()`` (text) for records, ``utc_now()``
(a naive datetime) for the store's columns; ``parse_utc``/``format_utc``
convert between them.
"""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["format_utc", "parse_utc", "utc_now", "utc_now_iso"]


def utc_now() -> datetime:
    """Now, as a naive datetime in UTC: for the store's TIMESTAMP columns."""
    return datetime.now(UTC).replace(tzinfo=None)


def utc_now_iso() -> str:
    """Now, as ISO 8601 text with microseconds and ``+00:00``: for records' times."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def parse_utc(text: str | None) -> datetime | None:
    """ISO 8601 text (with or without offset; naive means UTC) as naive UTC; None for empty."""
    if not text:
        return None
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return dt


def format_utc(dt: datetime) -> str:
    """A naive-UTC (or aware) datetime as ISO 8601 with ``+00:00``."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC).isoformat(timespec="microseconds")
