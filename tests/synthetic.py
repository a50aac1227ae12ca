"""Synthetic run records at scale, for the scale benchmark and the 100 000-run catalogue store.

Test fixtures, never shown to users as measurements: every run is labelled
``origin="imported"`` and its models ``synthetic-…``. Deterministic per seed.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np

from paretoscope.core.records import LatencyStats, RunRecord
from tests.factories import CPU, make_record

__all__ = ["synthetic_records"]

FAMILIES = ("mlp", "cnn", "linear", "vit")
RUNTIMES = ("ort", "torch")
PRECISIONS = ("fp32", "int8", "fp16")
BATCHES = (1, 32)
DEVICES = ("cpu", "cuda:0")
THREADS = (1, 2, 4)


GPU = dataclasses.replace(CPU, device_id="host0001:cuda0", kind="cuda", name="Test GPU", index=0)


def _model_id(model: str, precision: str, runtime: str) -> str:
    # The same id tests.factories.make_record gives, so variants can name their parent.
    return hashlib.sha256(f"{model}|{precision}|{runtime}".encode()).hexdigest()[:16]


def synthetic_records(n: int, seed: int = 0) -> list[RunRecord]:
    """``n`` ok runs on a noisy accuracy-vs-latency trade-off; ~1% miss accuracy.

    Non-fp32 runs name the fp32 model of the same name and runtime as parent.
    """
    rng = np.random.default_rng(seed)
    n_models = max(1, n // 50)
    model = rng.integers(0, n_models, n)
    fam = rng.integers(0, len(FAMILIES), n)
    rt = rng.integers(0, len(RUNTIMES), n)
    prec = rng.integers(0, len(PRECISIONS), n)
    bs = rng.integers(0, len(BATCHES), n)
    dev = rng.integers(0, len(DEVICES), n)
    thr = rng.integers(0, len(THREADS), n)
    lat = rng.lognormal(0.0, 1.0, n) * np.where(bs == 1, 1.0, 8.0)
    acc = np.clip(0.7 + 0.05 * np.log1p(lat) + rng.normal(0, 0.03, n), 0.0, 1.0)
    mem = rng.uniform(50, 2000, n)
    no_acc = rng.random(n) < 0.01
    ids = [f"syn{seed:02d}{i:08d}" for i in range(n)]
    out = []
    for i in range(n):
        name = f"synthetic-{FAMILIES[fam[i]]}-{model[i]:05d}"
        p, r = PRECISIONS[prec[i]], RUNTIMES[rt[i]]
        rec = make_record(
            run_id=ids[i],
            model=name,
            family=FAMILIES[fam[i]],
            runtime=r,
            precision=p,
            batch_size=BATCHES[bs[i]],
            threads=THREADS[thr[i]],
            latency_ms=float(lat[i]),
            accuracy=None if no_acc[i] else float(acc[i]),
            peak_mem_mb=float(mem[i]),
            parent_model_id=None if p == "fp32" else _model_id(name, "fp32", r),
            origin="imported",
        )
        # Short sample lists keep a 100 000-run store small on disk.
        lat_stats: LatencyStats | None = rec.latency
        if lat_stats is not None:
            lat_stats = dataclasses.replace(
                lat_stats, samples_ms=lat_stats.samples_ms[:3], quantiles_ms=()
            )
        spec = dataclasses.replace(rec.spec, device=DEVICES[dev[i]])
        device = CPU if DEVICES[dev[i]] == "cpu" else GPU
        out.append(dataclasses.replace(rec, latency=lat_stats, spec=spec, device=device))
    return out
