"""The ``paretoscope`` command line: ``build_parser()`` holds its forms, ``main`` runs them.

The forms are a public contract (users' scripts rely on them); docs/cli.md's
"Command line" section is generated from ``build_parser()`` (``make docs``).
Expected failures print one paragraph to stderr (no traceback) and exit 2 for
bad input, 1 otherwise.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paretoscope import __version__
from paretoscope.core.errors import InputError, ParetoscopeError
from paretoscope.core.launcher import run_foreground
from paretoscope.core.metrics import METRICS
from paretoscope.present.progress import ProgressFile, TerminalBar
from paretoscope.present.runtable import GROUP_FIELDS, frontier_table, render, run_table
from store import Store, resolve_store_path

__all__ = ["build_parser", "main"]

# The dashboard (app.py, app_pages/, .streamlit/) is package data: `serve` works from a wheel too.
DASHBOARD_DIR = Path(__file__).resolve().parents[1] / "webapp"


def _store_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--store",
        metavar="PATH",
        help="DuckDB store file (default: $PARETOSCOPE_STORE, else "
        "~/.local/share/paretoscope/paretoscope.duckdb)",
    )


def _format_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--format",
        choices=("csv", "json", "table"),
        default=None,
        help="output format (default: an aligned table with units on a terminal, csv when "
        "piped or redirected); csv and json carry every column at full precision",
    )


def _write_table(table: Any, fmt: str | None, metrics: Sequence[str] = ()) -> None:
    """``table`` to stdout: ``fmt``, else a readable table on a terminal and CSV otherwise."""
    import shutil

    from paretoscope.present.clitable import text_table

    if fmt is None:
        fmt = "table" if sys.stdout.isatty() else "csv"
    if fmt == "table":
        width = shutil.get_terminal_size((100, 24)).columns
        sys.stdout.write(text_table(table, metrics=metrics, width=width))
    else:
        sys.stdout.write(render(table, fmt))


def _cluster_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="measure on the Dask cluster whose scheduler is at ADDRESS, e.g. tcp://host:8786 "
        "(default: $PARETOSCOPE_DASK_SCHEDULER, else worker processes on this host)",
    )


def _repeats_arg(p: argparse.ArgumentParser, *, quick: bool) -> None:
    from paretoscope.profiling.request import DEFAULT_REPEATS, MAX_REPEATS

    p.add_argument(
        "--repeats",
        type=int,
        metavar="N",
        help=f"measure each run's latency in N fresh processes that share its timing budget; "
        f"the CI of the median is then taken between them (1 to {MAX_REPEATS}; default "
        f"{DEFAULT_REPEATS}" + (", 1 with --quick)" if quick else ")"),
    )


def _executor(args: argparse.Namespace) -> Any:
    """The executor for ``--cluster``/``$PARETOSCOPE_DASK_SCHEDULER``, else a local one."""
    from measure.cluster import executor_from_env

    return executor_from_env(getattr(args, "cluster", None))


def build_parser() -> argparse.ArgumentParser:
    metric_help = "metric key: " + ", ".join(METRICS)
    parser = argparse.ArgumentParser(
        prog="paretoscope",
        description="Measured accuracy-vs-efficiency Pareto frontiers of ML models.",
    )
    parser.add_argument("--version", action="version", version=f"paretoscope {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser(
        "demo", help="train the demo model zoo and measure it on this host into the store"
    )
    _store_arg(demo)
    _cluster_arg(demo)
    demo.add_argument("--quick", action="store_true", help="a small subset, for tests")
    demo.add_argument(
        "--force", action="store_true", help="measure again even if this host has demo runs"
    )
    demo.add_argument("--progress-file", metavar="FILE", help=argparse.SUPPRESS)
    demo.add_argument(
        "--device",
        default="cpu",
        metavar="LIST",
        help="comma list of devices to measure on: cpu, cuda, cuda:N (default cpu)",
    )
    _repeats_arg(demo, quick=True)
    demo.add_argument(
        "--example",
        metavar="NAME",
        help="import a committed example bundle instead of measuring (h100: CPU and H100 GPU)",
    )

    runs = sub.add_parser("runs", help="list successful runs, one row each")
    _store_arg(runs)
    _format_arg(runs)
    runs.add_argument("--all", action="store_true", help="include failed runs")

    fr = sub.add_parser("frontier", help="list the runs on the Pareto frontier over metrics")
    fr.add_argument("--x", required=True, metavar="METRIC", help=metric_help)
    fr.add_argument("--y", required=True, metavar="METRIC", help=metric_help)
    fr.add_argument("--z", action="append", default=[], metavar="METRIC", help="further objectives")
    fr.add_argument(
        "--by",
        metavar="FIELD",
        help="one frontier per value of: "
        + ", ".join(GROUP_FIELDS)
        + ", or dim_<name> (a symbolic dimension); frontiers are always also split by "
        "device name, and by data set when an objective is scored on data",
    )
    _store_arg(fr)
    _format_arg(fr)

    serve = sub.add_parser("serve", help="start the dashboard (on an empty store, measures the demo in the background)")
    _store_arg(serve)
    serve.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    serve.add_argument(
        "--address",
        default="localhost",
        help="address to listen on (default localhost: this machine only). Another address "
        "(e.g. 0.0.0.0) exposes the dashboard to the network: without a profiler token or an "
        "identity provider (docs/access.md), anyone who reaches the port may upload "
        "and run models, import runs and delete saved views",
    )
    serve.add_argument(
        "--no-demo", action="store_true", help="do not measure the demo zoo on an empty store"
    )
    # Tests: the background demo is `paretoscope demo --quick`.
    serve.add_argument("--demo-quick", action="store_true", help=argparse.SUPPRESS)
    serve.add_argument(
        "--no-example",
        action="store_true",
        help="do not import the example H100 bundle into an empty store",
    )
    _share_parsers(sub)
    _profile_parser(sub)
    return parser


def _csv_list(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def _int_list(flag: str, text: str) -> tuple[int, ...]:
    try:
        return tuple(int(t) for t in _csv_list(text))
    except ValueError:
        raise InputError(f"{flag} takes whole numbers separated by commas, got {text!r}") from None


def _profile_parser(sub: Any) -> None:
    pr = sub.add_parser(
        "profile", help="measure your own ONNX (or trusted local PyTorch) model and its variants"
    )
    pr.add_argument("model", metavar="MODEL", help="a .onnx file (PyTorch: a .pt2 file)")
    pr.add_argument("--data", metavar="FILE", help="labelled evaluation data: .npz, .csv, .parquet")
    pr.add_argument("--builtin-data", metavar="NAME", help="a scikit-learn set: digits, iris, ...")
    pr.add_argument("--label-column", metavar="COL", help="label column of a .csv/.parquet")
    pr.add_argument("--task", choices=("classification", "regression"), default="classification")
    pr.add_argument(
        "--runtime", default="ort", metavar="ort,torch", help="comma list of runtimes (default ort)"
    )
    pr.add_argument(
        "--precision",
        default="fp32",
        metavar="fp32,fp16,int8,int8-static",
        help="comma list of precisions to make and measure (default fp32)",
    )
    pr.add_argument(
        "--batch", default="1", metavar="1,8", help="comma list of batch sizes (default 1)"
    )
    pr.add_argument(
        "--threads", default="1", metavar="1,2", help="comma list of thread counts (default 1)"
    )
    pr.add_argument(
        "--dim", action="append", default=[], metavar="NAME=VALUE", help="a symbolic dimension"
    )
    pr.add_argument("--reported-accuracy", type=float, metavar="F", help="measured elsewhere")
    pr.add_argument(
        "--timeout", type=float, default=300.0, metavar="S", help="per run (each repeat), seconds"
    )
    pr.add_argument("--mem-limit", type=float, metavar="MB", help="per run, MB of resident memory")
    pr.add_argument("--name", help="model name shown in the dashboard (default: file name)")
    _repeats_arg(pr, quick=False)
    pr.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)
    _store_arg(pr)
    _cluster_arg(pr)


def _share_parsers(sub: Any) -> None:
    ex = sub.add_parser("export", help="write runs to a result bundle (Parquet) for another store")
    ex.add_argument("--out", required=True, metavar="FILE.parquet", help="bundle file to write")
    _store_arg(ex)
    for flag, what in (
        ("--runtime", "runtime (ort, torch)"),
        ("--device", "device (cpu, cuda:0, ...)"),
        ("--precision", "precision (fp32, int8, ...)"),
        ("--model", "model name"),
    ):
        ex.add_argument(flag, action="append", default=[], help=f"only this {what}; repeatable")
    ex.add_argument(
        "--status", action="append", default=[], choices=("ok", "failed"), help="repeatable"
    )
    im = sub.add_parser("import", help="store the runs of a result bundle (idempotent)")
    im.add_argument("bundle", metavar="FILE.parquet", help="bundle made by `paretoscope export`")
    _store_arg(im)


def _open_store(path: str | None) -> Store:
    return Store(resolve_store_path(path))


def _cmd_demo(args: argparse.Namespace) -> int:
    from paretoscope.profiling.demo import import_example, run_demo

    store = _open_store(args.store)
    if getattr(args, "example", None):
        print(import_example(store, args.example).summary(), file=sys.stderr)
        return 0
    bar = TerminalBar()
    pfile = ProgressFile(args.progress_file) if args.progress_file else None

    def on_progress(p: object) -> None:
        fields = (
            int(getattr(p, "done", 0)),
            int(getattr(p, "total", 0)),
            str(getattr(p, "label", "")),
            float(getattr(p, "elapsed_s", 0.0)),
            getattr(p, "eta_s", None),
        )
        bar.update(*fields)
        if pfile:
            pfile.update(*fields)

    print(f"store: {store.path}", file=sys.stderr)
    try:
        summary = run_demo(
            store,
            quick=args.quick,
            force=args.force,
            on_progress=on_progress,
            executor=_executor(args),
            devices=_csv_list(getattr(args, "device", "cpu")) or ["cpu"],
            repeats=getattr(args, "repeats", None),
        )
    except BaseException as err:
        bar.close()
        if pfile:
            pfile.finish(False, f"{type(err).__name__}: {err}")
        raise
    bar.close()
    message = str(summary)
    if pfile:
        pfile.finish(True, message)
    print(message, file=sys.stderr)
    return 0


def _cmd_runs(args: argparse.Namespace) -> int:
    store = _open_store(args.store)
    frame = store.runs_frame(status=None if args.all else "ok")
    table = run_table(frame)
    if args.all:
        table["status"] = frame["status"].to_numpy()
        table["error"] = frame["error"].to_numpy()
    _write_table(table, args.format)
    return 0


def _cmd_frontier(args: argparse.Namespace) -> int:
    metrics = [args.x, args.y, *args.z]
    store = _open_store(args.store)
    table = run_table(store.runs_frame(status="ok"))
    _write_table(frontier_table(table, metrics, by=args.by), args.format, metrics)
    return 0


def _access_notice(address: str) -> None:
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


def _cmd_serve(args: argparse.Namespace) -> int:
    _access_notice(args.address)  # before anything runs: bad settings stop here
    # Before the server starts, SIGTERM unwinds like Ctrl-C; while the server runs,
    # run_foreground passes SIGINT, SIGTERM and SIGHUP on to its process group. Either
    # way _serve then stops the background demo it started.
    previous = signal.signal(signal.SIGTERM, _terminate_as_interrupt)
    try:
        return _serve(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _serve(args: argparse.Namespace) -> int:
    store = _open_store(args.store)
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


def _cmd_export(args: argparse.Namespace) -> int:
    from store.bundle import BundleFilters, export_bundle

    store = _open_store(args.store)
    filters = BundleFilters(
        runtime=tuple(args.runtime),
        device=tuple(args.device),
        precision=tuple(args.precision),
        model=tuple(args.model),
        status=tuple(args.status),
    )
    n = export_bundle(store, args.out, filters)
    print(f"wrote {n} run{'s' if n != 1 else ''} to {args.out}", file=sys.stderr)
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from store.bundle import import_bundle

    store = _open_store(args.store)
    result = import_bundle(store, args.bundle)
    print(result.summary(), file=sys.stderr)
    return 0


def _cmd_profile(args: argparse.Namespace) -> int:
    from paretoscope.core.records import TimingBudget
    from paretoscope.profiling import ProfileRequest, plan_profile, run_profile
    from paretoscope.profiling.request import DEFAULT_REPEATS, sweep_text

    dims: dict[str, tuple[int, ...]] = {}
    for item in args.dim:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InputError(f"--dim takes NAME=VALUE (e.g. --dim seq=128), got {item!r}")
        dims[name.strip()] = _int_list(f"--dim {name}", value)
    budget = TimingBudget()
    if args.quick:
        budget = TimingBudget(warmup_iters=3, min_iters=10, min_time_s=0.02, max_time_s=0.2)
    request = ProfileRequest(
        model_path=args.model,
        data_path=args.data,
        builtin_data=args.builtin_data,
        label_column=args.label_column,
        task=args.task,
        runtimes=tuple(_csv_list(args.runtime)),
        precisions=tuple(_csv_list(args.precision)),
        batches=_int_list("--batch", args.batch),
        threads=_int_list("--threads", args.threads),
        dims=dims,
        reported_accuracy=args.reported_accuracy,
        timeout_s=args.timeout,
        mem_limit_mb=args.mem_limit,
        source="cli",
        name=args.name,
        budget=budget,
        repeats=args.repeats if args.repeats is not None else 1 if args.quick else DEFAULT_REPEATS,
    )
    store = _open_store(args.store)
    print(f"store: {store.path}", file=sys.stderr)
    plan = plan_profile(store, request)
    print(
        f"profiling {plan.model.name} ({sweep_text(request)}): {len(plan.variants)} variant(s) "
        f"to make, {plan.n_runs} run(s) to measure",
        file=sys.stderr,
    )
    for note in plan.notes:
        print(f"  note: {note}", file=sys.stderr)
    bar = TerminalBar()
    try:
        summary = run_profile(
            store,
            plan,
            executor=_executor(args),
            on_progress=lambda p: bar.update(p.done, p.total, p.label, p.elapsed_s, p.eta_s),
        )
    finally:
        bar.close()
    print(str(summary), file=sys.stderr)
    if summary.n_failed or summary.n_ok == 0:
        first = summary.failures[0] if summary.failures else "no run finished"
        print(
            f"paretoscope profile: {summary.n_failed} of {summary.n_planned} run(s) failed; "
            f"the first: {first}. The failed runs are stored with their reasons "
            "(paretoscope runs --all).",
            file=sys.stderr,
        )
        return 1
    return 0


_COMMANDS = {
    "profile": _cmd_profile,
    "export": _cmd_export,
    "import": _cmd_import,
    "demo": _cmd_demo,
    "runs": _cmd_runs,
    "frontier": _cmd_frontier,
    "serve": _cmd_serve,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``paretoscope`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except InputError as err:
        print(f"paretoscope {args.command}: {err}", file=sys.stderr)
        return 2
    except ParetoscopeError as err:
        print(f"paretoscope {args.command}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"paretoscope {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
