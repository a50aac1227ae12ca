"""The session's store and cached reads of it, for the Streamlit app.

``app.py`` opens the store named on its command line once per run
(``use_store``); pages read it with ``current_store`` and its runs with
``load_runs`` (cached until the store's file changes). The URL binding is in
``ui.binding``, shared widgets in ``ui.widgets``, the demo in ``ui.demo``.
Never imports ``measure`` (the server must not load torch).
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import streamlit as st

from paretoscope.core.errors import StoreLockedError
from paretoscope.ui import share_panel
from store import Store, resolve_store_path

__all__ = [
    "LOCK_TIMEOUT_S",
    "current_store",
    "load_runs",
    "open_store",
    "run_counts",
    "store_path_from_argv",
    "use_store",
]

_STORE_KEY = "paretoscope.store_path"


def _fewer_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas for this process (no-op elsewhere).

    Streamlit runs each session's script in a thread of its own, and glibc gives
    threads arenas of their own (up to 8 per core) that keep the memory a rerun
    over 100 000 rows freed: the server's memory grew by tens of MB per session
    (issue 13). Same as ``MALLOC_ARENA_MAX=2``, for arenas made from now on.
    """
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # M_ARENA_MAX


_fewer_malloc_arenas()


def _no_altair_debug_validation() -> None:
    """Build Altair charts without validating each part as it is made (the server only).

    Altair's debug mode checks every schema object against Vega-Lite's JSON
    schema when it is constructed: about half of building the Frontier chart
    at 100 000 runs (issue 13). The charts are the same code every time and
    ``tests/present`` validates them whole (``to_dict()``); the page sends
    them as plain dicts (``present.charts.spec``).
    """
    import altair.utils.schemapi

    altair.utils.schemapi.disable_debug_mode()


_no_altair_debug_validation()


def _freeze_startup_objects() -> None:
    """Keep the objects the server has at start out of every later full garbage collection.

    Streamlit, pandas and pyarrow leave about 130 000 tracked objects behind
    their imports (counted here), and a full (generation 2) collection walks
    them all: at 100 000 runs one came about once per filter change and took
    65-250 ms of it on a shared VM, 3-7 ms once they were frozen (issue 13).
    These objects live as long as the process, so ``gc.freeze`` (what
    long-running Python servers do after start-up) moves them where no
    collection looks; garbage made later is collected as before.
    """
    gc.collect()
    gc.freeze()


_freeze_startup_objects()
# The dashboard waits less for the lock than the command line does: a page
# that hangs for a minute is worse than one that says "busy, reload".
LOCK_TIMEOUT_S = 15.0
# A page run moves spooled runs in only when the lock is free now; a busy
# writer drains them itself.
DRAIN_LOCK_TIMEOUT_S = 0.5


def store_path_from_argv(argv: Sequence[str]) -> Path:
    """The store named by ``--store PATH`` (or ``--store=PATH``) in ``argv``, else the default.

    ``streamlit run app.py -- --store PATH`` leaves ``[app.py, --store, PATH]``
    in ``sys.argv``; arguments before a literal ``--`` are ignored when one is
    present. Falls back to ``resolve_store_path(None)``: ``$PARETOSCOPE_STORE``,
    then the user's data folder.
    """
    args = list(argv[1:])
    if "--" in args:
        args = args[args.index("--") + 1 :]
    explicit: str | None = None
    for i, arg in enumerate(args):
        if arg == "--store" and i + 1 < len(args):
            explicit = args[i + 1]
        elif arg.startswith("--store="):
            explicit = arg.split("=", 1)[1]
    return resolve_store_path(explicit)


@st.cache_resource(show_spinner=False)
def open_store(path: str) -> Store:
    """The store at ``path``, opened (and migrated) once per server process."""
    return Store(path, lock_timeout_s=LOCK_TIMEOUT_S)


def use_store(path: Path) -> Store:
    """Open the store for this session (``app.py`` calls this once per run); raises StoreError.

    Each run also stores what the spool holds (runs that a killed or locked-out
    writer left there), so they show without waiting for the next ingest.
    """
    st.session_state[_STORE_KEY] = str(path)
    store = open_store(str(path))
    if len(store.spool):
        with contextlib.suppress(StoreLockedError):
            store.drain_spool(lock_timeout_s=DRAIN_LOCK_TIMEOUT_S)
    return store


def current_store() -> Store:
    """The session's store (opened by ``app.py``; resolved from argv when a page runs alone)."""
    path = st.session_state.get(_STORE_KEY)
    if path is None:
        return use_store(store_path_from_argv(sys.argv))
    return open_store(str(path))


# One frame per (store, version, status), shared by every session and rerun:
# ``st.cache_resource`` hands out the cached object itself, where
# ``st.cache_data`` would unpickle a fresh copy of 100 000 rows on every
# call (issue 13). Pages treat it as read-only: they select and derive, never
# assign into it. Two versions (the current one and the one before, while
# sessions catch up) are enough; older frames are dropped.
@st.cache_resource(show_spinner=False, max_entries=4)
def _runs(path: str, version: tuple[int, ...], status: str | None, _store: Store) -> pd.DataFrame:
    return _store.runs_frame(status=status)


def load_runs(store: Store, status: str | None = "ok") -> pd.DataFrame:
    """``store.runs_frame(status)``, cached until the store's file changes; read-only.

    Every session and rerun gets the same frame object (never a copy): do not
    modify it. On a page opened from a pinned saved view, only that view's runs.
    """
    return share_panel.pin_runs(_runs(str(store.path), store.data_version(), status, store))


@st.cache_data(show_spinner=False, max_entries=8)
def _counts(path: str, version: tuple[int, ...], _store: Store) -> tuple[int, int]:
    return _store.run_count(status="ok"), _store.run_count(status="failed")


def run_counts(store: Store) -> tuple[int, int]:
    """(successful, failed) runs in the store, cached until its file changes."""
    return _counts(str(store.path), store.data_version(), store)
