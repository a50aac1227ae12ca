"""Decide benchmark (issue 16): one Decide page rerun's library work over a big runs frame.

Measures, each ``--repeats`` times, the median wall time (with min/max and the
median process CPU time) of what one Decide rerun executes after the decision
changed, from the cached runs frame of a synthetic store (``store.bulk``, as
``scale.py`` builds it):

- ``decide_s``: ``analysis.decide`` (filters, constraints, ranking, noise,
  near-misses);
- ``rerun_s``: that, plus the candidates and near-miss tables and the chart's
  Vega-Lite specification (thinned to ``MAX_DRAWN`` runs), as the page sends it.

Each repeat asks another question (another latency limit), so none reuses
the last one's answer. The report is built only on a download; it is not timed.

Run from the repository root:
    PYTHONPATH=. python benchmarks/decide.py --runs 100000 --json decide.json
Exits 1 when the median rerun misses ``TARGET_S``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from paretoscope.analysis.decide import Constraint, Decision, Objective, decide
from paretoscope.present.charts.decide import decision_chart
from paretoscope.present.charts.spec import vega_lite_spec
from paretoscope.present.report import candidates_table, near_miss_table

TARGET_S = 1.0


def _scale() -> Any:
    """benchmarks/scale.py as a module (for its store builder and timers)."""
    spec = importlib.util.spec_from_file_location(
        "_bench_scale", Path(__file__).with_name("scale.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def decision(i: int) -> Decision:
    """The ``i``-th question: accuracy and a latency limit that moves, max throughput."""
    return Decision(
        require=(
            Constraint("latency_ms_p50", "<=", 2.0 + 0.5 * i),
            Constraint("accuracy", ">=", 0.7),
        ),
        objective=Objective("throughput_per_s", "max"),
        then=Objective("peak_mem_mb", "min"),
    )


def rerun(frame: pd.DataFrame, d: Decision) -> int:
    """The library path of one Decide rerun; returns the number of feasible runs."""
    result = decide(frame, d)
    candidates_table(result, limit=500)
    near_miss_table(result)
    vega_lite_spec(decision_chart(frame, result))
    return len(result.feasible)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=100_000)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--store", type=Path, help="reuse (or build) this store")
    p.add_argument("--json", type=Path, help="write the figures here")
    args = p.parse_args(argv)
    scale = _scale()
    path = args.store or Path(tempfile.mkdtemp()) / "decide.duckdb"
    store, _ = scale.build_store(path, args.runs)
    frame = store.runs_frame(status="ok")
    counter = iter(range(10**6))
    out = {
        "runs": len(frame),
        "decide_s": scale._measure(lambda: decide(frame, decision(next(counter))), args.repeats),
        "rerun_s": scale._measure(lambda: rerun(frame, decision(next(counter))), args.repeats),
        "load_1m": os.getloadavg()[0],
    }
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0 if out["rerun_s"]["median"] <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
