"""What the regression marks and the history view cost on a 100 000-run frame.

The dashboard computes configuration keys and each run's predecessor once per
loaded frame (``ui.history._index``, cached per frame object until the store
changes), then compares only the runs shown: one page of the Runs table, or
one configuration's history in Run detail. This script times those steps on
a synthetic frame shaped like ``runs_frame`` (no store: the cost measured is
the library's, not DuckDB's).

    PYTHONPATH=$PWD python benchmarks/regression_marks.py [--runs 100000] [--configs 2000]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from paretoscope.analysis.configs import config_history, config_keys, previous_runs
from paretoscope.analysis.gate import regressions_against_previous


def synthetic_frame(n: int, configs: int, seed: int = 0) -> pd.DataFrame:
    """``n`` runs over ``configs`` configurations, shuffled in time, latencies with intervals."""
    rng = np.random.default_rng(seed)
    cfg = rng.integers(0, configs, n)
    p50 = (1.0 + cfg % 50) * rng.lognormal(0.0, 0.05, n)
    half = p50 * 0.02
    return pd.DataFrame(
        {
            "run_id": [f"r{i:07d}" for i in range(n)],
            "status": np.where(rng.random(n) < 0.02, "failed", "ok"),
            "model": [f"model-{c % 97}" for c in cfg],
            "model_id": [f"id-{c % 97}" for c in cfg],
            "runtime": np.where(cfg % 2 == 0, "ort", "torch"),
            "device": "cpu",
            "device_name": "Synthetic CPU",
            "precision": np.where(cfg % 3 == 0, "int8", "fp32"),
            "batch_size": 1 + cfg % 8,
            "threads": 1 + cfg % 4,
            "dataset_name": "digits",
            "dataset_sha256": "d" * 64,
            "started_at": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.permutation(n), "s"),
            "latency_ms_p50": p50,
            "latency_ms_p50_ci_low": p50 - half,
            "latency_ms_p50_ci_high": p50 + half,
            "throughput_per_s": 1000.0 / p50,
            "model_size_mb": 1.0 + cfg % 5,
        }
    )


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--configs", type=int, default=2_000)
    ap.add_argument("--page", type=int, default=100, help="runs compared per Runs page")
    args = ap.parse_args(argv)
    frame = synthetic_frame(args.runs, args.configs)
    t_keys, keys = _timed(lambda: pd.Series(pd.factorize(config_keys(frame))[0]))
    t_prev, prev = _timed(lambda: previous_runs(frame, keys))
    page = frame["run_id"].iloc[: args.page].tolist()
    ids = frame["run_id"].astype(str)

    def marks() -> dict[str, list[str]]:
        wanted = ids.isin(page)
        near = wanted | ids.isin(prev[wanted].dropna().tolist())
        return regressions_against_previous(frame[near], prev[near], page)

    t_marks, found = _timed(marks)
    t_hist, hist = _timed(lambda: config_history(frame, keys, page[0]))
    print(f"{args.runs} runs, {args.configs} configurations")
    print(f"  configuration keys (once per frame):     {t_keys * 1000:8.1f} ms")
    print(f"  previous run of each (once per frame):   {t_prev * 1000:8.1f} ms")
    print(f"  marks of one page ({args.page} runs, per rerun): {t_marks * 1000:8.1f} ms")
    print(f"  one configuration's history ({len(hist)} runs):  {t_hist * 1000:8.1f} ms")
    print(f"  runs of the page marked as regressed: {sum(1 for v in found.values() if v)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
