"""A durable inbox of run records waiting to be written to DuckDB.

DuckDB lets one process hold a database file for writing and refuses every
other process, even read-only. So a record is first made durable here (one
JSON file per run, written to a temporary name and renamed, which is atomic on
POSIX), and then moved into DuckDB by whichever process next gets the lock.
A record is deleted from the spool only after the transaction that stored it
has committed; a crash in between re-ingests it, and ingest is idempotent on
the run id, so a run is neither lost nor stored twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from paretoscope.core.records import RunRecord, from_dict, to_dict

__all__ = ["Spool"]


class Spool:
    """Pending records in ``folder``, one ``<run_id>.json`` each."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def put(self, record: RunRecord) -> Path:
        """Write ``record`` durably; return its file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.folder / f"{record.run_id}.json"
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(to_dict(record), fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target

    def pending(self) -> list[Path]:
        """Files waiting to be ingested, oldest first."""
        if not self.folder.is_dir():
            return []
        files = [p for p in self.folder.glob("*.json") if not p.name.startswith(".")]
        return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))

    def __len__(self) -> int:
        return len(self.pending())

    def read(self) -> Iterator[tuple[Path, RunRecord | None, str | None]]:
        """Yield ``(file, record, None)``, or ``(file, None, reason)`` for an unreadable file."""
        for path in self.pending():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                yield path, from_dict(RunRecord, data), None
            except FileNotFoundError:
                continue  # another process ingested it meanwhile
            except (ValueError, TypeError, KeyError) as err:
                yield path, None, f"{type(err).__name__}: {err}"

    def quarantine(self, path: Path) -> None:
        """Move an unreadable file aside so it stops blocking the queue, keeping it for a person."""
        bad = self.folder / "unreadable"
        bad.mkdir(exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.replace(path, bad / path.name)

    @staticmethod
    def remove(path: Path) -> None:
        path.unlink(missing_ok=True)
