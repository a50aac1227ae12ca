"""Records for the no-silent-pooling tests: two hosts named alike, two data sets, a sweep.

Test fixtures, never shown to users as measurements.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from paretoscope.core.records import DatasetRef, DeviceInfo, HostInfo, RunRecord
from tests.factories import make_record

HOST_A = HostInfo("aaaa1111", "vm", "Linux", "Xeon", 2, 2, 24000.0, "3.11.7")
HOST_B = HostInfo("bbbb2222", "vm", "Linux", "EPYC", 8, 8, 64000.0, "3.11.7")
CPU_A = DeviceInfo("aaaa1111:cpu", "aaaa1111", "cpu", "Xeon (2 cores)")
CPU_B = DeviceInfo("bbbb2222:cpu", "bbbb2222", "cpu", "EPYC (8 cores)")
DIGITS = DatasetRef("digits-test", "digits", "test", "/nonexistent.npz", 450, "3fa2c1d0" + "0" * 56)
CANCER = DatasetRef(
    "cancer-test", "breast-cancer", "test", "/nonexistent.npz", 114, "9bb01e22" + "0" * 56
)


def trust_record(
    model: str,
    *,
    host: HostInfo = HOST_A,
    device: DeviceInfo = CPU_A,
    dataset: DatasetRef = DIGITS,
    dims: dict[str, int] | None = None,
    origin: str = "measured",
    **kwargs: Any,
) -> RunRecord:
    """A run of ``model`` on ``host``'s ``device``, scored on ``dataset``, at ``dims``."""
    rec = make_record(model=model, host=host, device=device, origin=origin, **kwargs)
    spec = dataclasses.replace(rec.spec, dataset=dataset, dims=dims or {})
    acc = tuple(
        dataclasses.replace(a, dataset_id=dataset.dataset_id, n_samples=dataset.n_samples)
        for a in rec.accuracy
    )
    return dataclasses.replace(rec, spec=spec, accuracy=acc)


def trust_records() -> list[RunRecord]:
    """Two hosts called ``vm`` (one imported), one model on two data sets, a ``seq`` sweep."""
    return [
        trust_record("fast-a", latency_ms=0.5, accuracy=0.99),
        trust_record("slow-a", latency_ms=2.0, accuracy=0.90),
        trust_record(
            "imported-b",
            host=HOST_B,
            device=CPU_B,
            origin="imported",
            latency_ms=3.0,
            accuracy=0.85,
        ),
        trust_record("fast-a", dataset=CANCER, latency_ms=0.6, accuracy=0.80),
        *(
            trust_record("seq-model", dims={"seq": seq}, latency_ms=seq / 16, accuracy=0.7)
            for seq in (32, 128)
        ),
    ]


def with_items(rec: RunRecord, correct: str) -> RunRecord:
    """``rec`` with per-item top-1 correctness ``correct`` over items ``0:len(correct)``."""
    acc = tuple(
        dataclasses.replace(
            a, item_correct=correct, items=f"0:{len(correct)}", n_samples=len(correct)
        )
        for a in rec.accuracy
    )
    return dataclasses.replace(rec, accuracy=acc)
