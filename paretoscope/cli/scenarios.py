"""The serving-scenario options of ``paretoscope profile`` (issue 16), apart from commands.py."""

from __future__ import annotations

import argparse
from typing import Any

from paretoscope.core.scenarios import (
    DEFAULT_OFFLINE_MAX_BATCH,
    DEFAULT_SERVER_P99_MS,
    SCENARIOS,
    ScenarioRequest,
    parse_scenarios,
    scenario_request,
)

__all__ = ["add_scenario_arguments", "scenario_from_args"]


def add_scenario_arguments(pr: argparse.ArgumentParser) -> None:
    """``--scenario`` and the settings of the offline and server scenarios."""
    pr.add_argument(
        "--scenario",
        default="single-stream",
        metavar=",".join(SCENARIOS),
        help="serving scenarios, as MLPerf names them (default single-stream: one batch at a "
        "time, always measured). offline: the best throughput over batch sizes; server: "
        "Poisson arrivals at increasing rates, the highest rate whose p99 meets "
        "--server-p99-ms (docs/profiling.md)",
    )
    pr.add_argument(
        "--server-p99-ms",
        type=float,
        default=DEFAULT_SERVER_P99_MS,
        metavar="MS",
        help=f"server scenario: the p99 latency bound, queueing included (default "
        f"{DEFAULT_SERVER_P99_MS:g} ms; compare runs at the same bound)",
    )
    pr.add_argument(
        "--server-max-batch",
        type=int,
        default=1,
        metavar="N",
        help="server scenario: dynamic batching of up to N queued requests (default 1: none)",
    )
    pr.add_argument(
        "--server-max-delay-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="server scenario, dynamic batching: the longest the oldest queued request waits "
        "for a batch to fill (default 0)",
    )
    pr.add_argument(
        "--offline-max-batch",
        type=int,
        default=DEFAULT_OFFLINE_MAX_BATCH,
        metavar="N",
        help=f"offline scenario: the largest batch tried, powers of two from 1 (default "
        f"{DEFAULT_OFFLINE_MAX_BATCH})",
    )


def scenario_from_args(args: Any) -> ScenarioRequest | None:
    """The ``ScenarioRequest`` of the parsed options; None for single-stream alone.

    Raises ``InputError`` (exit status 2) for an unknown scenario or a bad setting.
    """
    return scenario_request(
        parse_scenarios(args.scenario),
        server_p99_ms=args.server_p99_ms,
        server_max_batch=args.server_max_batch,
        server_max_delay_ms=args.server_max_delay_ms,
        offline_max_batch=args.offline_max_batch,
    )
