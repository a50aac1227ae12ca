"""The Profile page's jobs list: each job's status and progress, cancel and run again, polling."""

from __future__ import annotations

import streamlit as st

from paretoscope.core.errors import InputError
from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from paretoscope.jobs.device_progress import read_device_progress
from paretoscope.present.device_progress import device_bars
from paretoscope.present.markup import markdown_text
from paretoscope.present.progress import format_duration
from paretoscope.profiling import uploads
from paretoscope.ui import access
from store import Store

__all__ = ["LIST_LIMIT", "STATUS_ICON", "jobs_list", "show_job"]

K = "profile"  # the Profile page's widget key prefix
NOTE = f"{K}.jobs_note"  # what the last Run again did: ("info" | "error", text)
POLL_S = 1.0  # how often the list is redrawn while a job is queued or running
LIST_LIMIT = 20
STATUS_ICON = {
    "queued": ":gray[:material/schedule:]",
    "running": ":blue[:material/play_circle:]",
    "done": ":green[:material/check_circle:]",
    "failed": ":red[:material/error:]",
    "cancelled": ":gray[:material/cancel:]",
    "interrupted": ":orange[:material/warning:]",
}


def _start_runner(store: Store) -> None:
    jobrunner.ensure_runner(store)


def _cancel(store: Store, job_id: str) -> None:
    jobs.cancel_job(store, job_id)


def _run_again(store: Store, job_id: str) -> None:
    try:
        who = access.current()
        again = jobs.resubmit_job(store, job_id, submitted_by=who.who, quota=who.quota)
    except InputError as err:
        st.session_state[NOTE] = ("error", str(err))
        return
    skipped = len(again.request.get("skip_points") or ())
    if again.request.get("resumes"):
        what = (
            f"it measures only the configurations job {job_id} did not store; the {skipped} "
            "it stored are skipped"
            if skipped
            else f"job {job_id} stored no run, so it measures every configuration"
        )
    else:
        what = "it measures every configuration again"
    st.session_state[NOTE] = ("info", f"Queued again: {what}.")
    _start_runner(store)


def _device_bars(store: Store, job: jobs.Job) -> None:
    """One bar per device while a sweep runs on several at once; a line once it has ended."""
    bars = device_bars(read_device_progress(store, job.job_id))
    if not bars:
        return
    if job.active:
        for bar in bars:
            st.progress(bar.fraction, text=markdown_text(bar.text))
    else:
        st.caption("Runs per device: " + markdown_text(" · ".join(b.text for b in bars)))


def show_job(store: Store, job: jobs.Job) -> None:
    """One job: its status and progress, and the buttons that apply to it."""
    may = access.current().profiler  # cancel and run again are a profiler's
    with st.container(border=True):
        when = job.created_at.strftime("%Y-%m-%d %H:%M UTC")
        st.markdown(
            f"{STATUS_ICON.get(job.status, '')} **{markdown_text(job.title or job.job_id)}** — "
            f"{job.status} · submitted {when}"
        )
        if job.submitted_by:
            st.text(f"Submitted by {job.submitted_by}")
        if job.status == "running":
            total = job.progress_total or "?"
            eta = f", about {format_duration(job.eta_s)} left" if job.eta_s is not None else ""
            step = job.label or "starting…"
            st.progress(
                job.fraction, text=f"{job.progress_done}/{total} — {markdown_text(step)}{eta}"
            )
            _device_bars(store, job)
        elif job.kind == "profile" and job.status != "queued":
            _device_bars(store, job)
        elif job.status == "queued":
            st.caption("Waiting for the jobs before it to finish.")
        limit = job.request.get("timeout_s")
        if job.active and job.kind == "profile" and isinstance(limit, int | float):
            st.caption(f"Time limit per run: {limit:g} s.")
        if job.message and job.status in ("failed", "interrupted"):
            st.error(markdown_text(job.message, multiline=True))
        elif job.message:
            st.caption(markdown_text(job.message, multiline=True))
        if job.active and not job.cancel_requested and may:
            st.button("Cancel", key=f"{K}.cancel.{job.job_id}", on_click=_cancel,
                      args=(store, job.job_id))  # fmt: skip
        elif job.active and job.cancel_requested:
            st.caption("Cancelling: the run in progress is stopped within seconds.")
        if (
            may
            and job.status in ("failed", "cancelled", "interrupted")
            and uploads.inputs_present(job.request)
        ):
            st.button("Run again", key=f"{K}.again.{job.job_id}", on_click=_run_again,
                      args=(store, job.job_id))  # fmt: skip
        if job.status in ("done", "cancelled") and job.runs_ok:
            st.page_link(
                "app_pages/frontier.py",
                label=f"See its {job.runs_ok} run(s) on the Frontier page",
                icon=":material/scatter_plot:",
            )


def _jobs_section(store: Store) -> None:
    jobs.recover_interrupted(store)
    listed = jobs.list_jobs(store, limit=LIST_LIMIT)
    active = any(j.active for j in listed)
    if st.session_state.get(f"{K}.was_active") and not active:
        st.session_state[f"{K}.was_active"] = False
        st.rerun(scope="app")  # stop polling; refresh the run counts
    st.session_state[f"{K}.was_active"] = active
    if active and st.session_state.get(f"{K}.polling") is False:
        # A job became active in a fragment rerun (Run again): redraw the page so that
        # the list starts polling and follows the job without a reload.
        st.rerun(scope="app")
    note = st.session_state.pop(NOTE, None)
    if note is not None:
        (st.error if note[0] == "error" else st.info)(note[1])
    if not listed:
        st.info("No jobs yet. Upload a model above and submit it.")
        return
    queued = sum(j.status == "queued" for j in listed)
    if queued and jobrunner.runner_pid(store) is None and access.current().profiler:
        st.warning(f"{queued} job(s) are queued but no job runner is running.")
        st.button("Start the job runner", key=f"{K}.start_runner", on_click=_start_runner,
                  args=(store,))  # fmt: skip
    for job in listed:
        show_job(store, job)
    if len(listed) == LIST_LIMIT:
        st.caption(f"The {LIST_LIMIT} most recent jobs are shown.")


def jobs_list(store: Store) -> None:
    """The most recent jobs, redrawn every second while one is queued or running.

    ``run_every`` is fixed when the page draws the fragment, so a job that
    becomes active inside a fragment rerun (Run again) redraws the whole
    page once to start polling, and the end of the last
    active job redraws it once to stop.
    """
    polling = any(j.active for j in jobs.list_jobs(store, statuses=jobs.ACTIVE_STATUSES, limit=1))
    st.session_state[f"{K}.polling"] = polling
    st.fragment(run_every=POLL_S if polling else None)(_jobs_section)(store)
