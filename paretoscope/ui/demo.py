"""The demo zoo from the dashboard: offer it on an empty store, run it in the background, poll it.

Never imports ``measure``: the demo runs in its own process (``jobs.background``).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from paretoscope.jobs import background
from paretoscope.present.markup import markdown_text
from paretoscope.present.progress import format_duration
from paretoscope.ui import access
from paretoscope.ui import dashboard as dash
from store import Store

__all__ = [
    "demo_banner",
    "demo_job",
    "demo_progress",
    "demo_running",
    "empty_store",
    "finished_demo_message",
    "start_demo",
    "stored_runs",
]

_JOB_KEY = "paretoscope.demo_job"
_DONE_KEY = "paretoscope.demo_finished"


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
        demo_progress(job, store=store)  # reruns when runs land (the example's too)
        return
    if state is not None and state.status == "failed" and not outcome_shown:
        st.error(f"The last demo run failed.\n\n{markdown_text(state.message, multiline=True)}")
    if not access.require_profiler("Running the demo"):
        return
    if st.button("Run the demo", type="primary", key="paretoscope.run_demo"):
        try:
            start_demo(store)
        except OSError as err:
            st.error(
                f"Could not start the demo: {markdown_text(err)}. Try `paretoscope demo` in a "
                "terminal."
            )
            return
        st.rerun()


def finished_demo_message() -> bool:
    """Say once, in the rerun that a finished demo triggers, how it ended; True if it did."""
    done = st.session_state.pop(_DONE_KEY, None)
    if done is None:
        return False
    if done["status"] == "succeeded":
        st.success(f"Demo finished. {markdown_text(done['message'])}")
    else:
        st.error(f"The demo failed.\n\n{markdown_text(done['message'], multiline=True)}")
    return True


def demo_running(store: Store) -> background.DemoJob | None:
    """The store's demo job while it runs, else None."""
    job = demo_job(store)
    if job is not None and background.job_state(job).status == "running":
        return job
    return None


def demo_job(store: Store) -> background.DemoJob | None:
    """The store's latest demo job: the pid file's (any session may have started it), else ours."""
    job: background.DemoJob | None = background.current_job(store.files_dir)
    return job or st.session_state.get(_JOB_KEY)


def start_demo(store: Store, command: Sequence[str] | None = None) -> background.DemoJob:
    """Launch the demo (or join the running one) and remember it in the session."""
    job = background.launch_demo(store.path, store.files_dir, command=command)
    st.session_state[_JOB_KEY] = job
    return job


def demo_banner(store: Store, runs: pd.DataFrame) -> None:
    """While the store's demo runs: its progress, and the page rerun as its runs land.

    When every run shown so far was imported, say that this host's runs are
    being measured. Draws nothing when no demo runs; when it ends, the rerun
    it triggers shows how it ended (``finished_demo_message``).
    """
    job = demo_running(store)
    if job is None:
        return
    origin = runs["origin"] if "origin" in runs.columns else pd.Series(dtype=object)
    if not runs.empty and bool((origin == "imported").all()):
        st.info(
            "**This host's runs are being measured.** The runs shown so far were imported "
            "from the example bundle (measured on another machine); this host's demo runs "
            "join the chart as they land."
        )
    demo_progress(job, store=store)


def stored_runs(store: Store) -> int:
    """Runs stored so far, counting those still in the spool (cheap: cached per data version)."""
    ok, failed = dash.run_counts(store)
    return ok + failed + len(store.spool)


def demo_progress(job: background.DemoJob, *, store: Store | None = None) -> None:
    """Draw the demo's progress, polling every second; rerun the app when it ends.

    With ``store``, the app also reruns whenever more runs are stored than
    when the page was drawn, so the chart grows as the demo's runs land.
    """
    seen = stored_runs(store) if store is not None else None

    @st.fragment(run_every=1.0)
    def _poll() -> None:
        state = background.job_state(job)
        if state.status != "running":
            st.session_state[_DONE_KEY] = {"status": state.status, "message": state.message}
            st.rerun(scope="app")
        if store is not None and seen is not None and stored_runs(store) > seen:
            st.rerun(scope="app")
        p = state.progress
        eta = f", about {format_duration(p.eta_s)} left" if p.eta_s is not None else ""
        label = markdown_text(p.label or "starting…")
        st.progress(
            p.fraction,
            text=f"Demo: {p.done}/{p.total or '?'} — {label} ({format_duration(p.elapsed_s)}{eta})",
        )
        st.caption(f"Log: `{job.log_file}` · pid {job.pid}")

    _poll()
