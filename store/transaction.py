"""One transaction on an open DuckDB connection: BEGIN, then COMMIT, or ROLLBACK on any error.

``Store.transaction()`` opens a connection and maps DuckDB's errors to ours
around this; ``store.migrations`` uses it directly on the connection it is
handed, so that each migration and its bookkeeping row commit together.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["transaction"]


@contextlib.contextmanager
def transaction(conn: Any) -> Iterator[Any]:
    """Run the block in one transaction on ``conn``; yield ``conn``.

    Commits when the block ends (also by ``return``); rolls back and re-raises
    on any exception, ``KeyboardInterrupt`` included, so nothing is half-stored.
    """
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
    except BaseException:
        # The block's error is the one to report; a failed ROLLBACK (the
        # connection already broken) must not hide it.
        with contextlib.suppress(Exception):
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
