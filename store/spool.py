"""A durable inbox of run records waiting to be written to DuckDB.

DuckDB lets one process hold a database file for writing and refuses every
other process, even read-only. So a record is first made durable here, written
to a temporary name and renamed (atomic on POSIX), and then moved into DuckDB
by whichever process next gets the lock: the next ingest, or the next open of
the store. A file is deleted from the spool only after the transaction that
stored it has committed; a crash in between re-ingests it, and ingest is
idempotent on the run id, so a run is neither lost nor stored twice.

A measured run is one file, ``run-<run id>.json`` (``runh-<sha256>.json`` for
an id that is not a plain file name). A batch that must be stored all or
nothing (an import) is one file, ``batch-<pid>-<random>.json``, holding all its
records: a killed writer leaves either the whole batch or no trace of it, and
the drain stores a file's records in one transaction. Files of earlier
versions (``<run id>.json``) are still read. Temporary files are named
``.tmp-<pid>-…``; those of killed writers are removed by ``remove_orphans``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paretoscope.core.records import RunRecord, from_dict, to_dict

__all__ = [
    "ORPHAN_GRACE_S",
    "ORPHAN_MAX_AGE_S",
    "TMP_PREFIX",
    "Spool",
    "SpoolEntry",
    "remove_orphans",
    "spool_file_name",
]

TMP_PREFIX = ".tmp-"
# A temporary file whose writer (by the pid in its name) is gone is an orphan
# once it is this old; the grace covers a pid read on another host that shares
# the folder. One without a live writer on this host, or without a pid in its
# name, is an orphan after a day: no write of ours takes that long.
ORPHAN_GRACE_S = 60.0
ORPHAN_MAX_AGE_S = 24 * 3600.0
_PLAIN_ID = re.compile(r"[a-z0-9_.-]{1,100}")
_TMP_PID = re.compile(r"\.tmp-(\d{1,9})-")


def spool_file_name(run_id: str) -> str:
    """The spool file of one run: its id when that is a plain lower-case name, else a hash.

    Every run id gets a name that no temporary file has (they start with
    ``.tmp-``) and that differs from any other id's, also on a file system that
    ignores case; so every run id that can be stored can be drained.
    """
    if _PLAIN_ID.fullmatch(run_id):
        return f"run-{run_id}.json"
    return f"runh-{hashlib.sha256(run_id.encode('utf-8')).hexdigest()}.json"


@dataclass(frozen=True)
class SpoolEntry:
    """One spool file: its records (one, or a batch), or why it cannot be read."""

    path: Path
    records: tuple[RunRecord, ...]
    reason: str | None = None  # set when the file is unreadable (records is empty)
    batch: str | None = None  # the batch's label for a batch file


class Spool:
    """Pending records in ``folder``: one file per run, or one per batch."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _write(self, name: str, payload: Any) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / name
        fd, tmp = tempfile.mkstemp(
            prefix=f"{TMP_PREFIX}{os.getpid()}-", suffix=".json", dir=self.folder
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(payload, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def put(self, record: RunRecord) -> Path:
        """Write ``record`` durably; return its file."""
        return self._write(spool_file_name(record.run_id), to_dict(record))

    def put_batch(self, records: Sequence[RunRecord], label: str) -> Path:
        """Write ``records`` durably as one unit, stored all together or not at all.

        ``label`` says where the batch came from (e.g. the bundle's name), for
        the log when another process stores it.
        """
        name = f"batch-{os.getpid()}-{uuid.uuid4().hex[:12]}.json"
        payload = {"batch": label, "records": [to_dict(r) for r in records]}
        return self._write(name, payload)

    def pending(self) -> list[Path]:
        """Files waiting to be ingested, oldest first."""
        if not self.folder.is_dir():
            return []
        files = [
            p
            for p in self.folder.glob("*.json")
            if not p.name.startswith(TMP_PREFIX) and p.is_file()
        ]
        return sorted(files, key=_age_key)

    def __len__(self) -> int:
        return len(self.pending())

    def read(self) -> Iterator[SpoolEntry]:
        """Each pending file as a ``SpoolEntry`` (with a reason when it is unreadable)."""
        for path in self.pending():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                yield _entry(path, data)
            except FileNotFoundError:
                continue  # another process ingested it meanwhile
            except (ValueError, TypeError, KeyError, AttributeError) as err:
                yield SpoolEntry(path, (), f"{type(err).__name__}: {err}")

    def quarantine(self, path: Path) -> None:
        """Move a file that cannot be stored aside so it stops blocking the queue; keep it."""
        bad = self.folder / "unreadable"
        bad.mkdir(exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, bad / path.name)

    @staticmethod
    def remove(path: Path) -> None:
        path.unlink(missing_ok=True)


def _age_key(path: Path) -> tuple[int, str]:
    try:
        return (path.stat().st_mtime_ns, path.name)
    except FileNotFoundError:
        return (0, path.name)


def _entry(path: Path, data: Any) -> SpoolEntry:
    if isinstance(data, dict) and "records" in data and "batch" in data:
        items = data["records"]
        if not isinstance(items, list):
            raise TypeError("a batch's records are not a list")
        records = tuple(from_dict(RunRecord, d) for d in items)
        return SpoolEntry(path, records, batch=str(data["batch"]))
    return SpoolEntry(path, (from_dict(RunRecord, data),))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, another user's
    return True


def remove_orphans(folders: Iterable[Path], *, now: float | None = None) -> list[Path]:
    """Delete the temporary files (``.tmp-*``) that killed writers left in ``folders``.

    A file is an orphan when the process named in it (``.tmp-<pid>-…``) is not
    running and the file is older than ``ORPHAN_GRACE_S``, or when it is older
    than ``ORPHAN_MAX_AGE_S`` whatever its name. Only the folders' own files are
    looked at (not sub-folders). Returns the files removed.
    """
    t = time.time() if now is None else now
    removed: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.glob(f"{TMP_PREFIX}*"):
            try:
                st = path.lstat()
            except FileNotFoundError:
                continue
            if not path.is_file():
                continue
            age = t - st.st_mtime
            m = _TMP_PID.match(path.name)
            writer_gone = m is not None and not _pid_alive(int(m.group(1)))
            if (writer_gone and age > ORPHAN_GRACE_S) or age > ORPHAN_MAX_AGE_S:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path)
    return removed
