"""Fault loop (issue 12): SIGKILL writers at random moments; the store must open and hold every run.

Each cycle starts one command in its own process group, kills the group with
SIGKILL after a random delay (2-100% of the time one uninterrupted cycle of
that kind took on this host, timed first; ``--no-calibrate``: fixed ranges),
then opens the store in a fresh process (``paretoscope runs --all --format
csv``) and checks it:

- ``demo``: ``paretoscope demo --quick`` (resumed by the next demo cycle; once
  one finishes, the next runs with ``--force`` and a new generation starts);
- ``profile``: ``paretoscope profile`` of a tiny ONNX MLP, a few variants, named
  ``fault-p<cycle>`` so that each job's runs are told apart;
- ``import``: ``paretoscope import`` of a bundle of ``--bundle-runs`` fresh runs
  (ids ``fault-imp<cycle>-<i>``, written with ``store.bundle.export_bundle``);
- ``serve``: ``paretoscope serve --no-demo --no-example --port P``.

Checked after each kill (``Invariants``):

- the store opens (the ``runs`` command exits 0);
- lost at next open: a run id that was durable before the kill (a record in
  the spool folder, or a run the store listed at an earlier open) and is not
  listed now;
- duplicated: a run id listed twice, or one job's (model, configuration) stored
  under two ids (a profile job; a demo generation);
- partial import: a killed import of which some but not all runs are listed.

At the end, a fresh process drains the spool explicitly (``Store.drain_spool``)
and the final store is checked again: runs lost for good, imports partial for
good. Also counted: processes that survived the group kill (escaped it), and
temporary spool files (``.tmp-*``) left behind.

Run from the repository root:
    PYTHONPATH=. python benchmarks/fault_loop.py --kills 100 --seed 1 --json fault.json
Exits 1 when an invariant is broken (store not opened, a run lost or duplicated,
a partial import).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

KINDS = ("demo", "profile", "import", "serve")
# Random kill delay per kind without calibration, seconds (uniform). Wide enough to hit every phase:
# start-up, measuring, spooling, draining; demo --quick takes ~80 s, a profile ~15 s,
# an import of 300 runs a few seconds, serve is killed while starting or serving.
DEFAULT_DELAYS = {
    "demo": (1.0, 45.0),
    "profile": (0.5, 14.0),
    "import": (0.3, 4.0),
    "serve": (1.0, 12.0),
}
# With calibration (the default) the first cycle of each kind but serve runs to its end, and
# later kills of that kind fall uniformly in 2-100% of that duration, so every phase is hit
# on a fast host and a loaded one alike. A calibration cycle is not a kill.
CALIBRATION_CAP_S = 900.0
CONFIG_KEY = ("model", "runtime", "device", "precision", "batch_size", "threads")


# -- the invariants (pure) --------------------------------------------------


@dataclass
class Invariants:
    """Counts of broken invariants over a loop; every field but ``opens_ok`` should end 0."""

    opens_ok: int = 0
    opens_failed: int = 0
    lost_at_next_open: int = 0
    duplicated_ids: int = 0
    duplicated_configs: int = 0
    partial_imports: int = 0
    lost_ids: list[str] = field(default_factory=list)

    def broken(self) -> bool:
        return bool(
            self.opens_failed
            or self.lost_at_next_open
            or self.duplicated_ids
            or self.duplicated_configs
            or self.partial_imports
        )


def lost_ids(durable: Iterable[str], listed: Iterable[str]) -> list[str]:
    """Run ids that were durable (spooled, or listed before) and are not listed now, sorted."""
    seen = set(listed)
    return sorted({i for i in durable if i not in seen})


def duplicated_ids(listed: Sequence[str]) -> list[str]:
    """Run ids listed more than once, sorted."""
    return sorted(i for i, n in Counter(listed).items() if n > 1)


def duplicated_configs(rows: Iterable[dict[str, str]], key: Sequence[str] = CONFIG_KEY) -> int:
    """How many rows of one job repeat a (model, configuration) already stored under another id."""
    ids_by_key: dict[tuple[str, ...], set[str]] = {}
    for r in rows:
        ids_by_key.setdefault(tuple(r.get(k, "") for k in key), set()).add(r["run_id"])
    return sum(len(ids) - 1 for ids in ids_by_key.values())


def import_state(bundle_ids: Iterable[str], listed: Iterable[str]) -> str:
    """``none``, ``all`` or ``partial``: how much of one bundle the store lists."""
    want = set(bundle_ids)
    n = len(want & set(listed))
    return "none" if n == 0 else "all" if n == len(want) else "partial"


# -- the processes -----------------------------------------------------------


def _cli(store: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "paretoscope", *args, "--store", str(store)]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = (
        root + os.pathsep + env.get("PYTHONPATH", "") if env.get("PYTHONPATH") else root
    )
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _descendants(pid: int) -> set[int]:
    import psutil

    try:
        return {c.pid for c in psutil.Process(pid).children(recursive=True)}
    except psutil.Error:
        return set()


def _kill_tree(proc: subprocess.Popen[bytes], escaped: list[int]) -> bool:
    """SIGKILL ``proc``'s process group; then any descendant that was outside it (counted).

    Returns whether the process was still running when killed.
    """
    import psutil

    running = proc.poll() is None
    kids = _descendants(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    time.sleep(0.2)
    for pid in kids:
        try:
            p = psutil.Process(pid)
            if p.status() != psutil.STATUS_ZOMBIE:
                escaped.append(pid)
                p.kill()
        except psutil.Error:
            pass
    return running


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def open_store(store: Path, timeout_s: float = 120.0) -> tuple[bool, list[dict[str, str]], str]:
    """``runs --all --format csv`` in a fresh process: (opened, rows, stderr tail)."""
    try:
        out = subprocess.run(
            _cli(store, "runs", "--all", "--format", "csv"),
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=_env(),
        )
    except subprocess.TimeoutExpired:
        return False, [], "timed out"
    if out.returncode != 0:
        return False, [], out.stderr[-500:]
    return True, list(csv.DictReader(io.StringIO(out.stdout))), ""


def spooled_ids(store: Path) -> tuple[set[str], int]:
    """Run ids of the records in the spool folder, and the count of temporary files there.

    Read with the store's own reader (``Spool.read``, which changes nothing), so every
    layout counts: one record per file or a whole import's batch in one file.
    """
    from store.spool import TMP_PREFIX, Spool

    folder = Path(str(store.resolve()) + ".files") / "spool"
    if not folder.is_dir():
        return set(), 0
    ids = {rec.run_id for entry in Spool(folder).read() for rec in entry.records}
    tmp = sum(1 for p in folder.iterdir() if p.name.startswith(TMP_PREFIX))
    return ids, tmp


# -- setup -------------------------------------------------------------------


def make_model(path: Path) -> Path:
    """A tiny ONNX MLP (64 -> 32 -> 10), batch dynamic."""
    import numpy as np

    from measure.testing import export_onnx, tiny_mlp

    if not path.exists():
        export_onnx(tiny_mlp(), path, np.zeros((1, 64), dtype=np.float32))
    return path


def make_bundle(workdir: Path, cycle: int, n: int) -> tuple[Path, list[str]]:
    """A bundle of ``n`` synthetic runs whose ids no other cycle uses."""
    import dataclasses

    from store import Store
    from store.bulk import bulk_ingest
    from store.bundle import export_bundle
    from tests.synthetic import synthetic_records

    src = workdir / f"src-{cycle:04d}.duckdb"
    records = []
    for i, r in enumerate(synthetic_records(n, seed=cycle % 90)):
        run_id = f"fault-imp{cycle:04d}-{i:05d}"
        records.append(
            dataclasses.replace(r, run_id=run_id, spec=dataclasses.replace(r.spec, run_id=run_id))
        )
    store = Store(src)
    bulk_ingest(store, records)
    out = workdir / f"bundle-{cycle:04d}.parquet"
    export_bundle(store, out)
    src.unlink()
    Path(str(src) + ".wal").unlink(missing_ok=True)
    shutil.rmtree(str(src) + ".files", ignore_errors=True)
    return out, [r.run_id for r in records]


# -- the loop ----------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kills", type=int, default=100, help="SIGKILLs in all (default 100)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kinds", default=",".join(KINDS), help="comma list of " + ", ".join(KINDS))
    ap.add_argument("--budget-s", type=float, default=3600.0, help="stop after this long (s)")
    ap.add_argument("--delay-scale", type=float, default=1.0, help="scale every kill delay")
    ap.add_argument(
        "--no-calibrate",
        dest="calibrate",
        action="store_false",
        help="use the fixed delay ranges instead of timing one uninterrupted cycle of each kind",
    )
    ap.add_argument("--bundle-runs", type=int, default=300, help="runs per imported bundle")
    ap.add_argument("--workdir", default="/tmp/paretoscope-fault", help="store, model, bundles")
    ap.add_argument("--json", metavar="FILE", help="also write the summary here")
    args = ap.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    bad = set(kinds) - set(KINDS)
    if bad:
        ap.error(f"unknown kinds: {sorted(bad)}")

    rng = random.Random(args.seed)
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    store = work / "fault.duckdb"
    if store.exists():
        ap.error(f"{store} exists: use a fresh --workdir")
    model = make_model(work / "tiny.onnx")
    logs = work / "logs"
    logs.mkdir(exist_ok=True)

    inv = Invariants()
    per_kind: Counter[str] = Counter()
    exited_early: Counter[str] = Counter()
    escaped: list[int] = []
    escaped_per_kind: Counter[str] = Counter()
    ever_listed: set[str] = set()
    ever_spooled: set[str] = set()
    bundles: dict[int, list[str]] = {}
    profile_jobs: list[str] = []
    demo_force = False
    demo_generation_start = ""  # started_at (store's naive UTC text) of the generation
    max_tmp = 0
    t_start = time.monotonic()
    cycle = 0
    durations: dict[str, float] = {}  # seconds one uninterrupted cycle of a kind took
    calibrations: dict[str, float] = {}
    print(
        f"{'cycle':>5} {'kind':<8} {'delay_s':>7} {'killed':>6} {'open':>4} {'runs':>6} "
        f"{'spool':>5} {'lost':>4} {'dup':>3} {'import':>7}"
    )
    while sum(per_kind.values()) < args.kills and time.monotonic() - t_start < args.budget_s:
        kind = kinds[cycle % len(kinds)] if cycle < len(kinds) else rng.choice(kinds)
        calibrating = args.calibrate and kind not in durations and kind != "serve"
        if calibrating:
            delay = CALIBRATION_CAP_S  # run to the end once: how long does this kind take here?
        elif kind in durations:
            delay = rng.uniform(0.02, 1.0) * durations[kind] * args.delay_scale
        else:
            lo, hi = DEFAULT_DELAYS[kind]
            delay = rng.uniform(lo, hi) * args.delay_scale
        bundle_ids: list[str] = []
        if kind == "demo":
            cmd = _cli(store, "demo", "--quick") + (["--force"] if demo_force else [])
            if demo_force:
                demo_generation_start = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        elif kind == "profile":
            name = f"fault-p{cycle:04d}"
            profile_jobs.append(name)
            cmd = _cli(
                store,
                "profile",
                str(model),
                "--quick",
                "--repeats",
                "1",
                "--precision",
                "fp32,int8",
                "--batch",
                "1,4",
                "--name",
                name,
            )
        elif kind == "import":
            bundle, bundle_ids = make_bundle(work, cycle, args.bundle_runs)
            bundles[cycle] = bundle_ids
            cmd = _cli(store, "import", str(bundle))
        else:
            cmd = _cli(store, "serve", "--no-demo", "--no-example", "--port", str(_free_port()))
        with open(logs / f"{cycle:04d}-{kind}.log", "wb") as log:
            proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=_env(), start_new_session=True
            )
            t_child = time.monotonic()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=delay)
            if calibrating:
                durations[kind] = time.monotonic() - t_child
                delay = durations[kind]
            n_escaped = len(escaped)
            killed = _kill_tree(proc, escaped)
            escaped_per_kind[kind] += len(escaped) - n_escaped
        if calibrating:
            calibrations[kind] = round(durations[kind], 1)
            if kind == "demo" and proc.returncode == 0:
                demo_force = True
        elif killed:
            per_kind[kind] += 1
            if kind == "demo":
                demo_force = False
        else:
            exited_early[kind] += 1
            if kind == "demo" and proc.returncode == 0:
                demo_force = True  # the generation is complete: measure a new one

        spooled, tmp = spooled_ids(store)
        max_tmp = max(max_tmp, tmp)
        ever_spooled |= spooled
        ok, rows, err = open_store(store)
        listed = [r["run_id"] for r in rows]
        lost: list[str] = []
        dup_ids: list[str] = []
        dup_cfg = 0
        state = ""
        if ok:
            inv.opens_ok += 1
            lost = lost_ids(spooled | ever_listed, listed)
            dup_ids = duplicated_ids(listed)
            ok_rows = [r for r in rows if r.get("status", "ok") == "ok"]
            for name in profile_jobs[-1:] if kind == "profile" else []:
                dup_cfg += duplicated_configs(r for r in ok_rows if r["model"].startswith(name))
            if kind == "demo":
                dup_cfg += duplicated_configs(
                    r
                    for r in ok_rows
                    if r.get("model_id", "").startswith("demo-")
                    and r.get("started_at", "") >= demo_generation_start
                )
            if bundle_ids:
                state = import_state(bundle_ids, listed)
                inv.partial_imports += state == "partial"
            ever_listed |= set(listed)
        else:
            inv.opens_failed += 1
            print(f"      store did not open: {err.strip()}", file=sys.stderr)
        inv.lost_at_next_open += len(lost)
        inv.lost_ids.extend(lost)
        inv.duplicated_ids += len(dup_ids)
        inv.duplicated_configs += dup_cfg
        print(
            f"{cycle:>5} {kind:<8} {delay:>7.2f} {'yes' if killed else 'no':>6} "
            f"{'ok' if ok else 'FAIL':>4} {len(listed):>6} {len(spooled):>5} {len(lost):>4} "
            f"{len(dup_ids) + dup_cfg:>3} {state:>7}",
            flush=True,
        )
        cycle += 1

    # The end: drain explicitly in a fresh process, then check the final store.
    drain = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from store import Store; print(Store(sys.argv[1]).drain_spool())",
            str(store),
        ],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=300,
    )
    spool_left, tmp_left = spooled_ids(store)
    ok, rows, err = open_store(store)
    listed = [r["run_id"] for r in rows]
    final_lost = lost_ids(ever_spooled | ever_listed, listed) if ok else []
    final_partial = [c for c, ids in bundles.items() if import_state(ids, listed) == "partial"]
    summary: dict[str, Any] = {
        "benchmark": "fault_loop",
        "seed": args.seed,
        "cycles": cycle,
        "kills": sum(per_kind.values()),
        "kills_per_kind": dict(per_kind),
        "exited_before_kill": dict(exited_early),
        "calibration_s": calibrations,
        "elapsed_s": round(time.monotonic() - t_start, 1),
        "opens_ok": inv.opens_ok,
        "opens_failed": inv.opens_failed,
        "lost_at_next_open": inv.lost_at_next_open,
        "lost_at_next_open_distinct": len(set(inv.lost_ids)),
        "duplicated_ids": inv.duplicated_ids,
        "duplicated_configs": inv.duplicated_configs,
        "partial_imports_at_next_open": inv.partial_imports,
        "final_open_ok": ok,
        "final_drain_ok": drain.returncode == 0,
        "final_runs": len(listed),
        "final_lost": len(final_lost),
        "final_duplicated_ids": len(duplicated_ids(listed)),
        "final_partial_imports": len(final_partial),
        "final_spool_left": len(spool_left),
        "tmp_files_max": max_tmp,
        "tmp_files_left": tmp_left,
        "escaped_group_kill": len(escaped),
        "escaped_per_kind": dict(escaped_per_kind),
    }
    summary["invariants_held"] = not (
        inv.broken() or not ok or final_lost or summary["final_duplicated_ids"] or final_partial
    )
    print()
    print("| figure | value |\n| --- | --- |")
    for k, v in summary.items():
        if k != "benchmark":
            print(f"| {k} | {v} |")
    line = json.dumps(summary)
    print(line)
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")
    return 0 if summary["invariants_held"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
