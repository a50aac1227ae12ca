"""Where each run goes on a Dask cluster: one task per matching device, or per every device."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from measure.cluster.resources import GENERIC_GPU
from paretoscope.core.records import RunSpec

__all__ = ["ALL_DEVICES", "Placement", "place"]

#: The target that fans a run out to every device of the cluster.
ALL_DEVICES = "all"

_RUN_ID_NAMESPACE = uuid.UUID("5d0f3c1e-7a43-4b8e-9d55-6c1f0e2b7a90")


@dataclass(frozen=True)
class Placement:
    """One task: ``spec`` on one device of ``resource``, pinned to ``worker`` (a name) or not.

    ``slot`` picks which of the worker's devices of that resource (0 when
    unpinned); ``key`` names it in progress reports (``per_device``).
    """

    spec: RunSpec
    resource: str
    worker: str | None
    slot: int
    key: str


def _default_resource(spec: RunSpec) -> str:
    """The resource a spec asks for by its device: ``cpu``; ``gpu`` for ``cuda[:N]``; else itself.

    A device that is neither names a resource of the cluster (a kind such as
    ``gpu-h200``, or a worker's own label): a sweep over several kinds puts
    each run on the workers offering its kind.
    """
    if spec.device == "cpu":
        return "cpu"
    if spec.device == "cuda" or spec.device.startswith("cuda:"):
        return GENERIC_GPU
    return spec.device


def _fanned_run_id(run_id: str, worker: str, resource: str, slot: int) -> str:
    # Deterministic, so that placing the same batch again gives the same ids
    # and the store's idempotent ingest keeps one record each.
    return uuid.uuid5(_RUN_ID_NAMESPACE, f"{run_id}|{worker}|{resource}|{slot}").hex


def place(
    specs: Sequence[RunSpec],
    workers: Mapping[str, Mapping[str, float]],
    target: str | None = None,
) -> tuple[list[Placement], list[tuple[RunSpec, str]]]:
    """Where each spec runs, given ``{worker name: resources}``; and the specs that cannot run.

    ``target`` None: each spec on any worker offering ``cpu`` (a CPU spec),
    ``gpu`` (a ``cuda:N`` spec) or the resource its device names
    (``gpu-h200``). A resource name (``gpu-h100-80gb-hbm3``): on any worker offering
    it. ``ALL_DEVICES``: one placement per device of every worker (a worker
    offering ``cpu: 1`` and ``gpu-a100: 2`` gets three; the generic ``gpu`` is
    not counted twice), each with its own run id derived from the spec's. The
    unplaceable come back with the reason, to become failed records.
    """
    placements: list[Placement] = []
    refused: list[tuple[RunSpec, str]] = []
    offered = sorted({r for res in workers.values() for r, n in res.items() if n >= 1})
    for spec in specs:
        if target == ALL_DEVICES:
            slots = [
                (w, r, i)
                for w in sorted(workers)
                for r, n in sorted(workers[w].items())
                if r != GENERIC_GPU
                for i in range(int(n))
            ]
            if not slots:
                refused.append((spec, "the Dask cluster has no worker with a device"))
            for w, r, i in slots:
                run_id = spec.run_id if len(slots) == 1 else _fanned_run_id(spec.run_id, w, r, i)
                placements.append(Placement(replace(spec, run_id=run_id), r, w, i, f"{r} @ {w}"))
            continue
        resource = target or _default_resource(spec)
        if resource not in offered:
            refused.append(
                (
                    spec,
                    f"no worker of the Dask cluster offers the device resource {resource!r} "
                    f"(offered: {', '.join(offered) or 'none'}); start a worker on a machine "
                    "with that device: python -m measure.cluster worker --scheduler ADDRESS",
                )
            )
            continue
        placements.append(Placement(spec, resource, None, 0, resource))
    return placements, refused
