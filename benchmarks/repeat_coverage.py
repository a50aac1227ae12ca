"""Benchmark: do latency CIs from separate invocations agree, with one process per run or several?

One small configuration (the demo zoo's first MLP, untrained weights, exported
to ONNX; ONNX Runtime, batch 1, one thread, random inputs, the demo's full
timing budget) is profiled ``--invocations`` separate times for each number
of repeats in ``--repeats`` (default 1, 3 and 5), interleaved (1, 3, 5, 1, 3,
5, ...) so that drift in the machine's load hits every setting alike. Each
invocation is what one ``paretoscope profile`` of the run does:
``measure.worker.run_in_worker`` on a spec with that many repeats, each repeat
a fresh worker process. With several repeats the budget's time is split
between them (``measure.repeats.repeat_budget``) unless ``--no-split``.

Reported per setting:

- **pair overlap**: the share of pairs of invocations whose 95% CIs of the
  median overlap (a reader comparing two profiles of the same thing should
  not see a difference);
- **coverage**: the share of CIs that contain the reference, the median of
  all invocations' medians (every setting's together);
- the median relative CI width, the spread of the invocations' medians
  (robust: 1.4826 × MAD over the median), and the mean wall time of an
  invocation.

Run from the repository root (about 5 minutes with the defaults on two cores):

    PYTHONPATH=. python benchmarks/repeat_coverage.py [--invocations 40] [--json out.json]
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import zoo
from measure.devices import host_info
from measure.repeats import repeat_budget
from measure.worker import run_in_worker
from paretoscope.core.hashing import file_sha256
from paretoscope.core.records import ArtifactRef, ModelRef, RunSpec, new_run_id
from paretoscope.profiling.demo import FULL_BUDGET


def _artifact(folder: Path) -> tuple[ArtifactRef, ModelRef, str]:
    entry = zoo.zoo_entries()[0]
    module = zoo.build_module(entry.builder, dict(entry.builder_kwargs))
    path = zoo.export_onnx(module.eval(), folder / f"{entry.name}.onnx")
    artifact = ArtifactRef(file_sha256(path), "onnx", str(path), path.stat().st_size)
    model = ModelRef(model_id=f"bench-{entry.name}", name=entry.name, family="mlp", source="cli")
    return artifact, model, entry.name


def _spec(artifact: ArtifactRef, model: ModelRef, repeats: int, split: bool) -> RunSpec:
    budget = repeat_budget(FULL_BUDGET, repeats) if split else FULL_BUDGET
    return RunSpec(
        run_id=new_run_id(),
        model=model,
        artifact=artifact,
        runtime="ort",
        batch_size=1,
        threads=1,
        budget=budget,
        timeout_s=120.0,
        repeats=repeats,
    )


def _summary(rows: list[dict[str, float]], reference: float) -> dict[str, float]:
    cis = [(r["ci_low_ms"], r["ci_high_ms"]) for r in rows]
    pairs = list(itertools.combinations(cis, 2))
    overlap = sum(a[0] <= b[1] and b[0] <= a[1] for a, b in pairs) / len(pairs)
    covered = sum(lo <= reference <= hi for lo, hi in cis) / len(cis)
    medians = [r["p50_ms"] for r in rows]
    centre = statistics.median(medians)
    mad = statistics.median(abs(m - centre) for m in medians)
    return {
        "invocations": len(rows),
        "pair_overlap": overlap,
        "coverage": covered,
        "median_ci_rel_width": statistics.median(
            (hi - lo) / r["p50_ms"] for r, (lo, hi) in zip(rows, cis, strict=True)
        ),
        "median_p50_ms": centre,
        "spread_rel": 1.4826 * mad / centre,
        "mean_wall_s": statistics.fmean(r["wall_s"] for r in rows),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=40, help="per setting")
    parser.add_argument("--repeats", default="1,3,5", help="comma list of settings")
    parser.add_argument("--no-split", action="store_true", help="every repeat gets the full budget")
    parser.add_argument("--json", type=Path, help="write the figures and every invocation here")
    args = parser.parse_args()
    settings = [int(v) for v in args.repeats.split(",")]
    results: dict[int, list[dict[str, float]]] = {n: [] for n in settings}
    with tempfile.TemporaryDirectory(prefix="paretoscope-bench-") as tmp:
        artifact, model, name = _artifact(Path(tmp))
        for i in range(args.invocations):
            for n in settings:
                t0 = time.monotonic()
                record = run_in_worker(_spec(artifact, model, n, not args.no_split))
                wall = time.monotonic() - t0
                if record.status != "ok" or record.latency is None:
                    print(f"invocation failed: {record.error}", file=sys.stderr)
                    return 1
                lat = record.latency
                results[n].append(
                    {
                        "p50_ms": lat.p50_ms,
                        "ci_low_ms": lat.ci_low_ms,
                        "ci_high_ms": lat.ci_high_ms,
                        "wall_s": wall,
                    }
                )
                print(
                    f"{i + 1:3d} repeats={n}: p50 {lat.p50_ms * 1000:8.2f} µs  CI "
                    f"[{lat.ci_low_ms * 1000:8.2f}, {lat.ci_high_ms * 1000:8.2f}]  {wall:5.2f} s",
                    file=sys.stderr,
                )
    reference = statistics.median(r["p50_ms"] for rows in results.values() for r in rows)
    summary = {n: _summary(rows, reference) for n, rows in results.items()}
    host = host_info()
    print(f"\n{name}, ort, batch 1, 1 thread; reference median {reference * 1000:.2f} µs")
    cores, py = host.cpu_cores_logical, platform.python_version()
    print(f"host: {host.cpu_model}, {cores} logical cores; python {py}")
    print(
        "| repeats | invocations | pair overlap | coverage | median CI width "
        "| spread of p50 | wall per invocation |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for n, s in summary.items():
        print(
            f"| {n} | {s['invocations']} | {s['pair_overlap']:.0%} | {s['coverage']:.0%} | "
            f"{s['median_ci_rel_width']:.1%} | {s['spread_rel']:.1%} | {s['mean_wall_s']:.2f} s |"
        )
    if args.json:
        payload: dict[str, Any] = {
            "model": name,
            "reference_p50_ms": reference,
            "split": not args.no_split,
            "summary": {str(k): v for k, v in summary.items()},
            "invocations": {str(k): v for k, v in results.items()},
            "host": dataclasses.asdict(host),
        }
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
