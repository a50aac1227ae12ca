"""The ``paretoscope`` command line: ``build_parser()`` holds its forms, ``main`` runs them.

The forms are a public contract (users' scripts rely on them); docs/cli.md's
"Command line" section is generated from ``build_parser()`` (``make docs``).
Expected failures print one paragraph to stderr (no traceback) and exit 2 for
bad input, 1 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from paretoscope import __version__
from paretoscope.cli.check import add_check_parser, cmd_check
from paretoscope.cli.decide import add_decide_parser, cmd_decide
from paretoscope.cli.lm import add_lm_arguments, plan_lm, resolve_task
from paretoscope.cli.scenarios import add_scenario_arguments, scenario_from_args
from paretoscope.cli.serve import cmd_serve
from paretoscope.core.errors import InputError, ParetoscopeError
from paretoscope.core.metrics import METRICS
from paretoscope.present.progress import ProgressFile, TerminalBar
from paretoscope.present.runtable import GROUP_FIELDS, frontier_table, render, run_table
from store import Store, resolve_store_path

__all__ = ["build_parser", "main"]

# The dashboard (app.py, app_pages/, .streamlit/) is package data: `serve` works from a wheel too.


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


def _demo_parser(sub: Any) -> None:
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
    add_demo_lm_argument(demo)
    demo.add_argument(
        "--example",
        metavar="NAME",
        help="import a committed example bundle instead of measuring: h100 or h200 (examples/)",
    )


def build_parser() -> argparse.ArgumentParser:
    metric_help = "metric key: " + ", ".join(METRICS)
    parser = argparse.ArgumentParser(
        prog="paretoscope",
        description="Measured accuracy-vs-efficiency Pareto frontiers of ML models.",
    )
    parser.add_argument("--version", action="version", version=f"paretoscope {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _demo_parser(sub)

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
    add_decide_parser(sub)

    serve = sub.add_parser(
        "serve",
        help="start the dashboard (on an empty store, the demo is measured in the background)",
    )
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
    add_check_parser(sub)
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
    pr.add_argument(
        "model",
        metavar="MODEL",
        help="a .onnx file (PyTorch: a .pt2 file); a causal LM: a Hugging Face folder, a .zip "
        "of one, or module:function",
    )
    pr.add_argument(
        "--data",
        metavar="FILE",
        help="labelled evaluation data: .npz, .csv, .parquet (a causal LM: text, .txt or .jsonl)",
    )
    pr.add_argument("--builtin-data", metavar="NAME", help="a scikit-learn set: digits, iris, ...")
    pr.add_argument("--label-column", metavar="COL", help="label column of a .csv/.parquet")
    pr.add_argument(
        "--task",
        choices=("classification", "regression", "causal-lm"),
        default=None,
        help="default classification; causal-lm for a folder (or .zip) whose config names one",
    )
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
        "--device",
        default="cpu",
        metavar="cpu,cuda:0",
        help="comma list of devices: cpu, cuda, cuda:N, or all (this host's); default cpu",
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
    add_lm_arguments(pr)
    add_scenario_arguments(pr)
    pr.add_argument("--reported-accuracy", type=float, metavar="F", help="measured elsewhere")
    pr.add_argument(
        "--timeout", type=float, default=300.0, metavar="S", help="per run (each repeat), seconds"
    )
    pr.add_argument("--mem-limit", type=float, metavar="MB", help="per run, MB of resident memory")
    pr.add_argument("--name", help="model name shown in the dashboard (default: file name)")
    _repeats_arg(pr, quick=False)
    pr.add_argument(
        "--op-profile",
        action="store_true",
        help="also profile each run by operator (after its timing); shown in Run detail",
    )
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


def add_demo_lm_argument(demo: argparse.ArgumentParser) -> None:
    """``demo --lms N``: how many of the demo's language models (issue 15)."""
    demo.add_argument(
        "--lms",
        type=int,
        metavar="N",
        help="how many of the demo's tiny language models to train and measure, smallest "
        "first: 0 to 3 (default 3; 0 with --quick)",
    )


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
            lms=getattr(args, "lms", None),
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
    from paretoscope.profiling.devices import cluster_configured, offered_devices, resolve_devices
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
    task = resolve_task(args.task, args.model)
    request = ProfileRequest(
        model_path=args.model,
        data_path=args.data,
        builtin_data=args.builtin_data,
        label_column=args.label_column,
        task=task,  # type: ignore[arg-type]  # one of the choices
        runtimes=tuple(_csv_list(args.runtime)),
        precisions=tuple(_csv_list(args.precision)),
        devices=tuple(_csv_list(args.device)),
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
        op_profile=args.op_profile,
        scenarios=scenario_from_args(args),
    )
    # A device this host lacks is refused before the store is even opened.
    cluster = bool(getattr(args, "cluster", None)) or cluster_configured()
    resolve_devices(request.devices, offered_devices(), cluster=cluster)
    store = _open_store(args.store)
    print(f"store: {store.path}", file=sys.stderr)
    plan = (
        plan_lm(store, request, args, cluster=cluster)
        if task == "causal-lm"
        else plan_profile(store, request, cluster=cluster)
    )
    print(
        f"profiling {plan.model.name} ({sweep_text(plan.request)}): "
        f"{len(plan.variants)} variant(s) to make, {plan.n_runs} run(s) to measure",
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
    "serve": cmd_serve,
    "check": cmd_check,
    "decide": cmd_decide,
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
