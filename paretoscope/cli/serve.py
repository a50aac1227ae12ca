"""``paretoscope serve``: the dashboard in the foreground, an empty store's first run beside it.

The Streamlit server runs in its own process group (``run_foreground`` passes
signals on); on an empty store a thread launches the demo in the background
(``jobs.background``, the job the dashboard's button starts), imports the
example bundle and follows the demo's progress on one terminal line.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from paretoscope.core.errors import InputError
from paretoscope.core.launcher import run_foreground
from paretoscope.present.progress import TerminalBar
from store import Store, resolve_store_path

__all__ = ["DASHBOARD_DIR", "access_notice", "cmd_serve"]

DASHBOARD_DIR = Path(__file__).resolve().parents[1] / "webapp"


def access_notice(address: str) -> None:
    """Check the access settings before serving (``AccessError`` says what is wrong); say so."""
    import os

    from paretoscope.core.access import load_access_config

    mode = load_access_config(os.environ).mode
    if mode != "open":
        print(f"Access: {mode} (docs/access.md).", file=sys.stderr)
    elif address not in ("localhost", "127.0.0.1", "::1"):
        print(
            f"Warning: serving on {address} with no access control: anyone who reaches the "
            "port is a profiler. Set PARETOSCOPE_PROFILER_TOKEN or an identity provider "
            "(docs/access.md).",
            file=sys.stderr,
        )


def _terminate_as_interrupt(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def cmd_serve(args: argparse.Namespace) -> int:
    access_notice(args.address)  # before anything runs: bad settings stop here
    # Before the server starts, SIGTERM unwinds like Ctrl-C; while the server runs,
    # run_foreground passes SIGINT, SIGTERM and SIGHUP on to its process group. Either
    # way _serve then stops the background demo it started.
    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        return _serve(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(args: argparse.Namespace) -> int:
    store = Store(resolve_store_path(args.store))
    app = DASHBOARD_DIR / "app.py"
    if not app.exists():
        raise InputError(f"cannot find the dashboard at {app}; reinstall Paretoscope")
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.port", str(args.port),
        "--server.address", args.address,
        "--server.headless", "true",
        "--browser.gatherUsageStats", "false",
        "--", "--store", str(store.path),
    ]  # fmt: skip
    print(f"Dashboard: http://{args.address}:{args.port}  (store: {store.path})", file=sys.stderr)
    first_run = None
    if store.run_count(status="ok") == 0 and not (args.no_demo and args.no_example):
        first_run = _FirstRun(
            store,
            args.port,
            demo=not args.no_demo,
            example=not args.no_example,
            quick=getattr(args, "demo_quick", False),
        )
    try:
        return run_foreground(cmd, cwd=DASHBOARD_DIR, env={"PARETOSCOPE_STORE": str(store.path)})
    except KeyboardInterrupt:
        return 0
    finally:
        if first_run is not None:
            first_run.stop()


def _launch_demo(store: Store, *, quick: bool) -> Any:
    """Start (or join) the store's background demo, the job the dashboard's button starts."""
    from paretoscope.jobs import background

    job = background.launch_demo(store.path, store.files_dir, quick=quick)
    print(
        "The store is empty: measuring the demo zoo on this host in the background "
        f"(pid {job.pid}, log {job.log_file}); the Frontier page fills in as runs land.",
        file=sys.stderr,
    )
    return job


class _FirstRun:
    """An empty store's first run, beside the dashboard: the demo, the example, the progress.

    In a thread, so the dashboard answers at once: once it answers (its start
    comes first on few cores), the demo is launched in the background (the
    job the dashboard's button starts: ``jobs.background``), then the example
    bundle is imported, then the demo's progress is followed on one terminal
    line until it ends. ``stop``, when serve ends, stops a demo still running:
    left behind it would measure on for minutes with nothing showing it; run
    again (``paretoscope demo``), it resumes where it stopped.
    """

    def __init__(self, store: Store, port: int, *, demo: bool, example: bool, quick: bool) -> None:
        import threading

        self.store, self.port = store, port
        self.demo, self.example, self.quick = demo, example, quick
        self.job: Any = None
        self.bar = TerminalBar()
        self.event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        from paretoscope.jobs import background

        _wait_for_health(self.port, self.event, timeout_s=30.0)
        if self.event.is_set():
            return
        if self.demo:
            self.job = _launch_demo(self.store, quick=self.quick)
        if self.example:
            from paretoscope.profiling.examples import import_example

            # Runs measured on an H100 machine, kept as imported with that host, so a
            # new user sees CPU-vs-GPU frontiers at once, beside this host's as they land.
            print(import_example(self.store, "h100").summary(), file=sys.stderr)
        if self.job is None:
            return
        state = background.follow_job(self.job, self._show, self.event)
        self.bar.close()
        if state is not None:
            print(_demo_outcome(state.status, state.message), file=sys.stderr)

    def _show(self, p: Any) -> None:
        if p.total > 0:  # nothing to show before the demo has planned its steps
            self.bar.update(p.done, p.total, p.label, p.elapsed_s, p.eta_s)

    def stop(self) -> None:
        from paretoscope.jobs import background

        self.event.set()
        self.thread.join(timeout=5.0)
        if self.job is None:
            return
        done = (background.read_progress(self.job.progress_file) or background.Progress()).done
        again = f"`paretoscope demo --store {self.store.path}`"
        message = f"stopped when the dashboard stopped; {again} measures the rest"
        if background.stop_job(self.job, message=message):
            self.bar.close()
            print(
                f"Stopped the background demo after {done} step(s); {again} measures the rest "
                "(it resumes).",
                file=sys.stderr,
            )


def _demo_outcome(status: str, message: str) -> str:
    """The terminal's summary line of a finished background demo."""
    first = message.strip().splitlines()[0] if message.strip() else ""
    if status == "succeeded":
        return f"Demo finished: {first}" if first else "Demo finished."
    return f"Demo failed: {first} (see the Frontier page for its log)"


def _wait_for_health(port: int, stop: Any, timeout_s: float) -> bool:
    """Whether the dashboard on ``port`` of this machine answered within ``timeout_s``."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not stop.is_set():
        try:
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/_stcore/health", timeout=1
            ) as resp:
                if resp.status == 200:
                    return True
        except OSError:
            pass
        stop.wait(0.3)
    return False
