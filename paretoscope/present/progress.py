"""Progress of long work: the ETA arithmetic, a terminal bar, a JSON-lines file the dashboard polls.

The demo's and a profile's progress events are ``StepProgress``es, the
fields a ``ProgressFile`` line holds; ``eta_seconds`` is the one estimate of
the time left, shared by them and the job queue.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from paretoscope.core.progress import done_fraction, eta_seconds

__all__ = [
    "ProgressFile",
    "StepProgress",
    "TerminalBar",
    "done_fraction",
    "eta_seconds",
    "format_duration",
    "progress_line",
    "terminal_columns",
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


def progress_line(
    done: int, total: int, label: str, elapsed_s: float, eta_s: float | None, columns: int
) -> str:
    """One plain line of progress, at most ``columns`` characters (the label is cut first)."""
    head = f"{done}/{total} "
    tail = f" {format_duration(elapsed_s)} elapsed, {format_duration(eta_s)} left"
    room = columns - len(head) - len(tail)
    if room < 8:  # a narrow terminal: the label and the elapsed time go before the count
        tail = f" ~{format_duration(eta_s)} left"
        room = columns - len(head) - len(tail)
    text = label if len(label) <= max(room, 0) else label[: max(room - 1, 0)] + "…"
    return (head + text + tail)[:columns] if room > 0 else (head + tail)[:columns]


def terminal_columns(stream: TextIO | None = None) -> int:
    """The terminal's width in characters (``COLUMNS``, else the terminal's, else 80)."""
    return shutil.get_terminal_size((80, 24)).columns


class TerminalBar:
    """A one-line progress bar that fits the terminal's width; plain lines when not a TTY.

    On a terminal the line is drawn by ``rich`` (``rich.progress``): one line,
    redrawn in place, never wider than ``columns`` (default: the terminal's
    width, ``shutil.get_terminal_size``); the label is cut with an ellipsis.
    When the output is a file or a pipe, each change is one plain line of at
    most ``columns`` characters. ``width`` is the bar's width at most.
    ``force_terminal`` draws the terminal form on any stream (tests).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        width: int = 28,
        *,
        columns: int | None = None,
        force_terminal: bool | None = None,
    ) -> None:
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty() if force_terminal is None else force_terminal
        self.columns = columns or terminal_columns(self.stream)
        self._last = ""
        self._progress: Any = None
        self._task: Any = None

    def _start(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn
        from rich.table import Column

        console = Console(
            file=self.stream, width=self.columns, force_terminal=True, highlight=False
        )
        bar_width = max(6, min(self.width, self.columns // 5))
        self._progress = Progress(
            BarColumn(bar_width=bar_width),
            TextColumn("{task.completed:.0f}/{task.total:.0f}"),
            TextColumn(
                "{task.description}",
                table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis"),
            ),
            TextColumn(
                "{task.fields[times]}", table_column=Column(no_wrap=True, overflow="ellipsis")
            ),
            console=console,
            auto_refresh=False,
            expand=True,
        )
        self._task = self._progress.add_task("", total=1, times="")

    def update(
        self, done: int, total: int, label: str, elapsed_s: float, eta_s: float | None
    ) -> None:
        if not self.tty:
            line = progress_line(done, total, label, elapsed_s, eta_s, self.columns)
            if line != self._last:
                self.stream.write(line + "\n")
                self.stream.flush()
            self._last = line
            return
        if self._progress is None:
            self._start()
        times = f"{format_duration(elapsed_s)}, ~{format_duration(eta_s)} left"
        self._progress.update(
            self._task,
            completed=done,
            total=max(total, 1),
            description=label.replace("\n", " "),
            times=times,
        )
        if not self._progress.live.is_started:
            self._progress.start()  # draws the first state
        else:
            self._progress.refresh()
        self._last = label

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class ProgressFile:
    """Appends one JSON object per update to ``path`` (the dashboard's contract).

    Lines: ``{"done", "total", "label", "elapsed_s", "eta_s", "cpu_s"}`` (``cpu_s``: CPU
    seconds of the process and its finished workers so far); the last one
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
        t = os.times()
        # CPU seconds of this process and its finished children (workers): what the
        # work cost without the machine's other load (for recorded plans).
        cpu_s = t.user + t.system + t.children_user + t.children_system
        self._write(
            {
                "done": done,
                "total": total,
                "label": label,
                "elapsed_s": elapsed_s,
                "eta_s": eta_s,
                "cpu_s": round(cpu_s, 3),
            }
        )

    def finish(self, ok: bool, message: str) -> None:
        self._write({"finished": True, "ok": ok, "message": message})
        self._fh.close()
