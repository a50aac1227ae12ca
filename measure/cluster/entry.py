"""The worker entry: ``python -m measure.cluster worker|devices`` and ``paretoscope-worker``."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from measure.cluster.executor import import_distributed
from measure.cluster.resources import DEVICES_ENV, device_map, worker_resources
from measure.cluster.transport import CACHE_ENV
from paretoscope.core.errors import InputError, UnavailableError

__all__ = ["main", "worker_main"]


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


def _parser() -> argparse.ArgumentParser:
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m measure.cluster worker|devices``; returns the exit status."""
    import asyncio

    args = _parser().parse_args(argv)
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
        import_distributed()
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
