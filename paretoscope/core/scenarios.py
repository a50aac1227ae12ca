"""Serving scenarios as MLPerf's LoadGen names them (issue 16): what is asked, what is found.

*single-stream* is the measurement every run has (one batch at a time, the
median latency). *offline* is the best throughput over batch sizes, every
query available at once. *server* sends one-item requests with Poisson
arrivals at increasing offered rates to a server loop (FIFO, optional
dynamic batching) and finds the highest rate whose p99 latency, queueing
included, meets a bound. ``ScenarioRequest`` travels in ``RunSpec``;
``ScenarioStats`` in ``RunRecord``; both round-trip through JSON. Units are
in field names. Nothing here imports NumPy, torch or a store.
"""

from __future__ import annotations

from dataclasses import dataclass

from paretoscope.core.errors import InputError

__all__ = [
    "DEFAULT_OFFLINE_MAX_BATCH",
    "DEFAULT_SERVER_P99_MS",
    "MAX_SERVER_BATCH",
    "SCENARIOS",
    "OfflinePoint",
    "OfflineStats",
    "ScenarioRequest",
    "ScenarioStats",
    "ServerStats",
    "ServerStep",
    "parse_scenarios",
    "scenario_request",
]

SCENARIOS: tuple[str, ...] = ("single-stream", "offline", "server")
#: The p99 bound of the server scenario when none is given (ms). MLPerf sets one per
#: model (15 ms for ResNet-50, 100 ms for RetinaNet, 130 ms for BERT); 100 ms is
#: an interactive request's budget. Runs are comparable only at the same bound.
DEFAULT_SERVER_P99_MS = 100.0
#: The largest batch the offline scenario tries (powers of two from 1).
DEFAULT_OFFLINE_MAX_BATCH = 64
MAX_SERVER_BATCH = 256


@dataclass(frozen=True)
class ScenarioRequest:
    """Which scenarios a run measures besides single-stream, and the server's settings.

    ``server_max_batch`` > 1 turns on dynamic batching: the server runs up to
    that many queued requests as one batch, waiting at most
    ``server_max_delay_ms`` after the oldest one arrived for the batch to fill.
    ``seed`` seeds the Poisson arrivals, so a re-measurement sends the same
    schedule.
    """

    scenarios: tuple[str, ...] = ("single-stream",)
    server_p99_ms: float = DEFAULT_SERVER_P99_MS
    server_max_batch: int = 1
    server_max_delay_ms: float = 0.0
    offline_max_batch: int = DEFAULT_OFFLINE_MAX_BATCH
    seed: int = 0

    @property
    def offline(self) -> bool:
        return "offline" in self.scenarios

    @property
    def server(self) -> bool:
        return "server" in self.scenarios


@dataclass(frozen=True)
class OfflinePoint:
    """Throughput at one batch size: items over the timed window (mean latency)."""

    batch_size: int
    throughput_per_s: float
    latency_ms_p50: float
    latency_ms_mean: float
    n_iter: int


@dataclass(frozen=True)
class OfflineStats:
    """The offline scenario: ``points`` per batch size, the best of them, or why none."""

    points: tuple[OfflinePoint, ...] = ()
    best_batch: int | None = None
    throughput_per_s: float | None = None
    stop_reason: str = ""
    unavailable_reason: str | None = None


@dataclass(frozen=True)
class ServerStep:
    """One offered rate of the server scenario (rates in requests/s, times in ms).

    ``p50_ms``/``p99_ms``: latency of a request from its scheduled arrival to
    its completion, queueing included. ``met``: p99 <= the bound and every
    request served. ``lateness_ms_p99``/``lateness_ms_max``: how late the idle
    server woke for an arrival (the clock's and scheduler's noise; counted in
    the latency, never subtracted). ``note`` says why a step stopped early.
    """

    offered_qps: float
    achieved_qps: float
    p50_ms: float
    p99_ms: float
    n_requests: int
    n_served: int
    met: bool
    mean_batch: float = 1.0
    lateness_ms_p99: float = 0.0
    lateness_ms_max: float = 0.0
    wall_s: float = 0.0
    confirm: bool = False  # a re-measurement of a candidate maximum (another seed)
    note: str = ""


@dataclass(frozen=True)
class ServerStats:
    """The server scenario: every step, the top confirmed rate meeting the bound, or why none."""

    p99_bound_ms: float
    max_batch: int
    max_delay_ms: float
    service_ms_p50: float | None
    steps: tuple[ServerStep, ...] = ()
    max_qps_at_p99: float | None = None
    stop_reason: str = ""
    unavailable_reason: str | None = None
    seed: int = 0


@dataclass(frozen=True)
class ScenarioStats:
    """The scenarios a run measured besides single-stream; None where not asked for."""

    offline: OfflineStats | None = None
    server: ServerStats | None = None


def parse_scenarios(text: str) -> tuple[str, ...]:
    """``single-stream,offline,server`` (any subset, any order) as a tuple in ``SCENARIOS`` order.

    single-stream is always measured and always included. Raises ``InputError``
    naming the valid scenarios for an unknown or empty one.
    """
    names = [t.strip().lower() for t in text.split(",")]
    unknown = [n for n in names if n not in SCENARIOS]
    if not text.strip() or unknown:
        bad = ", ".join(repr(n) for n in unknown) if text.strip() else "nothing"
        raise InputError(f"--scenario takes a comma list of {', '.join(SCENARIOS)}; got {bad}")
    return tuple(s for s in SCENARIOS if s in names or s == "single-stream")


def scenario_request(
    scenarios: tuple[str, ...],
    *,
    server_p99_ms: float = DEFAULT_SERVER_P99_MS,
    server_max_batch: int = 1,
    server_max_delay_ms: float = 0.0,
    offline_max_batch: int = DEFAULT_OFFLINE_MAX_BATCH,
    seed: int = 0,
) -> ScenarioRequest | None:
    """A checked ``ScenarioRequest``; None when only single-stream is asked for.

    Raises ``InputError`` for a bound or delay that is not a positive finite
    number, or a batch out of range.
    """
    problems = []
    if not 0 < server_p99_ms < 1e7:
        problems.append(f"--server-p99-ms must be a positive number of ms, got {server_p99_ms}")
    if not 0 <= server_max_delay_ms < 1e6:
        problems.append(f"--server-max-delay-ms must be >= 0, got {server_max_delay_ms}")
    if not 1 <= server_max_batch <= MAX_SERVER_BATCH:
        problems.append(f"--server-max-batch must be 1..{MAX_SERVER_BATCH}, got {server_max_batch}")
    if not 1 <= offline_max_batch <= 4096:
        problems.append(f"--offline-max-batch must be 1..4096, got {offline_max_batch}")
    if problems:
        raise InputError("; ".join(problems))
    if tuple(scenarios) == ("single-stream",):
        return None
    return ScenarioRequest(
        scenarios=tuple(scenarios),
        server_p99_ms=float(server_p99_ms),
        server_max_batch=int(server_max_batch),
        server_max_delay_ms=float(server_max_delay_ms),
        offline_max_batch=int(offline_max_batch),
        seed=int(seed),
    )
