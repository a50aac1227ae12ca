"""Profiling on a Dask cluster: devices as worker resources, artifacts shipped by content hash.

Client side, ``DaskExecutor`` (the ``Executor`` protocol of ``measure.executor``;
module ``executor``): places each ``RunSpec`` on the cluster as one Dask task
per matching device, restricted by worker resources (``placement``); sends
the model file (with an ONNX model's external data files) and the evaluation
set as bytes, once per executor and file, to the workers that may need them
(``transport``); and hands each record to ``on_result`` as it completes, so
the caller (the store's single writer) ingests it. A run that cannot be
placed, or whose worker died more often than Dask allows, becomes a failed
record with the reason; every placement yields exactly one record.

Worker side, ``python -m measure.cluster worker --scheduler ADDRESS`` (or the
``paretoscope-worker`` script; module ``entry``) starts a Dask nanny and
worker with one thread, advertising the devices of this machine as resources
(``resources``): ``cpu`` and, for each CUDA GPU, ``gpu`` plus ``gpu-<model>``
(e.g. ``gpu-h100-80gb-hbm3``). A task (``task``) writes the shipped bytes into
the worker's cache under their sha256 (checked before use), points the spec
at the local copies and the local device, and measures it with
``measure.worker.run_in_worker``: still one fresh child process per run, with
its time and memory limits. It returns the record as a plain dict
(``records.to_dict``); nothing untrusted is unpickled.

Importing this package does not import dask; ``DaskExecutor.run`` and the
worker entry do, and say how to install it when it is absent.
"""

from __future__ import annotations

from measure.cluster.entry import main, worker_main
from measure.cluster.executor import SCHEDULER_ENV, DaskExecutor, executor_from_env
from measure.cluster.placement import ALL_DEVICES, Placement, place
from measure.cluster.resources import DEVICES_ENV, device_map, resource_name, worker_resources
from measure.cluster.task import profile_task
from measure.cluster.transport import (
    CACHE_ENV,
    external_data,
    materialise,
    materialise_with_extras,
)

__all__ = [
    "ALL_DEVICES",
    "CACHE_ENV",
    "DEVICES_ENV",
    "SCHEDULER_ENV",
    "DaskExecutor",
    "Placement",
    "device_map",
    "executor_from_env",
    "external_data",
    "main",
    "materialise",
    "materialise_with_extras",
    "place",
    "profile_task",
    "resource_name",
    "worker_main",
    "worker_resources",
]
