"""store.spool and store.runid: file names for every storable id, batches, orphans."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store import Store
from store.runid import run_id_problem
from store.spool import (
    ORPHAN_GRACE_S,
    ORPHAN_MAX_AGE_S,
    Spool,
    remove_orphans,
    spool_file_name,
)
from tests.factories import make_record


@pytest.mark.parametrize(
    ("run_id", "problem"),
    [
        ("16d586b5d0294d34af21b9913b39648f", None),
        (".hidden", None),
        ("a:b.c-d_e", None),
        ("X" * 100, None),
        ("", "is empty"),
        ("X" * 101, "longer than 100"),
        ("a/b", "characters other than"),
        ("a b", "characters other than"),
        ("é", "characters other than"),
        (7, "is not text"),
    ],
)
def test_run_id_problem(run_id: object, problem: str | None) -> None:
    found = run_id_problem(run_id)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_spool_file_names_are_distinct_and_never_temporary() -> None:
    ids = ["abc", ".abc", "..", ".tmp-1-x", "ABC", "Abc", "a:b", "a/b", "x" * 100]
    names = [spool_file_name(i) for i in ids]
    assert len(set(names)) == len(ids)
    # Distinct also on a file system that ignores case.
    assert len({n.lower() for n in names}) == len(ids)
    assert all(not n.startswith(".") and "/" not in n and n.endswith(".json") for n in names)
    assert spool_file_name("abc") == "run-abc.json"  # readable when it can be


@pytest.mark.parametrize(
    "run_id", [".starts-with-dot", ".tmp-123-x", "..", "UPPER:case", "a" * 100]
)
def test_every_storable_run_id_drains(tmp_path: Path, run_id: str) -> None:
    assert run_id_problem(run_id) is None
    store = Store(tmp_path / "s.duckdb")
    rec = make_record(run_id=run_id)
    store.spool.put(rec)
    assert len(store.spool) == 1
    assert store.drain_spool().inserted == 1
    assert len(store.spool) == 0
    assert store.get_record(run_id) == rec


def test_a_spool_file_of_the_old_naming_is_drained(tmp_path: Path) -> None:
    """Earlier versions named a spool file ``<run id>.json``, also for an id starting with '.'."""
    store = Store(tmp_path / "s.duckdb")
    rec = make_record(run_id=".old-style")
    path = store.spool.put(rec)
    os.replace(path, store.spool.folder / ".old-style.json")
    assert Store(store.path).has_run(".old-style")
    assert len(store.spool) == 0


def test_a_batch_is_stored_all_together(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    records = [make_record(model=f"m{i}") for i in range(5)]
    store.spool.put_batch(records, "test batch")
    assert len(store.spool) == 1  # one file for the batch
    result = store.drain_spool()
    assert (result.inserted, result.pending) == (5, 0)
    assert store.run_count() == 5


def test_a_batch_that_duckdb_refuses_is_set_aside_whole(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    good = make_record(model="good")
    # A NOT NULL column left empty: DuckDB refuses the insert.
    bad = dataclasses.replace(make_record(model="bad"), status=None)  # type: ignore[arg-type]
    batch = [make_record(model="first"), bad]
    store.spool.put_batch(batch, "half-bad batch")
    store.spool.put(good)
    result = store.drain_spool()
    assert (result.inserted, result.unreadable) == (1, 1)
    assert store.has_run(good.run_id)
    assert not store.has_run(batch[0].run_id)  # nothing of the refused batch
    assert len(list((store.spool.folder / "unreadable").glob("batch-*.json"))) == 1
    assert len(store.spool) == 0


def test_a_damaged_batch_file_is_quarantined(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    store.spool.folder.mkdir(parents=True, exist_ok=True)
    (store.spool.folder / "batch-1-x.json").write_text(json.dumps({"batch": "b", "records": 3}))
    result = store.drain_spool()
    assert result.unreadable == 1
    assert (store.spool.folder / "unreadable" / "batch-1-x.json").exists()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _aged(path: Path, age_s: float) -> Path:
    path.write_text("partial")
    t = time.time() - age_s
    os.utime(path, (t, t))
    return path


def test_orphans_of_dead_writers_are_removed(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getpid()
    old = ORPHAN_GRACE_S + 5
    orphan = _aged(tmp_path / f".tmp-{dead}-abc.json", old)
    fresh_orphan = _aged(tmp_path / f".tmp-{dead}-new.json", 1)  # its writer may be remote
    live = _aged(tmp_path / f".tmp-{alive}-abc.json", old)  # still being written
    no_pid = _aged(tmp_path / ".tmp-0123abcd.onnx", old)  # no pid: only by age
    ancient = _aged(tmp_path / ".tmp-9f00.onnx", ORPHAN_MAX_AGE_S + 5)
    ancient_live = _aged(tmp_path / f".tmp-{alive}-zzz.json", ORPHAN_MAX_AGE_S + 5)
    record = _aged(tmp_path / "run-abc.json", ORPHAN_MAX_AGE_S + 5)  # never a temporary
    removed = remove_orphans([tmp_path, tmp_path / "missing"])
    assert set(removed) == {orphan, ancient, ancient_live}
    assert all(p.exists() for p in (fresh_orphan, live, no_pid, record))


def test_opening_a_store_removes_orphans(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    dead = _dead_pid()
    store.spool.folder.mkdir(parents=True, exist_ok=True)
    artifacts = store.files_dir / "artifacts"
    artifacts.mkdir(parents=True)
    spooled = _aged(store.spool.folder / f".tmp-{dead}-x.json", ORPHAN_GRACE_S + 5)
    copied = _aged(artifacts / f".tmp-{dead}-{'0' * 64}.onnx", ORPHAN_GRACE_S + 5)
    Store(store.path)
    assert not spooled.exists() and not copied.exists()


def test_put_leaves_no_temporary_file(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    spool.put(make_record())
    spool.put_batch([make_record(), make_record()], "b")
    assert sorted(p.name.split("-")[0] for p in spool.folder.iterdir()) == ["batch", "run"]


def test_a_refused_spool_file_does_not_stop_the_store_from_opening(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.duckdb")
    bad = dataclasses.replace(make_record(), status=None)  # type: ignore[arg-type]
    store.spool.put(bad)
    good = make_record()
    store.spool.put(good)
    reopened = Store(store.path)
    assert reopened.has_run(good.run_id) and not reopened.has_run(bad.run_id)
    assert len(reopened.spool) == 0
    assert len(list((store.spool.folder / "unreadable").iterdir())) == 1
