"""Profiling on a Dask cluster: devices as worker resources, artifacts shipped by content hash.

Client side, ``DaskExecutor`` (the ``Executor`` protocol of ``measure.executor``):
places each ``RunSpec`` on the cluster as one Dask task per matching device,
restricted by worker resources; sends the model file (with an ONNX model's
external data files) and the evaluation set as bytes, once per executor and
file, to the workers that may need them; and hands each record to ``on_result`` as it
completes, so the caller (the store's single writer) ingests it. A run that
cannot be placed, or whose worker died more often than Dask allows, becomes a
failed record with the reason; every placement yields exactly one record.

Worker side, ``python -m measure.cluster worker --scheduler ADDRESS`` (or the
``paretoscope-worker`` script) starts a Dask nanny and worker with one thread,
advertising the devices of this machine as resources: ``cpu`` and, for each
CUDA GPU, ``gpu`` plus ``gpu-<model>`` (e.g. ``gpu-h100-80gb-hbm3``). A task
writes the shipped bytes into the worker's cache under their sha256 (checked
before use), points the spec at the local copies and the local device, and
measures it with ``measure.worker.run_in_worker``: still one fresh child
process per run, with its time and memory limits. It returns the record as a
plain dict (``records.to_dict``); nothing untrusted is unpickled.

Importing this module does not import dask; ``DaskExecutor.run`` and the
worker entry do, and say how to install it when it is absent.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import json
import logging
import os
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from measure.executor import Progress, run_label
from paretoscope.core.errors import InputError, UnavailableError
from paretoscope.core.records import ArtifactRef, RunRecord, RunSpec, from_dict, to_dict

__all__ = [
    "ALL_DEVICES",
    "DEVICES_ENV",
    "SCHEDULER_ENV",
    "DaskExecutor",
    "Placement",
    "device_map",
    "external_data",
    "main",
    "materialise",
    "materialise_with_extras",
    "place",
    "resource_name",
    "worker_main",
    "worker_resources",
]

#: The scheduler address the CLI and the dashboard use when ``--cluster`` is not given.
SCHEDULER_ENV = "PARETOSCOPE_DASK_SCHEDULER"
#: JSON ``{resource: [local device, ...]}`` of a worker, set by the worker entry.
DEVICES_ENV = "PARETOSCOPE_CLUSTER_DEVICES"
#: Where a worker keeps shipped artifacts (default ``~/.cache/paretoscope/cluster``).
CACHE_ENV = "PARETOSCOPE_CLUSTER_CACHE"
#: The target that fans a run out to every device of the cluster.
ALL_DEVICES = "all"

_INSTALL_HINT = "install the cluster extra: pip install 'paretoscope[cluster]'"
_GENERIC_GPU = "gpu"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SUFFIX = {"onnx": ".onnx", "torch-state": ".pt", "pt2": ".pt2"}
_RUNTIME_MODULE = {"ort": "onnxruntime", "torch": "torch"}
_RUN_ID_NAMESPACE = uuid.UUID("5d0f3c1e-7a43-4b8e-9d55-6c1f0e2b7a90")
_POLL_S = 0.2
_STUCK_CHECK_S = 2.0

log = logging.getLogger(__name__)


# --- devices as resources ---------------------------------------------------------------


def resource_name(kind: str, name: str = "") -> str:
    """The Dask resource a device is advertised as: ``cpu``, or ``gpu-<model>`` for a GPU.

    The model name is lower-cased, a leading vendor word dropped and every run
    of other characters made one ``-``: ``NVIDIA H100 80GB HBM3`` gives
    ``gpu-h100-80gb-hbm3``.
    """
    if kind == "cpu":
        return "cpu"
    model = re.sub(r"^(nvidia|amd|intel)\s+", "", name.strip().lower())
    model = re.sub(r"[^a-z0-9]+", "-", model).strip("-")
    return f"gpu-{model}" if model else _GENERIC_GPU


def device_map(
    devices: Sequence[str] | None = None, aliases: Mapping[str, str] | None = None
) -> dict[str, list[str]]:
    """``{resource: [local device, ...]}`` this machine offers, e.g. ``{"cpu": ["cpu"]}``.

    ``devices`` (``cpu``, ``cuda:N``) limits it to those; default: the CPU and
    every CUDA GPU torch sees (which imports torch). GPUs are listed under
    their model's resource and under ``gpu``. ``aliases`` maps further
    resource names to local devices (``{"dev-a": "cpu"}``), to label a device
    by hand. Raises ``InputError`` for a device string that is not
    ``cpu``/``cuda:N`` and ``UnavailableError`` for a GPU this host lacks.
    """
    from measure.devices import cuda_devices, host_info

    host = host_info()
    wanted = list(devices) if devices is not None else None
    result: dict[str, list[str]] = {}
    if wanted is None or "cpu" in wanted:
        result["cpu"] = ["cpu"]
    cuda_wanted = None if wanted is None else [d for d in wanted if d != "cpu"]
    for d in cuda_wanted or []:
        kind, _, index = d.partition(":")
        if kind != "cuda" or not index.isdigit():
            raise InputError(f"unknown device {d!r}; use 'cpu' or 'cuda:N'")
    if cuda_wanted is None or cuda_wanted:
        gpus = cuda_devices(host)
        for gpu in gpus:
            local = f"cuda:{gpu.index}"
            if cuda_wanted is not None and local not in cuda_wanted:
                continue
            result.setdefault(resource_name("cuda", gpu.name), []).append(local)
            result.setdefault(_GENERIC_GPU, []).append(local)
        missing = [d for d in cuda_wanted or [] if d not in result.get(_GENERIC_GPU, [])]
        if missing:
            raise UnavailableError(
                f"this host has {len(gpus)} CUDA device(s) visible to torch; "
                f"cannot offer {', '.join(missing)}"
            )
    for alias, local in (aliases or {}).items():
        result.setdefault(alias, []).append(local)
    return result


def worker_resources(devices: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Dask resources for a device map: how many devices of each resource."""
    return {name: float(len(locals_)) for name, locals_ in devices.items() if locals_}


# --- placing runs -----------------------------------------------------------------------


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
    return "cpu" if spec.device == "cpu" else _GENERIC_GPU


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

    ``target`` None: each spec on any worker offering ``cpu`` (a CPU spec) or
    ``gpu``. A resource name (``gpu-h100-80gb-hbm3``): on any worker offering
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
                if r != _GENERIC_GPU
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


# --- worker side ------------------------------------------------------------------------


def _cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "paretoscope" / "cluster"


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def materialise(blob: bytes | None, sha256: str, suffix: str, cache: Path) -> Path:
    """The cached file with content ``sha256``, written from ``blob`` if not there yet.

    The file is named by its hash, so a spec cannot point anywhere else, and
    the hash is checked both of the bytes received and of a file found in the
    cache (a corrupt one is replaced). Raises ``InputError`` on a mismatch.
    """
    if not _SHA256.match(sha256):
        raise InputError(f"artifact hash {sha256[:80]!r} is not a sha256 hex digest")
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{sha256}{suffix}"
    if path.exists():
        with contextlib.suppress(OSError):
            if _sha256_file(path) == sha256:
                return path
    if blob is None:
        raise InputError(f"file {sha256[:12]}… was not sent to this worker")
    got = hashlib.sha256(blob).hexdigest()
    if got != sha256:
        raise InputError(
            f"file received with sha256 {got[:12]}…, expected {sha256[:12]}…; "
            "it changed or was corrupted in transit"
        )
    tmp = cache / f".tmp-{os.getpid()}-{sha256}{suffix}"
    tmp.write_bytes(blob)
    os.replace(tmp, path)  # atomic: a concurrent task sees the whole file or none
    return path


def materialise_with_extras(
    blob: bytes | None,
    sha256: str,
    extras: Sequence[tuple[str, str, bytes | None]],
    cache: Path,
) -> Path:
    """An ONNX model and its external data files, laid out as the model expects them.

    ``extras`` are (relative name, sha256, bytes) of the files beside the
    model. The set goes into ``cache/<sha256>.d/`` with the model as
    ``model.onnx``; each file's hash is checked, and a name that is absolute
    or leaves that folder is refused. Raises ``InputError``.
    """
    model = materialise(blob, sha256, ".onnx", cache)
    folder = cache / f"{sha256}.d"
    folder.mkdir(parents=True, exist_ok=True)
    for rel, digest, data in extras:
        parts = Path(rel).parts
        if not rel or Path(rel).is_absolute() or ".." in parts:
            raise InputError(
                f"refused external data name {rel[:80]!r}: not inside the model folder"
            )
        source = materialise(data, digest, "", cache)
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not (target.is_file() and _sha256_file(target) == digest):
            tmp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
            tmp.write_bytes(source.read_bytes())
            os.replace(tmp, target)
    target = folder / "model.onnx"
    if not (target.is_file() and _sha256_file(target) == sha256):
        tmp = folder / f".tmp-{os.getpid()}-model.onnx"
        tmp.write_bytes(model.read_bytes())
        os.replace(tmp, target)
    return target


def external_data(artifact: ArtifactRef) -> list[tuple[str, Path]]:
    """(relative name, path) of each external data file of an ONNX artifact; [] for others.

    Raises ``InputError`` when the model refers to files outside its folder
    or missing ones (see ``measure.inspect.external_data_files``).
    """
    if artifact.format != "onnx":
        return []
    import onnx

    from measure.inspect import external_data_files

    path = Path(artifact.path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # onnx raises several types; the run would fail the same way
        raise InputError(f"cannot read the ONNX model {path}: {err}") from err
    return [(rel, path.parent / rel) for rel in external_data_files(model, path.parent)]


def _local_device_map() -> dict[str, list[str]]:
    text = os.environ.get(DEVICES_ENV)
    if text:
        data = json.loads(text)
        return {str(k): [str(d) for d in v] for k, v in data.items()}
    return device_map()  # a plain `dask worker`: detect


def _worker_name() -> str:
    from distributed import get_worker

    try:
        return str(get_worker().name)
    except ValueError:  # not inside a worker (direct call in a test)
        return "local"


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
    from measure.profile import utc_now
    from measure.worker import describe_exception, failed_record, run_in_worker

    spec = from_dict(RunSpec, json.loads(spec_json))
    worker = _worker_name()
    started_at = utc_now()
    where = f"on Dask worker {worker} ({resource})"

    def failed(reason: str) -> dict[str, Any]:
        record = failed_record(spec, f"{reason} {where}", started_at=started_at)
        return {"record": to_dict(record), "worker": worker}

    try:
        locals_ = _local_device_map().get(resource, [])
    except (ValueError, TypeError, InputError, UnavailableError) as err:
        return failed(f"the worker's device list is unreadable: {describe_exception(err)}")
    if slot >= len(locals_):
        return failed(f"this worker has no device for resource {resource!r} slot {slot}")
    module = _RUNTIME_MODULE.get(spec.runtime)
    if module and importlib.util.find_spec(module) is None:
        return failed(f"runtime {spec.runtime!r} unavailable: {module} is not installed")
    cache = _cache_dir()
    try:
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
    except (InputError, OSError) as err:
        return failed(describe_exception(err))
    local = replace(
        spec,
        device=locals_[slot],
        artifact=replace(spec.artifact, path=str(artifact_path)),
        dataset=dataset,
    )
    record = run_in_worker(local, python=sys.executable)
    if record.status == "failed":
        record = replace(record, error=f"{record.error} {where}")
    elif record.provenance is not None:
        env = {**record.provenance.env, "dask_worker": worker, "dask_resource": resource}
        record = replace(record, provenance=replace(record.provenance, env=env))
    return {"record": to_dict(record), "worker": worker}


# --- client side ------------------------------------------------------------------------


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as err:
        raise UnavailableError(f"profiling on a Dask cluster needs dask: {_INSTALL_HINT}") from err
    return distributed


def _unrunnable_keys(dask_scheduler: Any) -> list[str]:
    # Runs on the scheduler: tasks no current worker may run (their worker
    # left, or no worker offers their resource any more).
    return [str(ts.key) for ts in dask_scheduler.unrunnable]


class DaskExecutor:
    """Measures runs on a Dask cluster; see the module docstring.

    ``address`` is the scheduler's (``tcp://host:8786``), or pass a connected
    ``client`` (not closed here). ``target``: None (each spec's own device
    kind), a resource name, or ``ALL_DEVICES``. ``retries`` re-runs a task
    whose worker raised; a worker that dies mid-run makes Dask run the task
    on another matching worker, up to its ``allowed-failures`` setting.
    A task no worker can run for ``no_worker_timeout_s`` seconds is cancelled
    and recorded failed. Shipped files stay on the workers for the next call
    until ``close``.
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        client: Any = None,
        target: str | None = None,
        retries: int = 1,
        connect_timeout_s: float = 30.0,
        no_worker_timeout_s: float = 120.0,
    ) -> None:
        if address is None and client is None:
            raise InputError("a DaskExecutor needs a scheduler address or a client")
        self.address = address
        self.client = client
        self.target = target
        self.retries = retries
        self.connect_timeout_s = connect_timeout_s
        self.no_worker_timeout_s = no_worker_timeout_s
        self._own_client: Any = None
        # sha256 -> the file's bytes, scattered: sent once per executor, not per call.
        self._blobs: dict[str, Any] = {}

    def _connect(self) -> Any:
        distributed = _import_distributed()
        if self.client is not None:
            return self.client
        if self._own_client is None:
            try:
                self._own_client = distributed.Client(
                    self.address, timeout=self.connect_timeout_s, set_as_default=False
                )
            except (OSError, TimeoutError, ValueError) as err:
                raise UnavailableError(
                    f"cannot reach the Dask scheduler at {self.address}: {err}. Start one with "
                    "`dask scheduler`, or check the address given with --cluster or "
                    f"${SCHEDULER_ENV}"
                ) from err
        return self._own_client

    def close(self) -> None:
        """Free the shipped files on the workers; disconnect if this executor connected."""
        blobs, self._blobs = list(self._blobs.values()), {}
        if blobs and self.client is not None:
            self.client.cancel(blobs)
        if self._own_client is not None:
            self._own_client.close()
            self._own_client = None

    def run(
        self,
        specs: Sequence[RunSpec],
        on_result: Callable[[RunRecord], object],
        on_progress: Callable[[Progress], None] | None = None,
    ) -> None:
        """Measure ``specs`` on the cluster; records arrive in completion order.

        See ``Executor.run``. With ``ALL_DEVICES`` a spec yields one record
        per device, so ``on_result`` may be called more often than there are
        specs. The connection is made on the first call and kept for the
        next (callers that run one spec at a time pay for it once); ``close``
        ends it. Raises ``UnavailableError`` when dask is not installed or
        the scheduler cannot be reached.
        """
        self._run(self._connect(), specs, on_result, on_progress)

    def _run(
        self,
        client: Any,
        specs: Sequence[RunSpec],
        on_result: Callable[[RunRecord], object],
        on_progress: Callable[[Progress], None] | None,
    ) -> None:
        from measure.profile import utc_now
        from measure.worker import describe_exception, failed_record

        distributed = _import_distributed()
        t0 = time.monotonic()
        info = client.scheduler_info(n_workers=-1)["workers"]
        workers = {
            str(w.get("name", addr)): dict(w.get("resources") or {}) for addr, w in info.items()
        }
        placements, refused = place(specs, workers, self.target)
        total = len(placements) + len(refused)
        totals = Counter(p.key for p in placements)
        done_by: Counter[str] = Counter()
        emitted: set[str] = set()
        done = 0

        def emit(record: RunRecord, key: str | None) -> None:
            nonlocal done
            if record.run_id in emitted:  # one record per run, whatever Dask did
                return
            emitted.add(record.run_id)
            done += 1
            if key is not None:
                done_by[key] += 1
            on_result(record)
            report(run_label(record.spec), "running")

        def report(current: str | None, stage: str) -> None:
            if on_progress is None:
                return
            elapsed = time.monotonic() - t0
            eta = elapsed / done * (total - done) if done else None
            per_device = {k: (done_by[k], n) for k, n in sorted(totals.items())}
            on_progress(Progress(done, total, current, elapsed, eta, stage, per_device))

        started_at = utc_now()
        for spec, reason in refused:
            emit(failed_record(spec, reason, started_at=started_at), None)

        # Each file goes once to every worker that may run a task needing it,
        # so that losing one worker mid-run loses no copy a retry needs.
        addresses = {str(w.get("name", a)): a for a, w in info.items()}
        needs: dict[str, set[str]] = {}
        for p in placements:
            if p.worker is not None:
                wanted = {addresses[p.worker]}
            else:
                wanted = {addresses[n] for n, res in workers.items() if res.get(p.resource, 0)}
            for ref in (p.spec.artifact, p.spec.dataset):
                if ref is not None:
                    needs.setdefault(ref.sha256, set()).update(wanted)
        unsendable: dict[str, InputError] = {}  # sha256 -> why it cannot be sent

        def shipped(path: str, sha256: str) -> Any:
            if sha256 in unsendable:
                raise unsendable[sha256]
            blob = self._blobs.get(sha256)
            if blob is not None and blob.status == "finished":
                return blob  # sent by an earlier call; Dask copies it to new workers as needed
            try:
                data = Path(path).read_bytes()
            except OSError as err:
                unsendable[sha256] = InputError(f"cannot read {path}: {err.strerror or err}")
                raise unsendable[sha256] from err
            got = hashlib.sha256(data).hexdigest()
            if got != sha256:
                unsendable[sha256] = InputError(
                    f"{path} has sha256 {got[:12]}…, not the registered {sha256[:12]}…; "
                    "the file changed after it was added"
                )
                raise unsendable[sha256]
            # A key of its own (hash=False): another executor on the same
            # cluster releasing the same bytes cannot pull them from under us.
            self._blobs[sha256] = client.scatter(
                data, workers=sorted(needs[sha256]), broadcast=True, hash=False
            )
            return self._blobs[sha256]

        listed: dict[str, list[tuple[str, Path, str]]] = {}  # model sha256 -> its extra files

        def extra_files(artifact: ArtifactRef) -> list[tuple[str, Path, str]]:
            if artifact.sha256 not in listed:
                found = external_data(artifact)
                listed[artifact.sha256] = [(rel, f, _sha256_file(f)) for rel, f in found]
                for _, _, sha in listed[artifact.sha256]:
                    needs.setdefault(sha, set()).update(needs.get(artifact.sha256, set()))
            return listed[artifact.sha256]

        futures: dict[Any, Placement] = {}
        for p in placements:
            try:
                art = shipped(p.spec.artifact.path, p.spec.artifact.sha256)
                data = (
                    shipped(p.spec.dataset.path, p.spec.dataset.sha256) if p.spec.dataset else None
                )
                extras = [
                    (rel, sha, shipped(str(path), sha))
                    for rel, path, sha in extra_files(p.spec.artifact)
                ]
            except InputError as err:
                emit(failed_record(p.spec, describe_exception(err), started_at=utc_now()), p.key)
                continue
            future = client.submit(
                profile_task,
                json.dumps(to_dict(p.spec)),
                p.resource,
                p.slot,
                art,
                data,
                extras,
                key=f"paretoscope-run-{p.spec.run_id}",
                resources={p.resource: 1},
                workers=[p.worker] if p.worker is not None else None,
                retries=self.retries,
                pure=False,
            )
            futures[future] = p
        report(f"{len(futures)} run(s) on {self.address or 'the cluster'}", "queued")

        try:
            if futures:
                pending = distributed.as_completed(list(futures), loop=client.loop)
                self._collect(client, pending, futures, emit)
        finally:
            # Interrupted (a callback raised, Ctrl-C): the cluster stops working for us.
            if futures:
                client.cancel(list(futures))
        report(None, "done")

    def _collect(
        self,
        client: Any,
        pending: Any,
        futures: dict[Any, Placement],
        emit: Callable[[RunRecord, str | None], None],
    ) -> None:
        """Emit each task's record as it completes; cancel tasks no worker can run."""
        from measure.worker import describe_exception, failed_record

        stuck_since: dict[str, float] = {}
        cancelled: dict[str, str] = {}  # task key -> why we cancelled it
        last_check = time.monotonic()
        while not pending.is_empty():
            batch = pending.next_batch(block=False)
            for future in batch:
                p = futures.pop(future)
                reason = cancelled.get(
                    future.key,
                    "the Dask task was cancelled (a file it needed was lost with its workers, "
                    "or another client cancelled it)",
                )
                emit(self._record_of(future, p, reason, describe_exception, failed_record), p.key)
                future.release()  # a finished run must not be recomputed when its worker leaves
            if batch:
                continue
            time.sleep(_POLL_S)
            now = time.monotonic()
            if now - last_check >= _STUCK_CHECK_S:
                last_check = now
                self._cancel_stuck(client, futures, stuck_since, cancelled, now)

    def _record_of(
        self,
        future: Any,
        p: Placement,
        cancel_reason: str,
        describe: Callable[[BaseException], str],
        failed: Callable[..., RunRecord],
    ) -> RunRecord:
        from measure.profile import utc_now

        def fail(reason: str) -> RunRecord:
            return failed(p.spec, reason, started_at=utc_now())

        if future.status == "cancelled":
            return fail(cancel_reason)
        try:
            result = future.result()
        except Exception as err:
            if type(err).__name__ == "KilledWorker":
                return fail(
                    f"the Dask worker measuring it died repeatedly ({describe(err)}); "
                    "see the workers' logs"
                )
            return fail(f"the Dask task failed: {describe(err)}")
        try:
            record = from_dict(RunRecord, result["record"])
        except (TypeError, KeyError, ValueError, AttributeError) as err:
            return fail(f"the Dask worker returned an unreadable record: {describe(err)}")
        if record.run_id != p.spec.run_id:
            return fail("the Dask worker returned a record of another run")
        # Keep the caller's paths (the store's copies), and the device the worker used.
        return replace(record, spec=replace(p.spec, device=record.spec.device))

    def _cancel_stuck(
        self,
        client: Any,
        futures: Mapping[Any, Placement],
        since: dict[str, float],
        cancelled: dict[str, str],
        now: float,
    ) -> None:
        try:
            keys = set(client.run_on_scheduler(_unrunnable_keys))
        except Exception as err:  # a scheduler hiccup must not stop the batch
            log.warning("could not ask the scheduler for unrunnable tasks: %s", err)
            return
        for key in list(since):
            if key not in keys:
                del since[key]
        for future, p in futures.items():
            if future.key not in keys or future.done():
                continue
            first = since.setdefault(future.key, now)
            if now - first >= self.no_worker_timeout_s:
                where = f"worker {p.worker}" if p.worker else "any worker"
                cancelled[future.key] = (
                    f"no Dask worker could run it for {self.no_worker_timeout_s:g} s: "
                    f"{where} with resource {p.resource!r} left the cluster"
                )
                future.cancel()


# --- the worker entry -------------------------------------------------------------------


def _parse_aliases(items: Sequence[str]) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for item in items:
        name, sep, local = item.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or not local:
            raise InputError(f"--resource {item!r}: use NAME=DEVICE, e.g. lab-cpu=cpu")
        aliases[name] = local
    return aliases


async def _serve_worker(
    scheduler: str, name: str | None, devices: dict[str, list[str]], cache: Path | None
) -> None:
    import asyncio
    import signal

    from distributed import Nanny

    env = {DEVICES_ENV: json.dumps(devices)}
    if cache is not None:
        env[CACHE_ENV] = str(cache)
    os.environ.update(env)  # the worker process inherits the nanny's environment too
    async with Nanny(
        scheduler,
        nthreads=1,  # one measurement at a time: concurrent runs disturb each other's timings
        name=name,
        resources=worker_resources(devices),
        env=env,
    ) as nanny:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        finished = asyncio.ensure_future(nanny.finished())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait([finished, stopping], return_when=asyncio.FIRST_COMPLETED)
        for task in (finished, stopping):
            task.cancel()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m measure.cluster worker|devices``; returns the exit status."""
    import asyncio

    parser = argparse.ArgumentParser(
        prog="python -m measure.cluster",
        description="Paretoscope on a Dask cluster: start a worker that offers this machine's "
        "devices, or list them.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    worker = sub.add_parser("worker", help="start a Dask worker offering this machine's devices")
    worker.add_argument("--scheduler", required=True, metavar="ADDRESS", help="tcp://host:8786")
    devices = sub.add_parser("devices", help="print the resources a worker here would offer")
    for p in (worker, devices):
        p.add_argument(
            "--devices",
            metavar="LIST",
            help="comma-separated devices to offer, e.g. cpu or cuda:0 (default: all found)",
        )
        p.add_argument(
            "--resource",
            action="append",
            default=[],
            metavar="NAME=DEVICE",
            help="also offer DEVICE under the resource NAME (repeatable)",
        )
    worker.add_argument("--name", help="worker name (default: Dask's)")
    worker.add_argument("--cache-dir", type=Path, help=f"artifact cache (default: ${CACHE_ENV})")
    args = parser.parse_args(argv)
    try:
        wanted = [d.strip() for d in args.devices.split(",") if d.strip()] if args.devices else None
        mapping = device_map(wanted, _parse_aliases(args.resource))
    except (InputError, UnavailableError) as err:
        print(f"measure.cluster {args.command}: {err}", file=sys.stderr)
        return 2
    if args.command == "devices":
        print(json.dumps({"resources": worker_resources(mapping), "devices": mapping}, indent=2))
        return 0
    try:
        _import_distributed()
    except UnavailableError as err:
        print(f"measure.cluster worker: {err}", file=sys.stderr)
        return 1
    print(f"offering {worker_resources(mapping)} to {args.scheduler}", file=sys.stderr)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_worker(args.scheduler, args.name, mapping, args.cache_dir))
    return 0


def worker_main() -> int:
    """Entry of the ``paretoscope-worker`` script: ``python -m measure.cluster worker ...``."""
    return main(["worker", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
