"""The dashboard's charts (Altair specifications, no Streamlit), one module each.

``frontier`` is the Frontier chart, one function per layer (its rows are
``frontier_data``); ``parallel`` the parallel coordinates of a view's
objectives; ``latency`` a run's latency distribution; ``scales`` the titles,
scales, colours and shapes they share. The tables beside them are in
``present.tables``.
"""

from __future__ import annotations

from paretoscope.present.charts.frontier import FRONTIER_HEIGHT_PX, frontier_chart
from paretoscope.present.charts.frontier_data import drawn_points, frontier_chart_data
from paretoscope.present.charts.latency import latency_chart
from paretoscope.present.charts.parallel import parallel_chart
from paretoscope.present.charts.scales import step_interpolation

__all__ = [
    "FRONTIER_HEIGHT_PX",
    "drawn_points",
    "frontier_chart",
    "frontier_chart_data",
    "latency_chart",
    "parallel_chart",
    "step_interpolation",
]
