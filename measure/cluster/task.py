"""The Dask task that measures one run on a worker: local copies, local device, a child process."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from measure.cluster.resources import local_device_map
from measure.cluster.transport import cache_dir, materialise, materialise_with_extras
from paretoscope.core.errors import InputError, UnavailableError
from paretoscope.core.records import RunSpec, from_dict, to_dict

__all__ = ["profile_task"]

_SUFFIX = {"onnx": ".onnx", "torch-state": ".pt", "pt2": ".pt2"}
_RUNTIME_MODULE = {"ort": "onnxruntime", "torch": "torch"}
_STOP_POLL_S = 1.0


def _worker_name() -> str:
    from distributed import get_worker

    try:
        return str(get_worker().name)
    except ValueError:  # not inside a worker (direct call in a test)
        return "local"


def _local_files(
    spec: RunSpec,
    artifact_blob: bytes | None,
    dataset_blob: bytes | None,
    extras: Sequence[tuple[str, str, bytes | None]],
) -> RunSpec:
    """``spec`` pointing at this worker's cached copies of its files.

    Raises ``InputError`` for a hash mismatch or a refused name, ``OSError``
    when the cache cannot be written.
    """
    cache = cache_dir()
    if extras:
        artifact_path = materialise_with_extras(
            artifact_blob, spec.artifact.sha256, extras, cache / "artifacts"
        )
    else:
        artifact_path = materialise(
            artifact_blob,
            spec.artifact.sha256,
            _SUFFIX.get(spec.artifact.format, ""),
            cache / "artifacts",
        )
    dataset = spec.dataset
    if dataset is not None:
        data_path = materialise(dataset_blob, dataset.sha256, ".npz", cache / "datasets")
        dataset = replace(dataset, path=str(data_path))
    return replace(spec, artifact=replace(spec.artifact, path=str(artifact_path)), dataset=dataset)


def _stop_flag(name: str | None) -> Callable[[], bool] | None:
    """Whether the Dask ``Event`` ``name`` is set, asked of the scheduler at most once a second.

    The client sets it when its batch is cancelled, so that runs in flight
    are killed rather than finished for nobody. A scheduler that cannot be
    asked counts as "not set": the run goes on under its own time limit.
    """
    if name is None:
        return None
    from distributed import Event

    state = {"asked": -float("inf"), "set": False}

    def stop() -> bool:
        now = time.monotonic()
        if not state["set"] and now - state["asked"] >= _STOP_POLL_S:
            state["asked"] = now
            with contextlib.suppress(Exception):  # a scheduler hiccup is not a stop
                state["set"] = bool(Event(name).is_set())
        return bool(state["set"])

    return stop


def profile_task(
    spec_json: str,
    resource: str,
    slot: int,
    artifact_blob: bytes | None,
    dataset_blob: bytes | None,
    extras: Sequence[tuple[str, str, bytes | None]] = (),
    stop_event: str | None = None,
) -> dict[str, Any]:
    """Dask task: measure one spec on this worker; ``{"record": dict, "worker": name}``.

    Never raises for a measurement problem: a missing runtime or device, a
    hash mismatch or a crashed run gives a failed record with the reason.
    ``stop_event`` names a Dask ``Event``: once it is set, the run's process
    is killed and ``{"stopped": True, "worker": name}`` is returned instead
    (the client has cancelled the batch and stores nothing for it).
    """
    from measure.worker import describe_exception, failed_record, run_in_worker
    from paretoscope.core.launcher import StopRequested
    from paretoscope.core.timefmt import utc_now_iso

    spec = from_dict(RunSpec, json.loads(spec_json))
    worker = _worker_name()
    started_at = utc_now_iso()
    where = f"on Dask worker {worker} ({resource})"

    def failed(reason: str) -> dict[str, Any]:
        record = failed_record(spec, f"{reason} {where}", started_at=started_at)
        return {"record": to_dict(record), "worker": worker}

    try:
        locals_ = local_device_map().get(resource, [])
    except (ValueError, TypeError, InputError, UnavailableError) as err:
        return failed(f"the worker's device list is unreadable: {describe_exception(err)}")
    if slot >= len(locals_):
        return failed(f"this worker has no device for resource {resource!r} slot {slot}")
    module = _RUNTIME_MODULE.get(spec.runtime)
    if module and importlib.util.find_spec(module) is None:
        return failed(f"runtime {spec.runtime!r} unavailable: {module} is not installed")
    try:
        local = _local_files(spec, artifact_blob, dataset_blob, extras)
    except (InputError, OSError) as err:
        return failed(describe_exception(err))
    try:
        record = run_in_worker(
            replace(local, device=locals_[slot]),
            python=sys.executable,
            should_stop=_stop_flag(stop_event),
        )
    except StopRequested:
        return {"stopped": True, "worker": worker}
    if record.status == "failed":
        record = replace(record, error=f"{record.error} {where}")
    elif record.provenance is not None:
        env = {**record.provenance.env, "dask_worker": worker, "dask_resource": resource}
        record = replace(record, provenance=replace(record.provenance, env=env))
    return {"record": to_dict(record), "worker": worker}
