"""What the charts share: axis titles and scales, and the fixed colours and shapes of runs.

A runtime keeps its colour and a precision its shape whatever the filters
leave on screen, and a group's colour is the same in every chart of a view.
"""

from __future__ import annotations

from typing import Any, Literal

import altair as alt
import pandas as pd

from paretoscope.core.metrics import Metric

__all__ = [
    "PRECISION_SHAPES",
    "RUNTIME_COLOURS",
    "axis_scale",
    "axis_title",
    "group_scale",
    "stable_scale",
    "step_interpolation",
    "svg_usermeta",
]

# Fixed per value; values not listed share the fallback (the "" entry).
RUNTIME_COLOURS = {"ort": "#4c78a8", "torch": "#f58518", "": "#9d755d"}
PRECISION_SHAPES = {
    "fp32": "circle",
    "fp16": "square",
    "bf16": "triangle-up",
    "int8": "diamond",
    "int8-static": "triangle-down",
    "": "cross",
}


def svg_usermeta() -> dict[str, Any]:
    """A chart's ``usermeta`` asking to be drawn as SVG."""
    # SVG keeps every mark in the DOM: readable by browser tests and exportable.
    return {"embedOptions": {"renderer": "svg"}}


def axis_title(m: Metric, log: bool = False) -> str:
    """``m``'s axis title with unit and direction, noting a log scale."""
    return m.axis_title[:-1] + "; log scale)" if log else m.axis_title


def axis_scale(log: bool, padding: int) -> alt.Scale:
    """A log or linear (not from zero) axis scale, ``padding`` px inside either end."""
    # Padding keeps the points at either end of the range off the chart's edge.
    if log:
        return alt.Scale(type="log", nice=False, padding=padding)
    return alt.Scale(type="linear", zero=False, padding=padding)


def step_interpolation(x: Metric) -> Literal["step-after", "step-before"]:
    """The step shape of a frontier drawn along ``x``, sorted by ascending x.

    A frontier point's y stays attainable for every x at least as good as its
    own. When lower x is better that is every larger x, so the line holds y
    until the next point (``step-after``); when higher x is better it is every
    smaller x, so the line takes the next point's y early (``step-before``).
    The y direction only decides whether the staircase rises or falls.
    """
    return "step-after" if x.direction == "lower" else "step-before"


def stable_scale(present: pd.Series, fixed: dict[str, Any]) -> alt.Scale:
    """A scale over the values ``present``, each with its ``fixed`` value (else the fallback)."""
    known = [k for k in fixed if k]
    values = set(present.dropna().tolist())
    domain = [k for k in known if k in values] + sorted(values - set(known))
    return alt.Scale(domain=domain, range=[fixed.get(v, fixed[""]) for v in domain])


def group_scale(by: str | None, groups: list[str], present: pd.Series) -> alt.Scale | None:
    """The colour scale of the ``groups`` (all of a view's, in order) that are ``present``.

    Grouped by runtime, each keeps its fixed colour; else the groups take the
    tableau10 scheme in order. None when no group is present.
    """
    if by == "runtime":
        return stable_scale(present, RUNTIME_COLOURS)
    shown = [g for g in groups if g in set(present)]
    return alt.Scale(domain=shown, scheme="tableau10") if shown else None
