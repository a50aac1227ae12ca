"""Benchmark: warm measuring workers against a fresh process per run, in one run.

The same configurations (untrained demo-zoo MLPs, ``measure.zoo.build_mlp``,
on ort and torch, batch 1, 1 thread, one repeat each, the demo's full timing
budget, accuracy on the digits test split as the demo measures it) are
measured by ``LocalExecutor(warm=False)`` (each run in a fresh ``python -m
measure.worker``: the design before issue 13) and by ``LocalExecutor()``
(warm workers, ``measure.pool.WorkerPool``), alternating which design goes
first in each round so both share the machine's noise. Reported:

- configurations per minute of each design (configurations over wall time,
  the executor's whole ``run`` call, process starts and shutdown included);
- the share of wall time spent in timing windows (sum of each record's
  ``latency.total_time_s`` over the wall time), and the same with the
  end-to-end window every run has had since issue 14 (``serving.e2e``);
- per configuration the median latency of each design (round 1's p50 with
  its 95% CI, and the median over rounds) and the ratio new/old of the
  medians over rounds. Agreement is judged against the noise of repeating
  the *old* design: the ratios old(round j)/old(round i) over every
  configuration and pair of rounds span a band; a configuration agrees
  when its new/old ratio lies inside that band (``--rounds`` >= 2 needed).

Goal (issue 13): at least 60 configurations per minute with one repeat each
on 2 cores, timing at least a third of the wall time.

``--demo`` instead times ``python -m paretoscope demo --store NEW`` (an
empty store, PYTHONPATH set to this checkout) from start to exit (its last
run stored), and splits it into preparation (start to the first run's
start: splitting, training, exporting, quantising) and measuring (first
run's start to the last run's end), from the stored records.

Run from the repository root:

    PYTHONPATH=. python benchmarks/warm_workers.py [--size demo|1ms] [--models 8] [--rounds 2]
        [--json out.json]
    PYTHONPATH=. python benchmarks/warm_workers.py --demo [--json out.json]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from measure.executor import LocalExecutor
from paretoscope.core.records import (
    ArtifactRef,
    DatasetRef,
    ModelRef,
    RunRecord,
    RunSpec,
    TimingBudget,
    new_run_id,
)

# The demo's full budget (paretoscope.profiling.demo.FULL_BUDGET).
DEMO_BUDGET = TimingBudget(
    warmup_iters=10, min_iters=30, min_time_s=0.2, max_time_s=1.0, target_ci_rel=0.01
)
TINY_BUDGET = TimingBudget(
    warmup_iters=3, min_iters=10, max_iters=5_000, min_time_s=0.02, max_time_s=0.1
)
# (width, depth) of the MLPs, in the demo zoo's range; the first --models are used.
SHAPES: tuple[tuple[int, int], ...] = (
    (32, 1), (64, 1), (128, 1), (256, 1), (32, 2), (64, 2), (128, 2), (256, 2),
    (512, 1), (512, 2), (96, 1), (96, 2),
)  # fmt: skip
# Wider and deeper MLPs whose forward pass at batch 1 on one thread takes about
# 1 ms on a 2026 EPYC core (the "~1 ms models"): ``--size 1ms``.
SHAPES_1MS: tuple[tuple[int, int], ...] = (
    (1024, 6), (1280, 4), (1536, 3), (2048, 2), (1024, 8), (1280, 5), (1536, 4), (2048, 3),
    (1024, 10), (1280, 6), (1536, 5), (2048, 4),
)  # fmt: skip
SIZES = {"demo": SHAPES, "1ms": SHAPES_1MS}


@dataclass(frozen=True)
class Config:
    """One configuration: a model on a runtime (batch 1, 1 thread, on the CPU)."""

    name: str
    runtime: str
    artifact: ArtifactRef

    @property
    def label(self) -> str:
        return f"{self.name} {self.runtime}"


def _artifact(path: Path, fmt: str, builder: str | None, kwargs: dict[str, int]) -> ArtifactRef:
    from paretoscope.core.hashing import file_sha256

    return ArtifactRef(
        sha256=file_sha256(path),
        format=fmt,  # type: ignore[arg-type]
        path=str(path),
        size_bytes=path.stat().st_size,
        precision="fp32",
        builder=builder,
        builder_kwargs=dict(kwargs),
    )


def build_configs(
    folder: Path, n_models: int, shapes: tuple[tuple[int, int], ...] = SHAPES
) -> tuple[list[Config], DatasetRef]:
    """``n_models`` MLPs saved as a state dict and as ONNX, and the digits test split."""
    from measure import zoo
    from measure.datasets import digits_split, eval_dataset_id, write_eval_npz
    from paretoscope.core.hashing import file_sha256

    split = digits_split()
    npz = write_eval_npz(split, folder / "digits-test.npz")
    dataset = DatasetRef(
        dataset_id=eval_dataset_id(),
        name="digits",
        split="test",
        path=str(npz),
        n_samples=len(split.y_test),
        sha256=file_sha256(npz),
        source="scikit-learn",
    )
    configs: list[Config] = []
    for width, depth in shapes[:n_models]:
        name = f"mlp-w{width}-d{depth}"
        kwargs = {"width": width, "depth": depth}
        module = zoo.build_module("measure.zoo:build_mlp", kwargs).eval()
        state = zoo.save_state(module, folder / f"{name}.pt")
        onnx = zoo.export_onnx(module, folder / f"{name}.onnx")
        configs.append(Config(name, "ort", _artifact(onnx, "onnx", None, {})))
        configs.append(
            Config(name, "torch", _artifact(state, "torch-state", "measure.zoo:build_mlp", kwargs))
        )
    return configs, dataset


def spec_for(config: Config, dataset: DatasetRef | None, budget: TimingBudget) -> RunSpec:
    """A fresh spec of ``config``: batch 1, 1 thread, one repeat."""
    return RunSpec(
        run_id=new_run_id(),
        model=ModelRef(
            model_id=f"bench-{config.name}", name=config.name, family="mlp", source="cli"
        ),
        artifact=config.artifact,
        runtime=config.runtime,  # type: ignore[arg-type]
        batch_size=1,
        threads=1,
        dataset=dataset,
        budget=budget,
        timeout_s=120.0,
        repeats=1,
    )


@dataclass(frozen=True)
class DesignRun:
    """One design's pass over every configuration."""

    design: str
    wall_s: float
    records: list[RunRecord]

    @property
    def timing_s(self) -> float:
        return sum(r.latency.total_time_s for r in self.records if r.latency is not None)

    @property
    def all_timing_s(self) -> float:
        """Both timed windows: the device-resident one and the end-to-end one (issue 14)."""
        e2e = sum(
            r.serving.e2e.total_time_s
            for r in self.records
            if r.serving is not None and r.serving.e2e is not None
        )
        return self.timing_s + e2e


def run_design(
    design: str, configs: list[Config], dataset: DatasetRef | None, budget: TimingBudget
) -> DesignRun:
    """Measure every configuration once with ``design`` (``old`` or ``new``)."""
    executor = LocalExecutor(warm=design == "new")
    specs = [spec_for(c, dataset, budget) for c in configs]
    records: list[RunRecord] = []
    t0 = time.monotonic()
    executor.run(specs, records.append)
    return DesignRun(design, time.monotonic() - t0, records)


def ratio_band(old_p50s: list[list[float]]) -> tuple[float, float]:
    """(lowest, highest) ratio old(round j)/old(round i), i < j, over all configurations.

    ``old_p50s[c]`` are configuration c's old-design medians, one per round.
    (1.0, 1.0) with fewer than two rounds.
    """
    ratios = [
        b / a for p50s in old_p50s for a, b in itertools.combinations(p50s, 2) if a > 0 and b > 0
    ]
    ratios += [1 / r for r in ratios]  # which round came first is arbitrary
    return (min(ratios), max(ratios)) if ratios else (1.0, 1.0)


def agreement(
    old_p50s: list[list[float]], new_p50s: list[list[float]]
) -> tuple[list[float], tuple[float, float], list[bool]]:
    """Per configuration new/old of the medians over rounds, the old-vs-old band, inside it."""
    band = ratio_band(old_p50s)
    ratios = [
        statistics.median(new) / statistics.median(old)
        for old, new in zip(old_p50s, new_p50s, strict=True)
    ]
    return ratios, band, [band[0] <= r <= band[1] for r in ratios]


def summarise(runs: list[DesignRun], configs: list[Config]) -> dict[str, Any]:
    """Throughput, timing share and per-configuration medians of both designs."""
    out: dict[str, Any] = {"designs": {}, "configs": []}
    for design in ("old", "new"):
        mine = [r for r in runs if r.design == design]
        wall = sum(r.wall_s for r in mine)
        n = sum(len(r.records) for r in mine)
        failed = sum(rec.status != "ok" for r in mine for rec in r.records)
        out["designs"][design] = {
            "configs": n,
            "failed": failed,
            "wall_s": round(wall, 2),
            "configs_per_min": round(60 * n / wall, 1) if wall else None,
            "timing_share": round(sum(r.timing_s for r in mine) / wall, 3) if wall else None,
            "timing_share_both_windows": (
                round(sum(r.all_timing_s for r in mine) / wall, 3) if wall else None
            ),
        }

    def p50s(design: str) -> list[list[float]]:
        mine = [r for r in runs if r.design == design]
        return [
            [lat.p50_ms for r in mine if (lat := r.records[i].latency) is not None]
            for i in range(len(configs))
        ]

    old, new = p50s("old"), p50s("new")
    usable = [i for i in range(len(configs)) if old[i] and new[i]]
    ratios, band, inside = agreement([old[i] for i in usable], [new[i] for i in usable])
    out["old_vs_old_band"] = [round(band[0], 4), round(band[1], 4)]
    out["agree"] = sum(inside)
    out["compared"] = len(usable)
    if ratios:
        out["median_ratio_new_old"] = round(statistics.median(ratios), 4)
    for k, i in enumerate(usable):
        row: dict[str, Any] = {"config": configs[i].label}
        for design in ("old", "new"):
            # The first round's record of this configuration that has a latency.
            lat = next(
                r.records[i].latency
                for r in runs
                if r.design == design and r.records[i].latency is not None
            )
            assert lat is not None
            row[design] = {
                "p50_ms": round(lat.p50_ms, 5),
                "ci_ms": [round(lat.ci_low_ms, 5), round(lat.ci_high_ms, 5)],
                "median_over_rounds_ms": round(
                    statistics.median((old if design == "old" else new)[i]), 5
                ),
            }
        row["ratio_new_old"] = round(ratios[k], 4)
        row["agrees"] = inside[k]
        out["configs"].append(row)
    return out


def bench_workers(
    n_models: int, rounds: int, budget: TimingBudget, size: str = "demo", accuracy: bool = True
) -> dict[str, Any]:
    """Build the models, measure them ``rounds`` times under both designs, alternating.

    ``accuracy=False`` measures efficiency only (no evaluation data, as a
    ``profile`` without ``--data``): evaluating 360 items at batch 1 costs
    360 forward passes, about half a second on a ~1 ms model.
    """
    with tempfile.TemporaryDirectory(prefix="warm-workers-") as tmp:
        configs, digits = build_configs(Path(tmp), n_models, SIZES[size])
        dataset = digits if accuracy else None
        runs: list[DesignRun] = []
        for k in range(rounds):
            order = ("old", "new") if k % 2 == 0 else ("new", "old")
            for design in order:
                run = run_design(design, configs, dataset, budget)
                runs.append(run)
                print(
                    f"round {k + 1} {design}: {len(configs)} configurations in {run.wall_s:.1f} s",
                    file=sys.stderr,
                )
        return {"size": size, "accuracy": accuracy, **summarise(runs, configs)}


def _iso_seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def bench_demo(quick: bool) -> dict[str, Any]:
    """Time ``paretoscope demo --store NEW`` on an empty store; phases from its records."""
    from store import Store

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="warm-demo-") as tmp:
        store_path = Path(tmp) / "demo.duckdb"
        env = {**os.environ, "PYTHONPATH": str(root)}
        argv = [sys.executable, "-m", "paretoscope", "demo", "--store", str(store_path)]
        if quick:
            argv.append("--quick")
        started = time.time()
        t0 = time.monotonic()
        done = subprocess.run(argv, env=env, cwd=tmp, capture_output=True, text=True)
        wall = time.monotonic() - t0
        if done.returncode != 0:
            raise SystemExit(f"the demo failed ({done.returncode}):\n{done.stderr[-2000:]}")
        frame = Store(store_path).runs_frame(status=None)
        records = [Store(store_path).get_record(str(i)) for i in frame["run_id"]]
        starts = [_iso_seconds(r.started_at) for r in records if r is not None]
        ends = [_iso_seconds(r.finished_at) for r in records if r is not None and r.finished_at]
        timing = sum(
            r.latency.total_time_s for r in records if r is not None and r.latency is not None
        )
        return {
            "command": " ".join(["paretoscope", *argv[3:]]),
            "wall_s": round(wall, 1),
            "runs": len(records),
            "ok": int((frame["status"] == "ok").sum()),
            "prepare_s": round(min(starts) - started, 1) if starts else None,
            "measure_s": round(max(ends) - min(starts), 1) if starts and ends else None,
            "timing_s": round(timing, 1),
        }


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=8, help="MLPs (each on ort and torch)")
    parser.add_argument("--rounds", type=int, default=2, help="passes of each design")
    parser.add_argument("--tiny", action="store_true", help="a tiny budget (tests)")
    parser.add_argument(
        "--size",
        choices=sorted(SIZES),
        default="demo",
        help="demo: the demo zoo's MLPs (6-60 us); 1ms: MLPs of about 1 ms at batch 1",
    )
    parser.add_argument(
        "--no-accuracy", action="store_true", help="efficiency only: no evaluation data"
    )
    parser.add_argument("--demo", action="store_true", help="time the demo on an empty store")
    parser.add_argument("--quick", action="store_true", help="with --demo: the --quick demo")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    head = {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_before": _load(),
    }
    if args.demo:
        result: dict[str, Any] = {**head, "demo": bench_demo(args.quick)}
    else:
        budget = TINY_BUDGET if args.tiny else DEMO_BUDGET
        n_models, rounds = max(args.models, 1), max(args.rounds, 1)
        figures = bench_workers(n_models, rounds, budget, args.size, not args.no_accuracy)
        result = {**head, **figures}
    result["load_after"] = _load()
    text = json.dumps(result, indent=2)
    print(text)
    for design, figures in result.get("designs", {}).items():
        print(
            f"{design}: {figures['configs_per_min']} configurations/min, timing "
            f"{figures['timing_share']:.0%} of wall time ("
            f"{figures['timing_share_both_windows']:.0%} with the end-to-end window), "
            f"{figures['failed']} failed",
            file=sys.stderr,
        )
    if args.json is not None:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
