"""Benchmark: does the latency harness report what simpler timers report, and what does it cost?

On one thread, in one process, a torch MLP calibrated to about 1 ms per batch
is timed three ways, interleaved over several rounds so that drift on a busy
machine hits all three alike:

- ``measure.timing.measure_latency`` (the harness, default ``TimingBudget``),
- a bare loop: ``perf_counter_ns`` around each call, appended to a list,
- ``torch.utils.benchmark.Timer.blocked_autorange`` (median of block means).

The harness's own cost is then measured on a no-op step: its wall time per
iteration (total timed window over iterations, which includes the appends,
the chunked stopping-rule checks and the two clock reads) minus that of an
untimed ``for`` loop calling the same no-op.

Acceptance (issue 2): medians within 10% of both references, overhead under
5 µs per iteration. Run from the repository root:

    PYTHONPATH=. python benchmarks/harness_overhead.py [--rounds 9] [--json out.json]
"""

from __future__ import annotations

import argparse
import functools
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable

import torch
import torch.utils.benchmark as torch_benchmark

from measure.devices import host_info
from measure.timing import measure_latency
from paretoscope.core.records import TimingBudget

TARGET_MS = 1.0
WIDTH = 512
BATCH = 16
BARE_ITERS = 1000
NOOP_ITERS = 200_000


def build_model(depth: int) -> torch.nn.Module:
    """``depth`` blocks of Linear(512, 512) + ReLU."""
    layers: list[torch.nn.Module] = []
    for _ in range(depth):
        layers += [torch.nn.Linear(WIDTH, WIDTH), torch.nn.ReLU()]
    return torch.nn.Sequential(*layers).eval()


def bare_median_ms(step: Callable[[], object], iters: int) -> float:
    """Median of ``iters`` individually timed calls, with nothing else in the loop."""
    perf = time.perf_counter_ns
    samples: list[int] = []
    append = samples.append
    for _ in range(iters):
        t0 = perf()
        step()
        append(perf() - t0)
    return statistics.median(samples) / 1e6


def torch_timer_median_ms(model: torch.nn.Module, x: torch.Tensor) -> float:
    timer = torch_benchmark.Timer(stmt="model(x)", globals={"model": model, "x": x}, num_threads=1)
    return float(timer.blocked_autorange(min_run_time=0.5).median) * 1e3


def calibrate(x: torch.Tensor) -> int:
    """The depth whose forward pass takes about ``TARGET_MS``: estimate, then correct once."""
    depth = 1
    for _ in range(2):
        model = build_model(depth)
        for _ in range(30):
            model(x)
        per_block_ms = bare_median_ms(functools.partial(model, x), 200) / depth
        depth = max(1, min(64, round(TARGET_MS / per_block_ms)))
    return depth


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (default 9)")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(BATCH, WIDTH)
    budget = TimingBudget()  # the harness's defaults, as runs use them

    with torch.inference_mode():
        depth = calibrate(x)
        model = build_model(depth)

        def step() -> object:
            return model(x)

        for _ in range(50):
            step()
        harness, harness_mean, bare, timer = [], [], [], []

        def time_harness() -> None:
            stats = measure_latency(step, None, budget)
            harness.append(stats.p50_ms)
            harness_mean.append(stats.mean_ms)

        def time_bare() -> None:
            bare.append(bare_median_ms(step, BARE_ITERS))

        def time_torch() -> None:
            timer.append(torch_timer_median_ms(model, x))

        methods = [time_harness, time_bare, time_torch]
        for i in range(args.rounds):
            # Rotate the order each round so no method always runs first.
            for method in methods[i % 3 :] + methods[: i % 3]:
                method()
            print(
                f"round {i + 1}: harness p50 {harness[-1]:.4f} ms (mean {harness_mean[-1]:.4f}), "
                f"bare {bare[-1]:.4f} ms, torch Timer {timer[-1]:.4f} ms",
                flush=True,
            )

    def noop() -> None:
        return None

    overheads, harness_noop_p50, bare_noop_p50 = [], [], []
    noop_budget = TimingBudget(
        warmup_iters=1000, min_iters=NOOP_ITERS, max_iters=NOOP_ITERS, max_time_s=60.0
    )
    for _ in range(args.rounds):
        stats = measure_latency(noop, None, noop_budget)
        harness_per_iter_us = stats.total_time_s / stats.n_iter * 1e6
        t0 = time.perf_counter_ns()
        for _ in range(NOOP_ITERS):
            noop()
        bare_per_iter_us = (time.perf_counter_ns() - t0) / NOOP_ITERS / 1e3
        overheads.append(harness_per_iter_us - bare_per_iter_us)
        harness_noop_p50.append(stats.p50_ms * 1e3)
        bare_noop_p50.append(bare_median_ms(noop, NOOP_ITERS) * 1e3)

    med = statistics.median
    result = {
        "host": host_info().cpu_model,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "model": f"{depth} x (Linear({WIDTH}, {WIDTH}) + ReLU), batch {BATCH}, 1 thread",
        "rounds": args.rounds,
        "harness_p50_ms": med(harness),
        "bare_loop_p50_ms": med(bare),
        "torch_timer_median_ms": med(timer),
        "harness_mean_ms": med(harness_mean),
        "ratio_harness_to_bare": med(h / b for h, b in zip(harness, bare, strict=True)),
        "ratio_harness_to_torch_timer": med(h / t for h, t in zip(harness, timer, strict=True)),
        "overhead_us_per_iter": med(overheads),
        "noop_sample_us_harness": med(harness_noop_p50),
        "noop_sample_us_bare": med(bare_noop_p50),
    }
    ok = (
        abs(result["ratio_harness_to_bare"] - 1) <= 0.10
        and abs(result["ratio_harness_to_torch_timer"] - 1) <= 0.10
        and result["overhead_us_per_iter"] < 5.0
    )
    result["acceptance_met"] = ok

    print(f"model: {result['model']} on {result['host']}")
    print(f"  harness p50            {result['harness_p50_ms']:.4f} ms")
    print(f"  bare loop p50          {result['bare_loop_p50_ms']:.4f} ms")
    print(f"  torch Timer median     {result['torch_timer_median_ms']:.4f} ms")
    print(f"  harness mean           {result['harness_mean_ms']:.4f} ms")
    print(f"  harness / bare         {result['ratio_harness_to_bare']:.3f}")
    print(f"  harness / torch Timer  {result['ratio_harness_to_torch_timer']:.3f}")
    print(f"  overhead per iteration {result['overhead_us_per_iter']:.3f} µs (no-op step)")
    print(
        f"  no-op sample p50       harness {result['noop_sample_us_harness']:.3f} µs, "
        f"bare {result['noop_sample_us_bare']:.3f} µs"
    )
    print(f"  acceptance (±10%, < 5 µs): {'met' if ok else 'NOT met'}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
