"""Benchmark: do two single-threaded Dask workers profile a batch of runs twice as fast as one?

One in-process scheduler and two worker processes started with the project's
own entry (``python -m measure.cluster worker``), each with one thread and
offering the CPU; worker ``bench-a`` also offers the resource ``bench-a``.
A batch of identical runs (a small torch MLP saved as a state dict, one
thread, a fixed amount of timed work: ``target_ci_rel=1e-9`` so that every run
does exactly ``--iters`` timed iterations) is measured through
``DaskExecutor`` alternately

- on one worker (target ``bench-a``: only ``bench-a`` may run them), and
- on both workers (target ``cpu``),

for several rounds, so that drift in the machine's load hits both alike.
Reported per round: wall time of the batch and runs per second; then the
median rate of each and the median of the per-round speedups (two workers
over one). Each run still starts its own measuring process, so the time of a
run includes starting Python and importing torch, as it does in production.

Acceptance (issue 6): a speedup of about 2; the script exits 1 when the median
speedup is below ``--min-speedup`` (default 1.6). Run from the repository root:

    PYTHONPATH=. python benchmarks/cluster.py [--runs 8] [--rounds 3] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import distributed

from measure import testing
from measure.cluster import DaskExecutor
from measure.devices import host_info
from paretoscope.core.records import RunRecord, TimingBudget

ROOT = Path(__file__).resolve().parent.parent


def start_worker(address: str, name: str, extra: list[str], log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable, "-m", "measure.cluster", "worker", "--scheduler", address,
        "--name", name, "--devices", "cpu", *extra,
    ]  # fmt: skip
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    with log.open("wb") as out:
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def load_avg() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8, help="runs per batch")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (one worker, two)")
    parser.add_argument("--iters", type=int, default=2000, help="timed iterations per run")
    parser.add_argument("--min-speedup", type=float, default=1.6)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    budget = TimingBudget(
        warmup_iters=20,
        min_iters=args.iters,
        max_iters=args.iters,
        min_time_s=0.0,
        max_time_s=600.0,
        target_ci_rel=1e-9,  # never met: every run does the same work
    )
    tmp = Path(tempfile.mkdtemp(prefix="paretoscope-bench-cluster-"))
    model = testing.save_state(testing.tiny_mlp(64, 256, 10), tmp / "mlp.pt")
    artifact = testing.artifact_ref(
        model, "torch-state", builder="measure.testing:tiny_mlp", builder_kwargs={"hidden": 256}
    )

    cluster = distributed.LocalCluster(
        n_workers=0, processes=True, dashboard_address=None, silence_logs=40
    )
    client = distributed.Client(cluster.scheduler_address, set_as_default=False)
    workers = [
        start_worker(
            cluster.scheduler_address, "bench-a", ["--resource", "bench-a=cpu"], tmp / "a.log"
        ),
        start_worker(cluster.scheduler_address, "bench-b", [], tmp / "b.log"),
    ]
    rounds: list[dict[str, Any]] = []  # one JSON row per round
    try:
        client.wait_for_workers(2, timeout=180)
        # Warm both workers (imports, the artifact cache) before timing anything.
        warm = [testing.make_spec(artifact, "torch", budget=budget) for _ in range(2)]
        DaskExecutor(client=client, target="cpu").run(warm, lambda r: None)
        for i in range(args.rounds):
            row: dict[str, Any] = {"round": i + 1, "load_before": load_avg()}
            order = ("one", "two") if i % 2 == 0 else ("two", "one")
            for mode in order:
                specs = [
                    testing.make_spec(artifact, "torch", budget=budget, timeout_s=600)
                    for _ in range(args.runs)
                ]
                records: list[RunRecord] = []
                target = "bench-a" if mode == "one" else "cpu"
                t0 = time.perf_counter()
                executor = DaskExecutor(client=client, target=target)
                executor.run(specs, records.append)
                wall = time.perf_counter() - t0
                executor.close()
                failed = [r.error for r in records if r.status != "ok"]
                if failed:
                    print(f"failed runs: {failed}", file=sys.stderr)
                    return 1
                p50 = statistics.median(r.latency.p50_ms for r in records if r.latency)
                workers_used = sorted(
                    {r.provenance.env.get("dask_worker", "?") for r in records if r.provenance}
                )
                row[mode] = {
                    "wall_s": round(wall, 2),
                    "runs_per_s": round(len(records) / wall, 4),
                    "latency_p50_ms_median": round(p50, 4),
                    "workers": workers_used,
                }
            one, two = row["one"], row["two"]
            assert isinstance(one, dict) and isinstance(two, dict)
            row["speedup"] = round(two["runs_per_s"] / one["runs_per_s"], 3)
            rounds.append(row)
            print(json.dumps(row), flush=True)
    finally:
        for proc in workers:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in workers:
            proc.wait(timeout=60)
        client.close()
        cluster.close()

    def median(mode: str, key: str) -> float:
        return statistics.median(float(r[mode][key]) for r in rounds)

    host = host_info()
    summary = {
        "host": f"{host.cpu_model}, {host.cpu_cores_logical} logical cores",
        "python": platform.python_version(),
        "runs_per_batch": args.runs,
        "timed_iters_per_run": args.iters,
        "rounds": rounds,
        "median_runs_per_s_one_worker": median("one", "runs_per_s"),
        "median_runs_per_s_two_workers": median("two", "runs_per_s"),
        "median_speedup": statistics.median(float(r["speedup"]) for r in rounds),
    }
    summary["met"] = summary["median_speedup"] >= args.min_speedup
    print(json.dumps({k: v for k, v in summary.items() if k != "rounds"}, indent=2))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0 if summary["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
