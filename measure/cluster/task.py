"""The Dask task that measures one run on a worker: local copies, local device, a child process."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from measure.cluster.resources import local_device_map
from measure.cluster.transport import cache_dir, materialise, materialise_with_extras
from paretoscope.core.errors import InputError, UnavailableError
from paretoscope.core.records import RunSpec, from_dict, to_dict

__all__ = ["profile_task"]

_SUFFIX = {"onnx": ".onnx", "torch-state": ".pt", "pt2": ".pt2"}
_RUNTIME_MODULE = {"ort": "onnxruntime", "torch": "torch"}


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


def profile_task(
    spec_json: str,
    resource: str,
    slot: int,
    artifact_blob: bytes | None,
    dataset_blob: bytes | None,
    extras: Sequence[tuple[str, str, bytes | None]] = (),
) -> dict[str, Any]:
    """Dask task: measure one spec on this worker; ``{"record": dict, "worker": name}``.

    Never raises for a measurement problem: a missing runtime or device, a
    hash mismatch or a crashed run gives a failed record with the reason.
    """
    from measure.worker import describe_exception, failed_record, run_in_worker
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
    record = run_in_worker(replace(local, device=locals_[slot]), python=sys.executable)
    if record.status == "failed":
        record = replace(record, error=f"{record.error} {where}")
    elif record.provenance is not None:
        env = {**record.provenance.env, "dask_worker": worker, "dask_resource": resource}
        record = replace(record, provenance=replace(record.provenance, env=env))
    return {"record": to_dict(record), "worker": worker}
