"""The terminal's progress line fits the terminal's width and redraws one line in place."""

from __future__ import annotations

import io
import re

import pytest

from paretoscope.present.progress import TerminalBar, progress_line

LONG = "mlp-w256-d2 torch int8 b32: evaluating · repeat 2/3 " + "and a long label " * 8
_CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _visible_lines(out: str) -> list[str]:
    """What a terminal shows of each redraw: the text between carriage returns and newlines."""
    return [seg for seg in re.split(r"[\r\n]", _CSI.sub("", out)) if seg]


@pytest.mark.parametrize("columns", [40, 80, 200])
def test_a_tty_line_never_exceeds_the_width_and_is_redrawn_in_place(columns: int) -> None:
    buf = io.StringIO()
    bar = TerminalBar(buf, columns=columns, force_terminal=True)
    for done in range(0, 81, 8):
        bar.update(done, 81, LONG, 12.5 * done, 300.0 - done)
    before_close = buf.getvalue()
    bar.close()
    lines = _visible_lines(buf.getvalue())
    assert lines and all(len(line) <= columns for line in lines), max(map(len, lines))
    # Each redraw returns to the start of the same line; no newline until the end.
    assert "\n" not in before_close
    assert before_close.count("\r") >= 10
    assert buf.getvalue().count("\n") <= 1
    assert "81/81" in lines[-1] or "80/81" in lines[-1]


@pytest.mark.parametrize("columns", [40, 80, 200])
def test_plain_lines_fit_the_width_when_not_a_tty(columns: int) -> None:
    buf = io.StringIO()
    bar = TerminalBar(buf, columns=columns)
    bar.update(3, 81, LONG, 12.0, 300.0)
    bar.update(4, 81, LONG, 14.0, 290.0)
    bar.close()
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in buf.getvalue() and "\x1b" not in buf.getvalue()
    assert all(len(line) <= columns for line in lines)
    assert lines[0].startswith("3/81 mlp-w")


def test_the_plain_line_keeps_the_count_and_time_left_at_any_width() -> None:
    for columns in (20, 40, 80):
        line = progress_line(7, 81, LONG, 61.0, 125.0, columns)
        assert len(line) <= columns and line.startswith("7/81") and "2:05 left" in line
    assert progress_line(1, 2, "short", 1.0, None, 80) == "1/2 short 0:01 elapsed, ? left"
