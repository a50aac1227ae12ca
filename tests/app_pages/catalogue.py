"""A catalogue of awkward stores that every page is run over.

Each entry is a list of synthetic ``RunRecord``s (``tests.factories``); they
are test fixtures, never shown to users as measurements.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from paretoscope.core.records import EnergyStats, RunRecord
from store import Store
from store.bulk import bulk_ingest
from tests.factories import make_record
from tests.synthetic import synthetic_records
from tests.trust_records import trust_records


def empty() -> list[RunRecord]:
    return []


def one_run() -> list[RunRecord]:
    return [make_record()]


def ties() -> list[RunRecord]:
    """Three runs with identical metrics (all on the frontier) and one dominated."""
    same = [make_record(model=f"twin-{i}", latency_ms=1.0, accuracy=0.9) for i in range(3)]
    return [*same, make_record(model="slow", latency_ms=2.0, accuracy=0.85)]


def nan_metrics() -> list[RunRecord]:
    """Runs missing accuracy or latency next to complete ones; energy is never measured."""
    return [
        make_record(model="no-accuracy", accuracy=None, latency_ms=0.2),
        make_record(model="no-latency", latency_ms=None, accuracy=0.99),
        make_record(model="complete-a", latency_ms=0.5, accuracy=0.93),
        make_record(model="complete-b", latency_ms=1.5, accuracy=0.96),
    ]


def all_dominated_but_one() -> list[RunRecord]:
    best = make_record(model="best", latency_ms=0.5, accuracy=0.99)
    worse = [
        make_record(model=f"worse-{i}", latency_ms=0.6 + i * 0.3, accuracy=0.98 - i * 0.01)
        for i in range(5)
    ]
    return [best, *worse]


def failed_only() -> list[RunRecord]:
    return [
        make_record(model="oom", status="failed", error="worker exceeded its 2048 MB memory limit"),
        make_record(
            model="crash", status="failed", error="onnxruntime: unsupported op QLinearConv"
        ),
    ]


def reported_accuracy() -> list[RunRecord]:
    return [
        make_record(model="from-a-card", latency_ms=3.0, accuracy=0.99, accuracy_origin="reported"),
        make_record(model="measured-here", latency_ms=1.0, accuracy=0.95),
    ]


def mixed() -> list[RunRecord]:
    """Two runtimes, two precisions, two batch sizes, two families, energy on some, a failure."""
    out = []
    for i, (runtime, precision, batch, family) in enumerate(
        [
            ("ort", "fp32", 1, "mlp"),
            ("ort", "int8", 1, "mlp"),
            ("torch", "fp32", 1, "mlp"),
            ("torch", "int8", 32, "mlp"),
            ("ort", "fp32", 32, "cnn"),
            ("torch", "fp32", 1, "cnn"),
        ]
    ):
        # Energy on every other run; the rest keep the factory's "unavailable, because".
        extra: dict[str, Any] = (
            {"energy": EnergyStats(0.5, 0.01 * (i + 1), 12.0, "rapl")} if i % 2 else {}
        )
        rec = make_record(
            model=f"{family}-{i}",
            family=family,
            runtime=runtime,
            precision=precision,
            batch_size=batch,
            latency_ms=0.2 * (i + 1),
            accuracy=0.9 + 0.01 * ((i * 7) % 6),
            peak_mem_mb=100.0 + 25 * ((i * 5) % 6),
            **extra,
        )
        out.append(rec)
    out.append(make_record(model="broken", status="failed", error="worker hung past 300 s"))
    return out


def many() -> list[RunRecord]:
    """A hundred and fifty runs on a noisy trade-off curve (ingest costs ~25 ms a run)."""
    rng = random.Random(7)
    return [
        make_record(
            model=f"m{i:03d}",
            family=rng.choice(["mlp", "cnn", "linear"]),
            runtime=rng.choice(["ort", "torch"]),
            precision=rng.choice(["fp32", "int8"]),
            batch_size=rng.choice([1, 32]),
            latency_ms=lat,
            accuracy=min(0.999, 0.8 + 0.05 * lat**0.5 + rng.uniform(-0.03, 0.0)),
        )
        for i, lat in enumerate(rng.uniform(0.05, 10.0) for _ in range(150))
    ]


def huge() -> list[RunRecord]:
    """100 000 synthetic runs (labelled imported), stored with the bulk path (issue 4's scale)."""
    return synthetic_records(HUGE_RUNS, seed=0)


HUGE_RUNS = 100_000

CATALOGUE: dict[str, Callable[[], list[RunRecord]]] = {
    "empty": empty,
    "one_run": one_run,
    "ties": ties,
    "nan_metrics": nan_metrics,
    "all_dominated_but_one": all_dominated_but_one,
    "failed_only": failed_only,
    "reported_accuracy": reported_accuracy,
    "mixed": mixed,
    "many": many,
    "huge": huge,
    # Two hosts called alike (one imported), one model on two data sets, a seq sweep.
    "trust": trust_records,
}


def build_store(path: Path, name: str) -> Store:
    """A store at ``path`` holding catalogue entry ``name``."""
    store = Store(path)
    records = CATALOGUE[name]()
    if len(records) > 1000:
        bulk_ingest(store, records)  # the spooled path takes ~25 ms a run
    elif records:
        store.ingest_many(records)
    return store
