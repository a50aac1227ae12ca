"""Crashes around the store, with real processes killed by SIGKILL.

A run left in the spool by a killed writer shows at the next open, without a
new ingest; a killed import leaves all of its bundle stored or none of it, and
a later import reports only its own runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from store import Store
from store.bulk import bulk_ingest
from store.bundle import export_bundle
from tests.factories import make_record

REPO = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


def cli(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "paretoscope", *argv],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )


def listed_run_ids(store_path: Path) -> set[str]:
    """The run ids `paretoscope runs` shows (its own process: the next open)."""
    done = cli("runs", "--format", "json", "--store", str(store_path))
    assert done.returncode == 0, done.stderr
    import json

    return {row["run_id"] for row in json.loads(done.stdout or "[]")}


def make_bundle(path: Path, n: int, prefix: str) -> tuple[Path, set[str]]:
    """A bundle of ``n`` ok runs, exported from a scratch store."""
    scratch = Store(path.with_suffix(".scratch.duckdb"))
    records = [make_record(model=f"{prefix}{i}", batch_size=1 + i % 4) for i in range(n)]
    bulk_ingest(scratch, records)
    export_bundle(scratch, path)
    return path, {r.run_id for r in records}


def test_a_run_spooled_by_a_killed_writer_shows_at_the_next_open(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    Store(path)
    writer = textwrap.dedent(
        f"""
        import os, signal, sys
        sys.path.insert(0, {str(REPO)!r})
        from store.spool import Spool
        from tests.factories import make_record
        rec = make_record(model="killed-writer")
        Spool(__import__("pathlib").Path({str(path)!r} + ".files") / "spool").put(rec)
        print(rec.run_id, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # killed after spooling, before draining
        """
    )
    proc = subprocess.run([sys.executable, "-c", writer], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL
    run_id = proc.stdout.strip()
    assert run_id in listed_run_ids(path)  # the CLI's open drained it
    assert Store(path).runs_frame()["run_id"].tolist() == [run_id]


def test_a_run_left_in_the_spool_shows_in_runs_frame_of_the_next_store(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    store = Store(path)
    rec = make_record()
    store.spool.put(rec)  # as if the writer died here
    assert Store(path).runs_frame()["run_id"].tolist() == [rec.run_id]


def _kill_when(proc: subprocess.Popen[bytes], spool: Path, moment: str) -> None:
    """SIGKILL ``proc`` at ``moment``: when its batch's temporary or final file appears."""
    pattern = {"writing": ".tmp-*", "spooled": "batch-*.json"}[moment]
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if spool.is_dir() and any(spool.glob(pattern)):
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.parametrize("moment", ["writing", "spooled", 3.0])
def test_a_killed_import_stores_all_of_its_bundle_or_none(
    tmp_path: Path, moment: str | float
) -> None:
    bundle, ids = make_bundle(tmp_path / "a.parquet", 300, "a")
    path = tmp_path / "s.duckdb"
    Store(path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "paretoscope", "import", str(bundle), "--store", str(path)],
        cwd=REPO,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    if isinstance(moment, float):
        time.sleep(moment)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    else:
        _kill_when(proc, Path(str(path) + ".files") / "spool", moment)
    listed = listed_run_ids(path)
    assert listed in (set(), ids), f"{len(listed)} of {len(ids)} runs stored"
    # Whatever the kill left, importing again completes it and reports honestly.
    again = cli("import", str(bundle), "--store", str(path))
    assert again.returncode == 0, again.stderr
    assert f"{len(ids) - len(listed)} run" in again.stderr
    assert listed_run_ids(path) == ids


def test_a_later_import_reports_only_its_own_runs(tmp_path: Path) -> None:
    bundle_a, ids_a = make_bundle(tmp_path / "a.parquet", 30, "a")
    bundle_b, ids_b = make_bundle(tmp_path / "b.parquet", 4, "b")
    path = tmp_path / "s.duckdb"
    store = Store(path)
    # An import of A killed after spooling its batch, before storing it.
    from store.bundle import read_bundle

    store.spool.put_batch(list(read_bundle(bundle_a).records), "import of a.parquet")
    done = cli("import", str(bundle_b), "--store", str(path))
    assert done.returncode == 0, done.stderr
    assert "4 runs imported from a bundle of 4." in done.stderr
    assert listed_run_ids(path) == ids_a | ids_b
