"""The client side of profiling on a Dask cluster: ``DaskExecutor``.

It places each ``RunSpec`` as one Dask task per matching device, restricted
by worker resources (``measure.cluster.placement``); sends the model file
(with an ONNX model's external data files) and the evaluation set once per
executor and file to the workers that may need them
(``measure.cluster.transport``); and hands each record to ``on_result`` as it
completes. A run that cannot be placed, or whose worker died more often than
Dask allows, becomes a failed record with the reason; every placement yields
exactly one record.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from measure.cluster.placement import Placement, place
from measure.cluster.task import profile_task
from measure.cluster.transport import Shipment
from measure.executor import Executor, LocalExecutor, Progress, run_label
from paretoscope.core.errors import InputError, UnavailableError
from paretoscope.core.launcher import StopRequested
from paretoscope.core.records import RunRecord, RunSpec, from_dict, to_dict

__all__ = ["SCHEDULER_ENV", "DaskExecutor", "executor_from_env", "import_distributed"]

#: The scheduler address the CLI and the dashboard use when ``--cluster`` is not given.
SCHEDULER_ENV = "PARETOSCOPE_DASK_SCHEDULER"

_INSTALL_HINT = "install the cluster extra: pip install 'paretoscope[cluster]'"
_POLL_S = 0.2
_STUCK_CHECK_S = 2.0

log = logging.getLogger(__name__)


def import_distributed() -> Any:
    """The ``distributed`` module; raises ``UnavailableError`` saying how to install it."""
    try:
        import distributed
    except ImportError as err:
        raise UnavailableError(f"profiling on a Dask cluster needs dask: {_INSTALL_HINT}") from err
    return distributed


def _unrunnable_keys(dask_scheduler: Any) -> list[str]:
    # Runs on the scheduler: tasks no current worker may run (their worker
    # left, or no worker offers their resource any more).
    return [str(ts.key) for ts in dask_scheduler.unrunnable]


def _file_needs(
    placements: Sequence[Placement],
    workers: Mapping[str, Mapping[str, float]],
    addresses: Mapping[str, str],
) -> dict[str, set[str]]:
    """sha256 -> addresses of the workers that may run a task needing that file."""
    needs: dict[str, set[str]] = {}
    for p in placements:
        if p.worker is not None:
            wanted = {addresses[p.worker]}
        else:
            wanted = {addresses[n] for n, res in workers.items() if res.get(p.resource, 0)}
        for ref in (p.spec.artifact, p.spec.dataset):
            if ref is not None:
                needs.setdefault(ref.sha256, set()).update(wanted)
    return needs


class _Tally:
    """One batch's records as they are handed on (one per run, whatever Dask did), and progress."""

    def __init__(
        self,
        placements: Sequence[Placement],
        n_refused: int,
        on_result: Callable[[RunRecord], object],
        on_progress: Callable[[Progress], None] | None,
        t0: float,
    ) -> None:
        self._on_result = on_result
        self._on_progress = on_progress
        self._t0 = t0
        self._total = len(placements) + n_refused
        self._totals = Counter(p.key for p in placements)
        self._done_by: Counter[str] = Counter()
        self._emitted: set[str] = set()
        self._done = 0

    def emit(self, record: RunRecord, key: str | None) -> None:
        """Hand ``record`` on unless its run already has a record; count it for ``key``."""
        if record.run_id in self._emitted:
            return
        self._emitted.add(record.run_id)
        self._done += 1
        if key is not None:
            self._done_by[key] += 1
        self._on_result(record)
        self.report(run_label(record.spec), "running")

    def report(self, current: str | None, stage: str) -> None:
        """Call ``on_progress`` (when given) with where the batch stands."""
        if self._on_progress is None:
            return
        done, total = self._done, self._total
        elapsed = time.monotonic() - self._t0
        eta = elapsed / done * (total - done) if done else None
        per_device = {k: (self._done_by[k], n) for k, n in sorted(self._totals.items())}
        self._on_progress(Progress(done, total, current, elapsed, eta, stage, per_device))


def _stopping(
    on_result: Callable[[RunRecord], object], should_stop: Callable[[], bool]
) -> Callable[[RunRecord], object]:
    """``on_result`` that raises ``StopRequested`` after a record when ``should_stop`` says so.

    The cluster's runs are not watched from here: a stop is seen as each
    record arrives, and raising cancels the batch's remaining futures.
    """

    def handed_on(record: RunRecord) -> object:
        out = on_result(record)
        if should_stop():
            raise StopRequested("the batch was stopped on request")
        return out

    return handed_on


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

    ``concurrent`` tells callers that a batch's runs are measured at the same
    time (each worker one at a time, the workers side by side): a sweep
    should hand over all its runs in one ``run`` call
    (``paretoscope.profiling.run_profile`` does).
    """

    #: All of a batch's runs are in flight at once; see the class docstring.
    concurrent = True

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
        # Stop events of cancelled batches, set on the scheduler; cleared by ``close``.
        self._stops: list[str] = []

    def _connect(self) -> Any:
        distributed = import_distributed()
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
        stops, self._stops = self._stops, []
        client = self.client or self._own_client
        for name in stops:
            try:
                import_distributed().Event(name, client=client).clear()
            except Exception as err:  # the scheduler may be gone; the event goes with it
                log.debug("could not clear stop event %s: %s", name, err)
        if self._own_client is not None:
            self._own_client.close()
            self._own_client = None

    def run(
        self,
        specs: Sequence[RunSpec],
        on_result: Callable[[RunRecord], object],
        on_progress: Callable[[Progress], None] | None = None,
        *,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        """Measure ``specs`` on the cluster; records arrive in completion order.

        See ``Executor.run``. With ``ALL_DEVICES`` a spec yields one record
        per device, so ``on_result`` may be called more often than there are
        specs. Every run is submitted at once: each worker measures one run
        at a time, the workers side by side. The connection is made on the
        first call and kept for the next; ``close`` ends it. ``should_stop``
        is asked as each record arrives and every ``_POLL_S`` while waiting;
        when it answers true the batch's tasks are cancelled, the runs in
        flight are killed on their workers (a Dask ``Event`` their tasks
        watch), nothing more is handed on and ``StopRequested`` is raised.
        Raises ``UnavailableError`` when dask is not installed or the
        scheduler cannot be reached.
        """
        if should_stop is not None:
            on_result = _stopping(on_result, should_stop)
        self._run(self._connect(), specs, on_result, on_progress, should_stop)

    def _run(
        self,
        client: Any,
        specs: Sequence[RunSpec],
        on_result: Callable[[RunRecord], object],
        on_progress: Callable[[Progress], None] | None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        from measure.worker import failed_record
        from paretoscope.core.timefmt import utc_now_iso

        distributed = import_distributed()
        t0 = time.monotonic()
        info = client.scheduler_info(n_workers=-1)["workers"]
        workers = {
            str(w.get("name", addr)): dict(w.get("resources") or {}) for addr, w in info.items()
        }
        placements, refused = place(specs, workers, self.target)
        tally = _Tally(placements, len(refused), on_result, on_progress, t0)
        started_at = utc_now_iso()
        for spec, reason in refused:
            tally.emit(failed_record(spec, reason, started_at=started_at), None)

        addresses = {str(w.get("name", a)): a for a, w in info.items()}
        shipment = Shipment(client, self._blobs, _file_needs(placements, workers, addresses))
        stop_name = f"paretoscope-stop-{uuid.uuid4().hex}"
        futures = self._submit(client, placements, shipment, tally.emit, stop_name)
        tally.report(f"{len(futures)} run(s) on {self.address or 'the cluster'}", "queued")
        try:
            if futures:
                pending = distributed.as_completed(list(futures), loop=client.loop)
                self._collect(client, pending, futures, tally.emit, should_stop)
        finally:
            # Interrupted (a stop, a callback raised, Ctrl-C): the cluster stops working
            # for us, and the runs in flight are killed rather than finished for nobody.
            if futures:
                self._stop_in_flight(client, stop_name)
                client.cancel(list(futures))
        tally.report(None, "done")

    def _stop_in_flight(self, client: Any, name: str) -> None:
        try:
            import_distributed().Event(name, client=client).set()
        except Exception as err:  # a scheduler hiccup: the runs end under their own limits
            log.warning("could not tell the workers to stop their runs: %s", err)
            return
        self._stops.append(name)

    def _submit(
        self,
        client: Any,
        placements: Sequence[Placement],
        shipment: Shipment,
        emit: Callable[[RunRecord, str | None], None],
        stop_name: str | None = None,
    ) -> dict[Any, Placement]:
        """One Dask task per placement; a run whose files cannot be sent is emitted failed."""
        from measure.worker import describe_exception, failed_record
        from paretoscope.core.timefmt import utc_now_iso

        futures: dict[Any, Placement] = {}
        for p in placements:
            try:
                artifact, dataset, extras = shipment.files_for(p.spec)
            except InputError as err:
                emit(
                    failed_record(p.spec, describe_exception(err), started_at=utc_now_iso()), p.key
                )
                continue
            future = client.submit(
                profile_task,
                json.dumps(to_dict(p.spec)),
                p.resource,
                p.slot,
                artifact,
                dataset,
                extras,
                stop_name,
                key=f"paretoscope-run-{p.spec.run_id}",
                resources={p.resource: 1},
                workers=[p.worker] if p.worker is not None else None,
                retries=self.retries,
                pure=False,
            )
            futures[future] = p
        return futures

    def _collect(
        self,
        client: Any,
        pending: Any,
        futures: dict[Any, Placement],
        emit: Callable[[RunRecord, str | None], None],
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        """Emit each task's record as it completes; cancel tasks no worker can run.

        Raises ``StopRequested`` as soon as ``should_stop`` answers true.
        """
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
            if should_stop is not None and should_stop():
                raise StopRequested("the batch was stopped on request")
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
        from paretoscope.core.timefmt import utc_now_iso

        def fail(reason: str) -> RunRecord:
            return failed(p.spec, reason, started_at=utc_now_iso())

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


def executor_from_env(cluster: str | None = None) -> Executor:
    """Dask at ``cluster``, else at ``$PARETOSCOPE_DASK_SCHEDULER`` if set, else ``LocalExecutor``.

    Importing dask waits until a cluster is actually asked for.
    """
    address = cluster or os.environ.get(SCHEDULER_ENV, "").strip()
    if not address:
        return LocalExecutor()
    return DaskExecutor(address)
