"""A running job's progress per device, in a small JSON file beside the store.

The jobs table holds one progress bar per job (done/total steps, a label).
A sweep measured on several devices at once (a Dask cluster) also reports
``{device: (done, total)}`` runs; the runner writes it here, replacing the
file whole (write and rename), and the Jobs view reads it to draw one bar
per device. The file is ``<store>.files/jobs/<job id>.devices.json``,
``{"devices": {"cpu": [done, total], ...}, "at": unix time}``; it stays
after the job ends, so a finished job can say how its runs were shared.
Nothing here touches DuckDB: the dashboard reads it without the store's lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store import Store

__all__ = ["DeviceProgressFile", "device_progress_path", "read_device_progress"]

_FOLDER = "jobs"
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")


def device_progress_path(store: Store, job_id: str) -> Path | None:
    """The per-device progress file of ``job_id``; None for an id that is no plain name."""
    if not _SAFE_ID.fullmatch(job_id):
        return None
    return store.files_dir / _FOLDER / f"{job_id}.devices.json"


def read_device_progress(store: Store, job_id: str) -> dict[str, tuple[int, int]]:
    """``{device: (done, total)}`` as last written for ``job_id``; empty when none or unreadable."""
    path = device_progress_path(store, job_id)
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    devices = data.get("devices") if isinstance(data, dict) else None
    if not isinstance(devices, dict):
        return {}
    out: dict[str, tuple[int, int]] = {}
    for name, counts in devices.items():
        if (
            isinstance(counts, list)
            and len(counts) == 2
            and all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts)
        ):
            out[str(name)] = (counts[0], counts[1])
    return out


class DeviceProgressFile:
    """Writes a job's per-device progress when it changes (see the module docstring)."""

    def __init__(self, store: Store, job_id: str) -> None:
        self.path = device_progress_path(store, job_id)
        self._last: dict[str, tuple[int, int]] = {}

    def update(self, per_device: Mapping[str, Sequence[int]]) -> None:
        """Record ``{device: (done, total)}``; nothing is written when it has not changed.

        A write that fails (a full disk) is skipped: progress is not worth
        failing a measurement for.
        """
        now = {str(k): (int(v[0]), int(v[1])) for k, v in per_device.items() if len(v) == 2}
        if self.path is None or not now or now == self._last:
            return
        self._last = now
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".tmp-{os.getpid()}-{self.path.name}")
            body = {"devices": {k: list(v) for k, v in sorted(now.items())}, "at": time.time()}
            tmp.write_text(json.dumps(body), encoding="utf-8")
            os.replace(tmp, self.path)
