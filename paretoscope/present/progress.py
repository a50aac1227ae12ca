"""Progress of long work: the ETA arithmetic, a terminal bar, a JSON-lines file the dashboard polls.

The demo's and a profile's progress events are ``StepProgress``es, the
fields a ``ProgressFile`` line holds; ``eta_seconds`` is the one estimate of
the time left, shared by them and the job queue.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from paretoscope.core.progress import done_fraction, eta_seconds

__all__ = [
    "ProgressFile",
    "StepProgress",
    "TerminalBar",
    "done_fraction",
    "eta_seconds",
    "format_duration",
]


@dataclass(frozen=True)
class StepProgress:
    """Where long work stands: ``done`` of ``total`` steps, ``label`` the current one.

    Times in seconds; ``eta_s`` is None until there is something to
    extrapolate from. The fields of a ``ProgressFile`` line and of a
    ``TerminalBar`` update.
    """

    done: int
    total: int
    label: str
    elapsed_s: float
    eta_s: float | None


def format_duration(seconds: float | None) -> str:
    """``83.2`` → ``1:23``; None → ``?``."""
    if seconds is None or seconds != seconds or seconds < 0:
        return "?"
    s = round(seconds)
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class TerminalBar:
    """A one-line progress bar on a TTY; plain lines (one per step) when output is a file."""

    def __init__(self, stream: TextIO | None = None, width: int = 28) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self._last = ""

    def update(
        self, done: int, total: int, label: str, elapsed_s: float, eta_s: float | None
    ) -> None:
        filled = int(self.width * (done / total if total else 0.0))
        bar = "#" * filled + "-" * (self.width - filled)
        line = (
            f"[{bar}] {done}/{total} {label[:48]:<48} "
            f"{format_duration(elapsed_s)} elapsed, {format_duration(eta_s)} left"
        )
        if self.tty:
            self.stream.write("\r" + line)
        elif line != self._last:
            self.stream.write(line + "\n")
        self._last = line
        self.stream.flush()

    def close(self) -> None:
        if self.tty and self._last:
            self.stream.write("\n")
            self.stream.flush()


class ProgressFile:
    """Appends one JSON object per update to ``path`` (the dashboard's contract).

    Lines: ``{"done", "total", "label", "elapsed_s", "eta_s"}``; the last one
    ``{"finished": true, "ok": bool, "message": str}``.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a", encoding="utf-8")

    def _write(self, obj: dict[str, object]) -> None:
        obj["at"] = time.time()
        self._fh.write(json.dumps(obj) + "\n")
        self._fh.flush()

    def update(
        self, done: int, total: int, label: str, elapsed_s: float, eta_s: float | None
    ) -> None:
        self._write(
            {"done": done, "total": total, "label": label, "elapsed_s": elapsed_s, "eta_s": eta_s}
        )

    def finish(self, ok: bool, message: str) -> None:
        self._write({"finished": True, "ok": ok, "message": message})
        self._fh.close()
