"""Which run ids the store accepts from outside (bundles), and why one is refused.

A measured run's id is a UUID's hex; an imported one may be any id its
exporter gave, within these rules, and every accepted id can be spooled and
drained (``store.spool.spool_file_name`` names its file).
"""

from __future__ import annotations

__all__ = ["RUN_ID_CHARS", "RUN_ID_MAX_LEN", "run_id_problem"]

RUN_ID_MAX_LEN = 100
RUN_ID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.:")


def run_id_problem(run_id: object) -> str | None:
    """None when ``run_id`` may be stored, else why not (a phrase: "is empty", …)."""
    if not isinstance(run_id, str):
        return f"is not text ({type(run_id).__name__})"
    if not run_id:
        return "is empty"
    if len(run_id) > RUN_ID_MAX_LEN:
        return f"is longer than {RUN_ID_MAX_LEN} characters"
    bad = sorted(set(run_id) - RUN_ID_CHARS)
    if bad:
        shown = "".join(bad[:5])
        return f"has characters other than letters, digits and - _ . : ({shown!r})"
    return None
