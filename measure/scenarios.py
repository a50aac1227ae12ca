"""Offline and server scenarios of a run, in its worker process after its timing (issue 16).

``attach_after_timing`` is what the worker calls once a run (its first
repeat): the per-operator profile when asked for, then the scenarios the
spec asks for, each on a session of its own (loaded again, so the timed
session's state does not carry over). Both scenarios time the end-to-end
call (``Session.e2e_step_fn``: inputs handed over from host memory, every
output copied back), what a serving application pays. A scenario that
cannot be measured does not fail the run: its stats carry the reason.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable

from measure.runtimes import Session, runtime_for
from measure.server_scenario import server_scenario
from measure.timing import measure_latency
from paretoscope.core.records import RunRecord, RunSpec, TimingBudget
from paretoscope.core.scenarios import (
    OfflinePoint,
    OfflineStats,
    ScenarioRequest,
    ScenarioStats,
    ServerStats,
)

__all__ = ["OFFLINE_BUDGET", "attach_after_timing", "measure_offline", "measure_scenarios"]

#: Timing of each offline batch size: short, since several are tried.
OFFLINE_BUDGET = TimingBudget(
    warmup_iters=3, min_iters=10, max_iters=10_000, min_time_s=0.1, max_time_s=0.5
)
_OFFLINE_MAX_INPUT_MB = 256.0  # no batch whose inputs alone exceed this
_OFFLINE_MAX_S = 30.0
_SATURATED = 1.02  # a batch must beat the best by 2% to count as better


def attach_after_timing(record: RunRecord) -> RunRecord:
    """``record`` with its op profile and scenarios, as its spec asks; an ``ok`` run only."""
    if record.spec.op_profile:
        from measure.opprofile import attach_op_profile

        record = attach_op_profile(record)
    request = record.spec.scenarios
    if request is None or record.status != "ok" or not (request.offline or request.server):
        return record
    try:
        if record.spec.model.task == "causal-lm":
            raise ValueError("the scenarios apply to models other than causal LMs")
        stats = measure_scenarios(record.spec, request)
    except Exception as err:  # a scenario never fails the run; it says why it is missing
        why = f"scenarios not measured: {type(err).__name__}: {err}"
        stats = ScenarioStats(
            offline=OfflineStats(unavailable_reason=why) if request.offline else None,
            server=_server_unavailable(request, why) if request.server else None,
        )
    return dataclasses.replace(record, scenarios=stats)


def _server_unavailable(request: ScenarioRequest, why: str) -> ServerStats:
    return ServerStats(
        p99_bound_ms=request.server_p99_ms,
        max_batch=request.server_max_batch,
        max_delay_ms=request.server_max_delay_ms,
        service_ms_p50=None,
        unavailable_reason=why,
        seed=request.seed,
    )


def measure_scenarios(spec: RunSpec, request: ScenarioRequest) -> ScenarioStats:
    """Load ``spec``'s model once more and measure the scenarios ``request`` asks for."""
    from measure.profile import input_batch

    session = runtime_for(spec.runtime).load(spec)
    try:
        cache: dict[int, Callable[[], object]] = {}

        def step(k: int) -> Callable[[], object]:
            if k not in cache:
                batch, _notes = input_batch(session, dataclasses.replace(spec, batch_size=k))
                cache[k] = session.e2e_step_fn(batch)
            return cache[k]

        one, _notes = input_batch(session, dataclasses.replace(spec, batch_size=1))
        item_mb = sum(a.nbytes for a in one.values()) / 1e6
        offline = (
            measure_offline(session, step, request.offline_max_batch, item_mb=item_mb)
            if request.offline
            else None
        )
        server = None
        if request.server:
            # Every batch of the server is a slice of one (views, no copies): up to 256
            # sizes of their own would hold 256 times the inputs.
            top = _server_batch(session, request)
            full, _notes = input_batch(session, dataclasses.replace(spec, batch_size=top))

            def sliced(k: int) -> Callable[[], object]:
                return session.e2e_step_fn({name: a[:k] for name, a in full.items()})

            server = _server(session, sliced, request)
        return ScenarioStats(offline=offline, server=server)
    finally:
        session.close()


def _fixed_batch(session: Session) -> int | None:
    fixed = {i.batch_fixed for i in session.inputs if i.batch_fixed is not None}
    return fixed.pop() if len(fixed) == 1 else None


def measure_offline(
    session: Session,
    step: Callable[[int], Callable[[], object]],
    max_batch: int,
    *,
    item_mb: float = 0.0,
) -> OfflineStats:
    """Throughput (items/s, from the mean latency) at batch 1, 2, 4, ... up to ``max_batch``.

    Stops early when two batch sizes in a row gain less than 2% on the best
    (saturated), when a batch's inputs would exceed 256 MB, when a batch
    fails (e.g. out of memory), or after 30 s. ``item_mb``: one item's
    inputs in MB. A model whose batch dimension is fixed is measured at that
    batch only.
    """
    fixed = _fixed_batch(session)
    sizes = [fixed] if fixed else [b for b in (2**i for i in range(13)) if b <= max_batch]
    points: list[OfflinePoint] = []
    stop, started, worse = "the largest batch size was measured", time.monotonic(), 0
    for b in sizes:
        if item_mb * b > _OFFLINE_MAX_INPUT_MB:
            stop = f"batch {b} would take over {_OFFLINE_MAX_INPUT_MB:g} MB of inputs"
            break
        if time.monotonic() - started > _OFFLINE_MAX_S:
            stop = f"stopped after {_OFFLINE_MAX_S:g} s"
            break
        try:
            lat = measure_latency(step(b), None, OFFLINE_BUDGET)
        except (MemoryError, RuntimeError, ValueError) as err:
            stop = f"batch {b} failed: {type(err).__name__}: {str(err)[:200]}"
            break
        tput = b * 1000.0 / lat.mean_ms if lat.mean_ms > 0 else 0.0
        best = max((p.throughput_per_s for p in points), default=0.0)
        points.append(OfflinePoint(b, tput, lat.p50_ms, lat.mean_ms, lat.n_iter))
        worse = 0 if tput > best * _SATURATED else worse + 1
        if worse >= 2:
            stop = f"saturated: batches {b // 2} and {b} did not beat the best by 2%"
            break
    if not points:
        return OfflineStats(stop_reason=stop, unavailable_reason=stop)
    top = max(points, key=lambda p: p.throughput_per_s)
    return OfflineStats(tuple(points), top.batch_size, top.throughput_per_s, stop)


def _server_batch(session: Session, request: ScenarioRequest) -> int:
    """The server's largest batch: the one asked for, 1 for a model whose batch is fixed."""
    return 1 if _fixed_batch(session) is not None else request.server_max_batch


def _server(
    session: Session, step: Callable[[int], Callable[[], object]], request: ScenarioRequest
) -> ServerStats:
    """The server scenario of one-item requests, capacity estimated from 30 timed requests."""
    fixed = _fixed_batch(session)
    if fixed is not None and fixed != 1:
        return _server_unavailable(
            request, f"the model's batch dimension is fixed at {fixed}: one-item requests need 1"
        )
    max_batch = _server_batch(session, request)  # 1 where the model cannot batch (in the stats)
    budget = TimingBudget(warmup_iters=5, min_iters=30, max_iters=30, min_time_s=0, max_time_s=2)
    one = measure_latency(step(1), None, budget)
    capacity = 1000.0 / one.p50_ms
    if max_batch > 1:
        full = measure_latency(step(max_batch), None, budget)
        capacity = max(capacity, max_batch * 1000.0 / full.p50_ms)
    steps = {k: step(k) for k in range(1, max_batch + 1)}

    def serve(k: int) -> object:
        return steps[k]()

    stats = server_scenario(
        serve,
        service_ms_p50=one.p50_ms,
        capacity_qps=capacity,
        bound_ms=request.server_p99_ms,
        max_batch=max_batch,
        max_delay_ms=request.server_max_delay_ms,
        seed=request.seed,
    )
    return stats
