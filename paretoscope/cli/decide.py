"""``paretoscope decide``: the run to ship under hard constraints, with its evidence.

``paretoscope decide [--store PATH] [--where FIELD=VALUE ...] --require
'METRIC<=VALUE' ... (--maximize METRIC | --minimize METRIC)`` ranks the
feasible runs (``analysis.decide``) and prints the recommendation, the
runners-up within noise of it and the near-misses. Exit status 0 with a
recommendation, 1 when nothing is feasible, 2 for bad input. ``--format
json`` prints ``{"recommended": ROW or null, "feasible": [ROW, ...],
"near_misses": [{"run_id", "violations": [{"metric", "limit", "value", "op",
"by"}]}]}`` where ROW has the columns of ``paretoscope runs``; ``--format md``
prints the decision report (``present.report``) without its chart.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import pandas as pd

from paretoscope.analysis.decide import (
    Constraint,
    Decision,
    DecisionResult,
    Objective,
    Where,
    pooling_note,
)
from paretoscope.core.fields import CLI_GROUP_FIELDS
from paretoscope.present.runtable import render, run_table

__all__ = ["NEAR_MISSES", "add_decide_parser", "cmd_decide", "decision_from_args", "result_json"]

NEAR_MISSES = 10  # near-misses printed, closest first


def add_decide_parser(sub: Any) -> None:
    """Add the ``decide`` subcommand to ``sub`` (``build_parser``'s subparsers)."""
    p = sub.add_parser(
        "decide",
        help="recommend the run to ship under hard constraints (exit 1 when none is feasible)",
    )
    p.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="only runs whose FIELD equals VALUE; repeatable (all apply); FIELD is one of "
        + ", ".join(CLI_GROUP_FIELDS)
        + ", or dim_<name>",
    )
    p.add_argument(
        "--require",
        action="append",
        default=[],
        metavar="METRIC<=VALUE",
        help="a hard constraint, METRIC<=VALUE or METRIC>=VALUE (e.g. 'latency_ms_p99<=20'); "
        "repeatable (all apply); a run missing the metric is not feasible",
    )
    goal = p.add_mutually_exclusive_group(required=True)
    goal.add_argument("--maximize", metavar="METRIC", help="the metric to maximise")
    goal.add_argument("--minimize", metavar="METRIC", help="the metric to minimise")
    then = p.add_mutually_exclusive_group()
    then.add_argument(
        "--then-maximize", metavar="METRIC", help="break ties by maximising this metric"
    )
    then.add_argument(
        "--then-minimize", metavar="METRIC", help="break ties by minimising this metric"
    )
    p.add_argument(
        "--store",
        metavar="PATH",
        help="DuckDB store file (default: $PARETOSCOPE_STORE, else "
        "~/.local/share/paretoscope/paretoscope.duckdb)",
    )
    p.add_argument(
        "--format",
        choices=("table", "csv", "json", "md"),
        default=None,
        help="output format (default: readable text on a terminal, csv when piped); csv: the "
        "feasible runs best first with the columns of `paretoscope runs`, then rank and "
        "within_noise; json: recommended, feasible and near_misses; md: the decision report",
    )


def decision_from_args(args: argparse.Namespace) -> Decision:
    """The decision the arguments ask for; ``InputError`` for anything malformed."""
    objective = (
        Objective(args.maximize, "max") if args.maximize else Objective(args.minimize, "min")
    )
    then = None
    if getattr(args, "then_maximize", None):
        then = Objective(args.then_maximize, "max")
    elif getattr(args, "then_minimize", None):
        then = Objective(args.then_minimize, "min")
    return Decision(
        require=tuple(Constraint.parse(t) for t in args.require),
        where=tuple(Where.parse(t) for t in args.where),
        objective=objective,
        then=then,
    )


def _rows(table: pd.DataFrame) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads(render(table, "json"))
    return rows


def result_json(result: DecisionResult) -> dict[str, Any]:
    """The ``--format json`` object of ``result``."""
    feasible = _rows(run_table(result.feasible))
    return {
        "recommended": feasible[0] if feasible else None,
        "feasible": feasible,
        "near_misses": [
            {
                "run_id": miss.run_id,
                "violations": [
                    {
                        "metric": v.metric,
                        "limit": v.limit,
                        "value": v.value,
                        "op": v.op,
                        "by": v.by,
                    }
                    for v in miss.violations
                ],
            }
            for miss in result.near_misses
        ],
    }


def _text(result: DecisionResult) -> str:
    from paretoscope.present.report import candidates_table

    d = result.decision
    lines = [d.question()]
    rec = result.recommended
    if rec is None:
        lines.append(f"Nothing is feasible among {result.pool} run(s).")
    else:
        lines.append(
            f"Recommended: run {rec['run_id']} ({rec['model']} · {rec['runtime']} · "
            f"{rec['device_name']} · {rec['precision']} · batch {rec['batch_size']}); "
            f"{len(result.feasible)} of {result.pool} run(s) feasible."
        )
        if result.within_noise:
            n = len(result.within_noise)
            lines.append(
                f"  {n} runner(s)-up are indistinguishable from it within noise: "
                + ", ".join(result.within_noise[:5])
                + (" …" if n > 5 else "")
            )
        elif len(result.feasible) > 1:
            lines.append("  No runner-up is within noise of it.")
        if result.noise_note:
            lines.append(f"  ({result.noise_note})")
        if note := pooling_note(result):
            lines.append(f"  {note}")
        table = candidates_table(result, limit=20)
        lines += ["", table.to_string(index=False, max_colwidth=40)]
        if len(result.feasible) > len(table):
            lines.append(
                f"(the best {len(table)} of {len(result.feasible)}; --format csv lists all)"
            )
    if result.near_misses:
        lines += ["", "Near-misses (closest first):"]
        for miss in result.near_misses:
            lines.append(f"  {miss.run_id}: " + "; ".join(v.text() for v in miss.violations))
    return "\n".join(lines) + "\n"


def _csv(result: DecisionResult) -> str:
    table = run_table(result.feasible)
    table["rank"] = range(1, len(table) + 1)
    table["within_noise"] = table["run_id"].astype(str).isin(set(result.within_noise))
    return render(table, "csv")


def _markdown(result: DecisionResult, store: Any, pool: pd.DataFrame) -> str:
    from paretoscope import __version__
    from paretoscope.analysis.decide import paired_evidence
    from paretoscope.present.report import Report, report_markdown

    baseline, paired = paired_evidence(pool, result, None, store.get_record)
    report = Report(result, pool, _cli_link(result.decision), paired, baseline,
                    version=__version__)  # fmt: skip
    return report_markdown(report)


def _cli_link(decision: Decision) -> str:
    from paretoscope.views.decide import DecideView
    from paretoscope.views.links import query_string

    return "/decide?" + query_string(DecideView(decision=decision).to_query())


def cmd_decide(args: argparse.Namespace) -> int:
    """Run ``paretoscope decide``: 0 with a recommendation, 1 when nothing is feasible."""
    from paretoscope.analysis.decide import decide, where_mask
    from store import Store, resolve_store_path

    decision = decision_from_args(args)
    store = Store(resolve_store_path(args.store))
    frame = store.runs_frame(status="ok")
    result = decide(frame, decision, near_misses=NEAR_MISSES)
    fmt = args.format or ("table" if sys.stdout.isatty() else "csv")
    if fmt == "json":
        sys.stdout.write(json.dumps(result_json(result), indent=1) + "\n")
    elif fmt == "csv":
        sys.stdout.write(_csv(result))
    elif fmt == "md":
        pool = frame[where_mask(frame, decision.where)] if decision.where else frame
        sys.stdout.write(_markdown(result, store, pool))
    else:
        sys.stdout.write(_text(result))
    if result.recommended is None:
        names = ", ".join(m.run_id for m in result.near_misses[:5]) or "none"
        print(
            f"paretoscope decide: nothing is feasible among {result.pool} run(s); closest: {names}",
            file=sys.stderr,
        )
        return 1
    return 0
