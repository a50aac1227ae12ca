"""Saved views: a page's URL view with a name and a description, kept in the store.

A saved view is either **live** (it re-applies its filters to whatever runs
the store holds when it is opened) or **pinned** (it also keeps the ids of the
runs that were visible when it was saved, and shows exactly those, however
the store grows). Names are unique, ignoring case and surrounding spaces.
Every session of every dashboard on the store sees the same views: they live
in DuckDB (table ``saved_views``, migration 4), not in a browser.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from paretoscope.core.errors import InputError, StoreError
from paretoscope.core.timefmt import format_utc, utc_now
from store.store import Store

__all__ = [
    "MAX_DESCRIPTION_CHARS",
    "MAX_NAME_CHARS",
    "VIEW_KEY",
    "SavedView",
    "delete_view",
    "get_view",
    "list_views",
    "rename_view",
    "save_view",
]

MAX_NAME_CHARS = 100
MAX_DESCRIPTION_CHARS = 2000
MAX_QUERY_VALUES = 500
MAX_PINNED_RUNS = 100_000
# The URL key that names a saved view: ``/?view=<view_id>&…``. A pinned view
# needs it (the run ids are too many for a link); a live one keeps it so the
# page can say which saved view is open.
VIEW_KEY = "view"
_PAGE_RE = re.compile(r"[a-z0-9_-]{0,60}")
_ID_RE = re.compile(r"[0-9a-f]{12}")


@dataclass(frozen=True)
class SavedView:
    """One saved view. ``page`` is the page's URL path ('' is the Frontier page)."""

    view_id: str
    name: str
    description: str
    page: str
    query: dict[str, list[str]]
    pinned: bool
    run_ids: tuple[str, ...] | None  # pinned views only
    created_at: str  # ISO 8601, UTC
    updated_at: str

    @property
    def mode(self) -> str:
        """'pinned' or 'live', for people."""
        return "pinned" if self.pinned else "live"


def _clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InputError("a saved view needs a name")
    text = " ".join(name.split())
    if len(text) > MAX_NAME_CHARS:
        raise InputError(f"a view's name may have at most {MAX_NAME_CHARS} characters")
    return text


def _clean_description(description: object) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise InputError("a view's description must be text")
    text = description.strip()
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise InputError(
            f"a view's description may have at most {MAX_DESCRIPTION_CHARS} characters"
        )
    return text


def _clean_query(query: Mapping[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    count = 0
    for key, raw in query.items():
        if not isinstance(key, str) or not key or key == VIEW_KEY or len(key) > 40:
            raise InputError(f"a view's URL keys must be short text other than {VIEW_KEY!r}")
        values = [raw] if isinstance(raw, str) else list(raw)
        if not all(isinstance(v, str) and len(v) <= 1000 for v in values):
            raise InputError(f"the values of {key!r} must be text")
        count += len(values)
        out[key] = values
    if count > MAX_QUERY_VALUES:
        raise InputError(f"a view may hold at most {MAX_QUERY_VALUES} URL values")
    return out


def _row_to_view(row: Sequence[Any]) -> SavedView:
    view_id, name, description, page, query, pinned, run_ids, created, updated = row
    ids = json.loads(run_ids) if run_ids is not None else None
    return SavedView(
        view_id=view_id,
        name=name,
        description=description or "",
        page=page,
        query={str(k): [str(x) for x in v] for k, v in json.loads(query).items()},
        pinned=bool(pinned),
        run_ids=tuple(str(x) for x in ids) if ids is not None else None,
        created_at=format_utc(created),
        updated_at=format_utc(updated),
    )


_COLUMNS = "view_id, name, description, page, query, pinned, run_ids, created_at, updated_at"


def _name_taken(conn: duckdb.DuckDBPyConnection, name: str, except_id: str | None) -> bool:
    row = conn.execute(
        "SELECT 1 FROM saved_views WHERE lower(name) = lower(?) AND view_id IS DISTINCT FROM ?",
        [name, except_id],
    ).fetchone()
    return row is not None


def save_view(
    store: Store,
    *,
    name: str,
    page: str,
    query: Mapping[str, Any],
    description: str = "",
    pinned: bool = False,
    run_ids: Sequence[str] | None = None,
) -> SavedView:
    """Store a new saved view and return it.

    ``pinned=True`` keeps ``run_ids`` (the runs visible now; required); a live
    view keeps none. Raises ``InputError`` for an empty, too long or taken
    name, a bad page or query, and ``StoreError`` when the store cannot be written.
    """
    clean_name = _clean_name(name)
    clean_desc = _clean_description(description)
    if not isinstance(page, str) or not _PAGE_RE.fullmatch(page):
        raise InputError(f"unknown page {str(page)[:60]!r}")
    clean_query = _clean_query(query)
    ids: list[str] | None = None
    if pinned:
        if run_ids is None:
            raise InputError("a pinned view needs the run ids it pins")
        ids = sorted({str(r) for r in run_ids})
        if len(ids) > MAX_PINNED_RUNS:
            raise InputError(f"a pinned view may hold at most {MAX_PINNED_RUNS} runs")
    now = utc_now()
    view_id = uuid.uuid4().hex[:12]
    with store.transaction("save the view in") as conn:
        if _name_taken(conn, clean_name, None):
            raise InputError(f"a saved view named {clean_name!r} exists; choose another name")
        conn.execute(
            f"INSERT INTO saved_views ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)",
            [
                view_id,
                clean_name,
                clean_desc,
                page,
                json.dumps(clean_query),
                pinned,
                json.dumps(ids) if ids is not None else None,
                now,
                now,
            ],
        )
    saved = get_view(store, view_id)
    assert saved is not None  # just written in a committed transaction
    return saved


def list_views(store: Store) -> list[SavedView]:
    """Every saved view, most recently updated first."""
    try:
        with store.connect() as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM saved_views ORDER BY updated_at DESC, name"
            ).fetchall()
    except duckdb.Error as err:
        raise StoreError(f"could not read saved views from {store.path}: {err}") from err
    return [_row_to_view(r) for r in rows]


def get_view(store: Store, view_id: object) -> SavedView | None:
    """The saved view with this id, or None (also for a malformed id: links are untrusted)."""
    if not isinstance(view_id, str) or not _ID_RE.fullmatch(view_id):
        return None
    try:
        with store.connect() as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM saved_views WHERE view_id = ?", [view_id]
            ).fetchone()
    except duckdb.Error as err:
        raise StoreError(f"could not read saved views from {store.path}: {err}") from err
    return _row_to_view(row) if row else None


def rename_view(store: Store, view_id: str, name: str, description: str | None = None) -> SavedView:
    """Give a saved view a new name (and description, unless None); return it.

    Raises ``InputError`` when the view is gone or the name is empty or taken.
    """
    clean_name = _clean_name(name)
    clean_desc = None if description is None else _clean_description(description)
    with store.transaction("rename the view in") as conn:
        exists = conn.execute("SELECT 1 FROM saved_views WHERE view_id = ?", [view_id]).fetchone()
        if not exists:
            raise InputError("that saved view no longer exists (deleted by someone else?)")
        if _name_taken(conn, clean_name, view_id):
            raise InputError(f"a saved view named {clean_name!r} exists; choose another name")
        conn.execute(
            "UPDATE saved_views SET name = ?, description = coalesce(?, description),"
            " updated_at = ? WHERE view_id = ?",
            [clean_name, clean_desc, utc_now(), view_id],
        )
    renamed = get_view(store, view_id)
    assert renamed is not None
    return renamed


def delete_view(store: Store, view_id: str) -> bool:
    """Delete a saved view; False when it was already gone. Runs are never touched."""
    try:
        with store.connect() as conn:
            row = conn.execute(
                "DELETE FROM saved_views WHERE view_id = ? RETURNING view_id", [view_id]
            ).fetchone()
    except duckdb.Error as err:
        raise StoreError(f"could not delete the view in {store.path}: {err}") from err
    return row is not None
