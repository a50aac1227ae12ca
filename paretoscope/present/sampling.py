"""Keep a chart's marks within budget: every frontier run, a thinned sample of the rest.

A browser draws a few thousand SVG marks smoothly; 100 000 would freeze it.
``thin_points`` always keeps the rows flagged ``keep`` (frontier runs, budget
answers, the selected run) and thins the others by a grid: the plot area is
cut into cells (on log axes in log space) and one run per occupied cell is
kept, so the cloud's shape and its outliers survive, unlike a uniform
sample that loses sparse regions. If the cells still hold too many runs, a
seeded random sample of them is taken. Deterministic. Pure: numpy and pandas.
O(n) plus a sort of the kept cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["MAX_MARKS", "Thinned", "thin_points"]

# The most points a chart sends to the browser.
MAX_MARKS = 3000


@dataclass(frozen=True)
class Thinned:
    """The rows to draw, and how many were left out (0 when nothing was)."""

    rows: pd.DataFrame
    n_dropped: int

    @property
    def note(self) -> str:
        """A sentence for the page saying what was left out, or an empty string."""
        if not self.n_dropped:
            return ""
        return (
            f"Thinned for the browser: {self.n_dropped:,} of "
            f"{self.n_dropped + len(self.rows):,} runs, all off the frontier, are not drawn "
            "(one run per small cell of the chart is kept, so the cloud keeps its shape). "
            "Every frontier run is drawn; the tables and budget answers use all runs."
        )


def _axis(values: np.ndarray, log: bool, cells: int) -> np.ndarray:
    v = np.log10(np.where(values > 0, values, np.nan)) if log else values.astype(np.float64)
    finite = np.isfinite(v)
    if not finite.any():
        return np.zeros(len(v), dtype=np.int64)
    lo, hi = float(np.nanmin(v[finite])), float(np.nanmax(v[finite]))
    span = hi - lo or 1.0
    idx = np.floor((np.where(finite, v, lo) - lo) / span * (cells - 1)).astype(np.int64)
    return np.asarray(np.clip(idx, 0, cells - 1), dtype=np.int64)


def thin_points(
    frame: pd.DataFrame,
    x: str,
    y: str,
    keep: np.ndarray,
    *,
    log_x: bool = False,
    log_y: bool = False,
    max_marks: int = MAX_MARKS,
    seed: int = 0,
) -> Thinned:
    """At most ``max_marks`` rows of ``frame`` (more only when ``keep`` alone has more).

    ``keep`` (boolean, one per row) marks rows that are always drawn.
    """
    keep = np.asarray(keep, dtype=bool)
    if len(frame) <= max_marks:
        return Thinned(frame, 0)
    budget = max(0, max_marks - int(keep.sum()))
    rest = np.flatnonzero(~keep)
    chosen = np.zeros(0, dtype=np.int64)
    if budget and rest.size:
        cells = max(2, int(np.sqrt(budget)))
        xs = _axis(frame[x].to_numpy()[rest], log_x, cells)
        ys = _axis(frame[y].to_numpy()[rest], log_y, cells)
        cell = xs * cells + ys
        _, first = np.unique(cell, return_index=True)
        chosen = rest[first]
        if chosen.size > budget:
            rng = np.random.default_rng(seed)
            chosen = rng.choice(chosen, size=budget, replace=False)
    take = np.zeros(len(frame), dtype=bool)
    take[keep] = True
    take[chosen] = True
    return Thinned(frame[take], int(len(frame) - take.sum()))
