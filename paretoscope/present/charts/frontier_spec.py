"""The Frontier chart as a Vega-Lite dict, its structure built once per shape (issue 13).

Building the chart through Altair costs a Frontier rerun about 0.2 s at
100 000 runs (layer parameters are deep-copied and channels validated), and
a filter change rarely changes anything but the rows. The specification
without its data depends only on the view's settings and on a few facts of
the drawn rows (``chart_shape``: which columns exist, which flags are set
anywhere, which runtimes, precisions, origins and groups are present), so it
is built through ``chart_over`` the first time a shape is seen and reused,
with the new rows attached, after that. ``tests/present/test_frontier_spec.py``
checks that the result equals the chart built afresh.
Pure: Altair and pandas, no Streamlit.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import altair as alt
import pandas as pd

from paretoscope.analysis.budget import BudgetAnswer, budget_answers
from paretoscope.analysis.selection import FrontierPoints, lineage_segments
from paretoscope.present.charts.frontier import chart_over, frontier_chart
from paretoscope.present.charts.frontier_data import drawn_points, frontier_chart_data
from paretoscope.present.charts.spec import DATASET, on_canvas, vega_lite_spec
from paretoscope.present.sampling import Thinned

__all__ = ["FrontierDrawing", "chart_shape", "frontier_drawing", "frontier_spec"]

_MAX_SHAPES = 64
_shapes: OrderedDict[tuple[Hashable, ...], dict[str, Any]] = OrderedDict()
_lock = threading.Lock()  # Streamlit runs sessions' scripts in threads


def _present(rows: pd.DataFrame, column: str) -> tuple[str, ...]:
    if column not in rows.columns:
        return ()
    return tuple(sorted({str(v) for v in rows[column].dropna().unique()}))


def _any(data: pd.DataFrame, column: str) -> bool:
    return column in data.columns and bool(data[column].fillna(False).astype(bool).any())


def chart_shape(
    fp: FrontierPoints, data: pd.DataFrame, answers: Sequence[str] = ()
) -> tuple[Hashable, ...]:
    """Everything of ``fp`` and its chart rows ``data`` that the chart's structure depends on.

    Two calls with equal shapes give charts whose specifications differ only in
    their data (the module's docstring says why that holds).
    """
    view = fp.view
    runs = data[data["kind"] == "run"] if "kind" in data.columns else data
    notna = tuple(
        c for c in ("x_ci_low", "x_ci_high", "y_ci_low", "y_ci_high") if _any_notna(data, c)
    )
    return (
        view.x,
        view.y,
        tuple(view.z),
        view.by,
        view.facet,
        view.show_dominated,
        view.lineage,
        view.cost,
        view.budget,
        view.floor,
        fp.log_x,
        fp.log_y,
        tuple(fp.groups) if view.by is not None else (),
        fp.separated,
        tuple(data.columns),
        notna,
        bool((data["kind"] == "lineage").any()) if "kind" in data.columns else False,
        _any(data, "within_noise"),
        _any(data, "imported"),
        _any(data, "selected"),
        _any(data, "answer"),
        len(answers) > 0,
        # Runtimes colour the runs only without a grouping: else a runtime filter (the
        # commonest change) would build the same structure again for its runtimes.
        _present(runs, "runtime") if view.by is None else (),
        _present(runs, "precision"),
        _present(runs, "origin"),
        _present(runs, "group"),
    )


def _any_notna(data: pd.DataFrame, column: str) -> bool:
    return column in data.columns and bool(data[column].notna().any())


def frontier_spec(
    fp: FrontierPoints,
    answers: Sequence[str] = (),
    thinned: Thinned | None = None,
    lineage: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """``vega_lite_spec(frontier_chart(fp, answers, thinned, lineage))``, the same dict, faster.

    The rows are prepared every time; the structure comes from the cache of
    shapes (at most 64, least recently used dropped) or is built once.
    """
    thinned = thinned if thinned is not None else drawn_points(fp, answers)
    data = frontier_chart_data(fp, thinned.rows, answers, lineage)
    shape = chart_shape(fp, data, answers)
    with _lock:
        template = _shapes.get(shape)
        if template is not None:
            _shapes.move_to_end(shape)
    if template is None:
        template = vega_lite_spec(chart_over(fp, data, answers))
        template.pop("datasets", None)
        with _lock:
            _shapes[shape] = template
            while len(_shapes) > _MAX_SHAPES:
                _shapes.popitem(last=False)
    spec = copy.deepcopy(template)  # Streamlit may change the dict it is given
    spec["datasets"] = {DATASET: data}
    return spec


@dataclass(frozen=True)
class FrontierDrawing:
    """What the Frontier draws for ``fp``: budget answers, drawn runs, lineage, the chart.

    ``thinned`` is None (and so are ``spec`` and ``altair()``) when no run can
    be placed. The page draws ``spec``; the share panel's files and
    fingerprint use ``altair()``, the same chart built through Altair.
    """

    fp: FrontierPoints
    answers: list[BudgetAnswer]
    thinned: Thinned | None
    lineage: pd.DataFrame | None

    @property
    def answer_ids(self) -> list[str]:
        return [a.run_id for a in self.answers if a.run_id]

    @cached_property
    def spec(self) -> dict[str, Any] | None:
        """The chart as a Vega-Lite dict, on a canvas from 500 drawn runs (``frontier_spec``)."""
        if self.thinned is None:
            return None
        # A plain dict, its structure built once per shape: Altair costs ~0.2 s a rerun at
        # 100 000 runs (issue 13). On a canvas: no DOM element per mark.
        spec = frontier_spec(self.fp, self.answer_ids, self.thinned, self.lineage)
        return on_canvas(spec, len(self.thinned.rows))

    def altair(self) -> alt.LayerChart | alt.FacetChart | None:
        """The same chart through Altair (validated; slower), for exports."""
        if self.thinned is None:
            return None
        return frontier_chart(self.fp, self.answer_ids, self.thinned, self.lineage)


def frontier_drawing(fp: FrontierPoints) -> FrontierDrawing:
    """The budget answers, the drawn runs and their lineage lines for ``fp``."""
    view = fp.view
    answers = budget_answers(
        fp.points, fp.points["group"], view.cost, view.y, limit=view.budget, floor=view.floor
    )
    if fp.points.empty:
        return FrontierDrawing(fp, answers, None, None)
    thinned = drawn_points(fp, [a.run_id for a in answers if a.run_id])
    lineage = lineage_segments(thinned.rows, view.x, view.y, view.facet) if view.lineage else None
    return FrontierDrawing(fp, answers, thinned, lineage)
