"""Several processes at once: the single-writer path loses no run and raises no lock error."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

from store import Store
from tests.factories import make_record

REPO = Path(__file__).resolve().parents[2]


def _hold_lock(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process that opens the store read-write and sits on it."""
    code = textwrap.dedent(
        f"""
        import duckdb, sys, time
        conn = duckdb.connect({str(path)!r})
        print("locked", flush=True)
        time.sleep({seconds})
        conn.close()
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_ingest_waits_for_a_brief_lock(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb", lock_timeout_s=20)
    holder = _hold_lock(store.path, 1.0)
    result = store.ingest(make_record())
    holder.communicate()
    assert result.inserted == 1
    assert store.run_count() == 1


def test_ingest_under_a_long_lock_keeps_the_run_in_the_spool(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb", lock_timeout_s=0.3)
    holder = _hold_lock(store.path, 2.0)
    rec = make_record()
    result = store.ingest(rec)
    assert (result.inserted, result.pending) == (0, 1)
    holder.communicate()
    # The next open, in any process, moves it in.
    later = Store(store.path)
    assert later.run_count() == 1
    assert len(later.spool) == 0
    assert later.get_record(rec.run_id) == rec


def test_two_writer_processes_and_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    Store(path)
    writer = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(REPO)!r})
        from store import Store
        from tests.factories import make_record
        store = Store({str(path)!r}, lock_timeout_s=60)
        for i in range(15):
            store.ingest(make_record(model=f"m{{sys.argv[1]}}-{{i}}"))
        """
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", writer, str(n)], stderr=subprocess.PIPE, text=True)
        for n in range(2)
    ]
    reader = Store(path, lock_timeout_s=60)
    seen = 0
    while any(p.poll() is None for p in procs):
        seen = max(seen, len(reader.runs_frame()))  # reads never fail on the lock
        time.sleep(0.01)
    for p in procs:
        _, err = p.communicate()
        assert p.returncode == 0, err
    reader.drain_spool()
    assert reader.run_count() == 30
    assert len(reader.spool) == 0
