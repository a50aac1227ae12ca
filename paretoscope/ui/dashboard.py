"""Page support for the Streamlit app: the store, cached reads, the URL, the demo's progress.

Pages stay thin by calling these. Everything that does not need Streamlit
(argument parsing, the view, the charts) lives in pure modules; what is here
takes the store as an argument or reads it from the session, so AppTest can
drive it. Never imports ``measure`` (the server must not load torch).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from paretoscope.jobs import background
from paretoscope.present.display import MISSING
from paretoscope.present.progress import format_duration
from paretoscope.present.tables import column_formats
from paretoscope.ui import share_panel
from paretoscope.views import FILTER_COLUMNS, RunFilters
from store import Store, resolve_store_path

__all__ = [
    "LOCK_TIMEOUT_S",
    "current_store",
    "demo_job",
    "demo_progress",
    "demo_running",
    "empty_store",
    "filter_widgets",
    "filters_from_state",
    "finished_demo_message",
    "load_runs",
    "open_store",
    "query_params",
    "run_counts",
    "show_notices",
    "show_table",
    "start_demo",
    "store_path_from_argv",
    "use_store",
    "write_query",
]

_STORE_KEY = "paretoscope.store_path"
_JOB_KEY = "paretoscope.demo_job"
_DONE_KEY = "paretoscope.demo_finished"
# The dashboard waits less for the lock than the command line does: a page
# that hangs for a minute is worse than one that says "busy, reload".
LOCK_TIMEOUT_S = 15.0


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
    """Open the store for this session (``app.py`` calls this once per run); raises StoreError."""
    st.session_state[_STORE_KEY] = str(path)
    return open_store(str(path))


def current_store() -> Store:
    """The session's store (opened by ``app.py``; resolved from argv when a page runs alone)."""
    path = st.session_state.get(_STORE_KEY)
    if path is None:
        return use_store(store_path_from_argv(sys.argv))
    return open_store(str(path))


@st.cache_data(show_spinner=False, max_entries=8)
def _runs(path: str, version: tuple[int, ...], status: str | None, _store: Store) -> pd.DataFrame:
    return _store.runs_frame(status=status)


def load_runs(store: Store, status: str | None = "ok") -> pd.DataFrame:
    """``store.runs_frame(status)``, cached until the store's file changes.

    On a page opened from a pinned saved view, only that view's runs.
    """
    return share_panel.pin_runs(_runs(str(store.path), store.data_version(), status, store))


@st.cache_data(show_spinner=False, max_entries=8)
def _counts(path: str, version: tuple[int, ...], _store: Store) -> tuple[int, int]:
    return _store.run_count(status="ok"), _store.run_count(status="failed")


def run_counts(store: Store) -> tuple[int, int]:
    """(successful, failed) runs in the store, cached until its file changes."""
    return _counts(str(store.path), store.data_version(), store)


def query_params() -> dict[str, list[str]]:
    """The URL's query parameters, repeated keys kept as lists.

    Leaves out ``view`` (the saved view, which the frame handles for every page).
    """
    share_panel.mark_params_read()
    return {
        key: st.query_params.get_all(key) for key in st.query_params if key != share_panel.VIEW_KEY
    }


def write_query(query: dict[str, str | list[str]]) -> None:
    """Make the URL hold ``query`` (a view's ``to_query()``), touching it only when it differs.

    The open saved view (``view=…``) stays in the URL.
    """
    full = dict(query)
    view_id = share_panel.active_view_id()
    if view_id is not None:
        full[share_panel.VIEW_KEY] = view_id
    wanted = {k: [v] if isinstance(v, str) else list(v) for k, v in full.items()}
    current = {key: st.query_params.get_all(key) for key in st.query_params}
    if current != wanted:
        st.query_params.from_dict(full)


def show_notices(notices: Sequence[str], *, what: str = "the link") -> None:
    """One warning listing what was ignored, so a bad shared link says so."""
    if notices:
        body = "\n".join(f"- {n}" for n in notices)
        st.warning(f"Some of {what} could not be used; showing defaults instead.\n\n{body}")


_FILTER_LABELS = {
    "runtime": "Runtime",
    "device": "Device",
    "precision": "Precision",
    "batch_size": "Batch size",
    "family": "Family",
}


def filter_widgets(
    frame: pd.DataFrame, filters: RunFilters, prefix: str, on_change: Any, *, leading: int = 0
) -> list[Any]:
    """One multiselect per run filter, in a row, seeded from ``filters`` (the URL).

    Options are the values present in ``frame`` plus any the link names, so a
    stale link still shows what it asked for. ``on_change`` writes the URL.
    Returns ``leading`` empty columns at the row's start, for the page's own widgets.
    """
    columns = st.columns(leading + len(FILTER_COLUMNS))
    for col, field in zip(columns[leading:], FILTER_COLUMNS.values(), strict=True):
        chosen = list(getattr(filters, field))
        present = frame[field].dropna().tolist() if field in frame.columns else []
        if field == "batch_size":
            present = [int(v) for v in present]
        options = sorted(set(present) | set(chosen))
        key = f"{prefix}.{field}"
        st.session_state[key] = chosen
        col.multiselect(
            _FILTER_LABELS[field],
            options,
            key=key,
            on_change=on_change,
            placeholder="all",
        )
    return list(columns[:leading])


def filters_from_state(prefix: str) -> RunFilters:
    """The filters the widgets made by ``filter_widgets(prefix=...)`` hold now."""
    return RunFilters(
        **{
            field: tuple(st.session_state.get(f"{prefix}.{field}", ()))
            for field in FILTER_COLUMNS.values()
        }
    )


def empty_store(store: Store, *, outcome_shown: bool = False) -> None:
    """What an empty store shows: what to do, and a button that runs the demo in the background.

    ``outcome_shown``: the page already said how this session's demo ended.
    """
    st.info(
        "**No runs yet.** Run the demo zoo (trains ~a dozen small models on scikit-learn's "
        "digits and measures them on this host, a few minutes) or `paretoscope profile …`."
    )
    job = demo_job(store)
    state = background.job_state(job) if job is not None else None
    if job is not None and state is not None and state.status == "running":
        demo_progress(job)
        return
    if state is not None and state.status == "failed" and not outcome_shown:
        st.error(f"The last demo run failed.\n\n{state.message}")
    if st.button("Run the demo", type="primary", key="paretoscope.run_demo"):
        try:
            start_demo(store)
        except OSError as err:
            st.error(f"Could not start the demo: {err}. Try `paretoscope demo` in a terminal.")
            return
        st.rerun()


def finished_demo_message() -> bool:
    """Say once, in the rerun that a finished demo triggers, how it ended; True if it did."""
    done = st.session_state.pop(_DONE_KEY, None)
    if done is None:
        return False
    if done["status"] == "succeeded":
        st.success(f"Demo finished. {done['message']}")
    else:
        st.error(f"The demo failed.\n\n{done['message']}")
    return True


def demo_running(store: Store) -> background.DemoJob | None:
    """The store's demo job while it runs, else None."""
    job = demo_job(store)
    if job is not None and background.job_state(job).status == "running":
        return job
    return None


def show_table(table: pd.DataFrame) -> None:
    """A run table: metric columns formatted from the registry, missing values as —."""
    config = {h: st.column_config.NumberColumn(format=f) for h, f in column_formats(table).items()}
    st.dataframe(table, hide_index=True, placeholder=MISSING, column_config=config)


# -- the demo, in a background process -------------------------------------


def demo_job(store: Store) -> background.DemoJob | None:
    """The store's latest demo job: the pid file's (any session may have started it), else ours."""
    job: background.DemoJob | None = background.current_job(store.files_dir)
    return job or st.session_state.get(_JOB_KEY)


def start_demo(store: Store, command: Sequence[str] | None = None) -> background.DemoJob:
    """Launch the demo (or join the running one) and remember it in the session."""
    job = background.launch_demo(store.path, store.files_dir, command=command)
    st.session_state[_JOB_KEY] = job
    return job


def demo_progress(job: background.DemoJob) -> None:
    """Draw the demo's progress, polling every second; rerun the app when it ends."""

    @st.fragment(run_every=1.0)
    def _poll() -> None:
        state = background.job_state(job)
        if state.status != "running":
            st.session_state[_DONE_KEY] = {"status": state.status, "message": state.message}
            st.rerun(scope="app")
        p = state.progress
        eta = f", about {format_duration(p.eta_s)} left" if p.eta_s is not None else ""
        label = p.label or "starting…"
        st.progress(
            p.fraction,
            text=f"Demo: {p.done}/{p.total or '?'} — {label} ({format_duration(p.elapsed_s)}{eta})",
        )
        st.caption(f"Log: `{job.log_file}` · pid {job.pid}")

    _poll()
