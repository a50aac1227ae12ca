"""``paretoscope check``: the regression gate for CI (exit 0 pass, 1 regression, 2 bad input).

The baseline is a result bundle or a store file, read without writing to it
(``store.baseline``); the current runs are those of ``--store`` (``--against``
is the same option under the name a CI script may read better). Nothing
matched is not bad input: the report says so and the exit status is 0,
because no regression was measured; ``--require-match`` makes a baseline
configuration missing from the current store fail the check (exit 1).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from paretoscope.analysis.configs import MATCHES
from paretoscope.analysis.regression import DEFAULT_TOLERANCE_PCT, Tolerance, parse_tolerance
from paretoscope.core.errors import InputError

__all__ = ["add_check_parser", "cmd_check"]


def add_check_parser(sub: Any) -> None:
    """Register ``check`` on the ``paretoscope`` subparsers."""
    ck = sub.add_parser(
        "check",
        help="regression gate: compare the store's runs with a baseline bundle or store "
        "(exit 0 pass, 1 regression beyond tolerance, 2 bad input)",
    )
    ck.add_argument(
        "--baseline",
        required=True,
        metavar="BUNDLE_OR_STORE",
        help="a result bundle (paretoscope export) or a store file; only read",
    )
    ck.add_argument(
        "--store",
        metavar="PATH",
        help="the current store (default: $PARETOSCOPE_STORE, else "
        "~/.local/share/paretoscope/paretoscope.duckdb); --against PATH is the same option",
    )
    ck.add_argument("--against", dest="store", metavar="PATH", help=argparse.SUPPRESS)
    ck.add_argument(
        "--tolerance",
        action="append",
        default=[],
        metavar="METRIC=AMOUNT",
        help="allowed worsening of a metric before a significant change fails, e.g. "
        f"'latency_ms_p50=+10%%' or 'accuracy=-0.01' (repeatable; default "
        f"{DEFAULT_TOLERANCE_PCT:g}%% for efficiency metrics, 0 for quality metrics); naming "
        "a metric without a stored interval (p99, memory) gates it on the tolerance alone",
    )
    ck.add_argument(
        "--match",
        choices=MATCHES,
        default="name",
        help="match models by name (default: a changed model file is compared with the one "
        "it replaces) or by content (the model id holds the file's sha256)",
    )
    ck.add_argument(
        "--require-match",
        action="store_true",
        help="fail (exit 1) when a baseline configuration has no run in the current store",
    )
    ck.add_argument(
        "--format",
        choices=("table", "json", "md"),
        default="table",
        help="table (terminal), json (one object) or md (Markdown to paste into a PR)",
    )


def _tolerances(items: list[str]) -> dict[str, Tolerance]:
    out: dict[str, Tolerance] = {}
    for item in items:
        key, tol = parse_tolerance(item)
        out[key] = tol
    return out


def cmd_check(args: argparse.Namespace) -> int:
    """Run the gate; print the report to stdout and a one-line verdict to stderr."""
    from paretoscope.analysis.gate import check_runs
    from paretoscope.present.regression import render_check
    from store import Store, resolve_store_path
    from store.baseline import baseline_store, check_columns

    tolerances = _tolerances(args.tolerance)  # bad syntax: InputError, exit 2, before any I/O
    path = resolve_store_path(args.store)
    if not path.is_file():
        # A gate must not pass on a mistyped path by creating an empty store there.
        raise InputError(f"no current store at {path}: the file does not exist (--store PATH).")
    current = Store(path)
    cur = check_columns(current, current.runs_frame(status="ok"))
    with baseline_store(args.baseline) as base_store:
        base = check_columns(base_store, base_store.runs_frame(status="ok"))
    report = check_runs(base, cur, tolerances, args.match)
    sys.stdout.write(render_check(report, args.format))
    code = report.exit_code
    missing = len(report.matching.only_baseline)
    if args.require_match and missing:
        print(
            f"paretoscope check: {missing} baseline configuration(s) have no run in the current "
            "store (--require-match)",
            file=sys.stderr,
        )
        code = 1
    if report.exit_code:
        names = sorted(set(report.regressions["metric"]))
        print(f"paretoscope check: regression in {', '.join(names)}", file=sys.stderr)
    elif report.n_matched == 0:
        print("paretoscope check: nothing matched the baseline, nothing tested", file=sys.stderr)
    return code
