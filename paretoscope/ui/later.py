"""What a download builds when it is clicked, capturing only the shared frame and the view.

Streamlit keeps a page's download callables and its share panel's arguments
for as long as the session lives, and a disconnected session for two minutes
more (``server.disconnectedSessionTTL``). A ``lambda`` written in a page
script closes over the script's module namespace (``__globals__``), so it
kept every per-session object of that run alive: at 100 000 runs the filtered
copies (``fp``, ``rows``, ``pool``) made the server grow by about 120 MB per
session (issue 13). The functions here return closures over their arguments
only: the cached frame (shared, read-only) and the view (small).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from paretoscope.analysis.selection import filter_runs, frontier_points, select_runs
from paretoscope.present.charts.frontier_spec import frontier_drawing
from paretoscope.present.exports import table_csv
from paretoscope.present.tables import points_table, runs_table
from paretoscope.views import FrontierView, RunFilters, RunsView
from store import Store
from store.bundle import BundleFilters, bundle_bytes

__all__ = [
    "every_run_bundle",
    "filtered_runs",
    "frontier_altair",
    "frontier_table",
    "runs_csv",
    "runs_rows",
]


def frontier_table(runs: pd.DataFrame, view: FrontierView) -> Callable[[], pd.DataFrame]:
    """The Frontier page's full points table (every plotted run), built when called."""

    def build() -> pd.DataFrame:
        fp = frontier_points(runs, view)
        return points_table(fp.full_rows(fp.points), view.objectives, group=view.by)

    return build


def frontier_altair(runs: pd.DataFrame, view: FrontierView) -> Callable[[], Any]:
    """The Frontier page's Altair chart (for the share panel's files), built when called.

    The page draws a dict from cached structure (``frontier_spec``); exports
    and the fingerprint need the Altair chart, built from the same view.
    """

    def build() -> Any:
        return frontier_drawing(frontier_points(runs, view)).altair()

    return build


def runs_rows(runs: pd.DataFrame, view: RunsView) -> Callable[[], pd.DataFrame]:
    """The Runs page's table of every row the view selects (not one page), built when called."""
    return lambda: runs_table(select_runs(runs, view))


def runs_csv(runs: pd.DataFrame, view: RunsView) -> Callable[[], bytes]:
    """``runs_rows`` as CSV bytes, built when called."""
    return lambda: table_csv(runs_table(select_runs(runs, view)))


def filtered_runs(runs: pd.DataFrame, filters: RunFilters) -> Callable[[], pd.DataFrame]:
    """The runs ``filters`` keep, selected again when called."""
    return lambda: filter_runs(runs, filters)


def every_run_bundle(store: Store) -> Callable[[], bytes]:
    """A result bundle of every run in ``store``, built when called."""
    return lambda: bundle_bytes(store, BundleFilters())[0]
