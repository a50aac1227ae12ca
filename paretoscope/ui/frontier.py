"""The Frontier page's Streamlit parts: its controls, its budget answers, the selected run."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from paretoscope.analysis.budget import BudgetAnswer
from paretoscope.analysis.selection import FrontierPoints, dominated_by
from paretoscope.core.metrics import METRICS
from paretoscope.present.tables import points_table
from paretoscope.ui.binding import Bound
from paretoscope.ui.widgets import show_table
from paretoscope.views import FIELDS, FrontierView

__all__ = [
    "budget_controls",
    "frontier_caption",
    "frontier_controls",
    "show_budget_answers",
    "show_selected_run",
]

_TITLE = {k: m.axis_title for k, m in METRICS.items()}
_GROUPINGS = {"none": "— none —", **FIELDS}


def frontier_controls(bound: Bound[FrontierView], runs: pd.DataFrame) -> None:
    """The view's widgets: axes, objectives, grouping, scales, filters and budgets."""
    view, key, sync = bound.view, bound.key, bound.sync
    c = st.columns([3, 3, 3, 2, 2], vertical_alignment="bottom")
    c[0].selectbox("x axis", [k for k in METRICS if k != view.y], format_func=_TITLE.__getitem__,
                   key=key("x"), on_change=sync, args=("x",))  # fmt: skip
    c[1].selectbox("y axis", [k for k in METRICS if k != view.x], format_func=_TITLE.__getitem__,
                   key=key("y"), on_change=sync, args=("y",))  # fmt: skip
    c[2].multiselect(
        "More objectives",
        [k for k in METRICS if k not in (view.x, view.y)],
        format_func=lambda k: METRICS[k].label,
        key=key("z"),
        on_change=sync,
        placeholder="none (2-D)",
        help="The frontier over x, y and these",
    )
    c[3].selectbox(
        "Group and colour by",
        list(_GROUPINGS),
        format_func=_GROUPINGS.__getitem__,
        key=key("by"),
        on_change=sync,
        help="One frontier per value. Default batch size: latency is "
        "per batch, so runs at different batch sizes are not on one scale.",
    )
    c[4].selectbox("Facet by", list(_GROUPINGS), format_func=_GROUPINGS.__getitem__,
                   key=key("facet"), on_change=sync)  # fmt: skip
    t = st.columns(4)
    t[0].toggle("Log x", key=key("xlog"), on_change=sync)
    t[1].toggle("Log y", key=key("ylog"), on_change=sync)
    t[2].toggle("Dominated runs", key=key("dom"), on_change=sync, help="Show runs off the frontier")
    t[3].toggle("Lineage lines", key=key("lin"), on_change=sync,
                help="Parent model → its variants")  # fmt: skip
    bound.filter_widgets(runs, view.filters)


def budget_controls(bound: Bound[FrontierView]) -> None:
    """The budget's widgets: its cost metric, a limit on it, and a floor on y."""
    view, key, sync = bound.view, bound.key, bound.sync
    quality = METRICS[view.y].label.lower()
    b = st.columns([3, 2, 2], vertical_alignment="bottom")
    b[0].selectbox("Budget on", [k for k in METRICS if k != view.y],
                   format_func=_TITLE.__getitem__, key=key("bm"), on_change=sync)  # fmt: skip
    b[1].number_input(f"Best {quality} within", value=None, key=key("bv"), on_change=sync,
                      placeholder="e.g. 5", format="%g")  # fmt: skip
    b[2].number_input(f"Cheapest with {quality} reaching", value=None, key=key("fl"),
                      on_change=sync, placeholder="e.g. 0.97", format="%g")  # fmt: skip


def show_budget_answers(answers: Sequence[BudgetAnswer], view: FrontierView) -> None:
    """Each budget question with the run that answers it (or that none qualifies)."""
    for ans in answers:
        where = f" ({_GROUPINGS.get(view.by or '', '')} {ans.group})" if ans.group else ""
        if ans.run is None:
            st.warning(f"**{ans.question}**{where}: no run qualifies.")
            continue
        r = ans.run
        vals = ", ".join(
            f"{METRICS[k].label} {format(r[k], METRICS[k].fmt)}" for k in (view.cost, view.y)
        )
        st.success(
            f"**{ans.question}**{where}: **{r['model']}** ({r['runtime']}, {r['device']}, "
            f"{r['precision']}, batch {r['batch_size']}) — {vals}; "
            f"best of {ans.n_eligible} qualifying runs. Run `{r['run_id']}`."
        )


def frontier_caption(fp: FrontierPoints, view: FrontierView) -> str:
    """What is plotted: runs, those on the frontier, groups, and what is hidden or left out."""
    on = int(fp.points["on_frontier"].sum())
    parts = [f"{len(fp.points)} runs plotted, {on} on the frontier"]
    if view.by is not None:
        n_groups = len(fp.groups)
        parts[0] += (
            f" ({n_groups} group{'s' if n_groups != 1 else ''} by {_GROUPINGS[view.by].lower()})"
        )
    if fp.n_filtered_out:
        parts.append(f"{fp.n_filtered_out} hidden by the filters")
    if fp.excluded:
        parts.append("Not plotted: " + "; ".join(fp.excluded))
    return ". ".join(parts) + "."


def show_selected_run(fp: FrontierPoints, view: FrontierView, run_id: str) -> None:
    """The selected run's row, and the frontier runs that dominate it (or that none does)."""
    st.subheader("Selected run")
    me = fp.points[fp.points["run_id"].astype(str) == run_id]
    if me.empty:
        st.info(f"Run `{run_id}` is not plotted under this view.")
    else:
        show_table(points_table(me, view.objectives, group=view.by))
        dom = dominated_by(fp, run_id)
        if dom.empty:
            st.success("On the frontier: no run of its group dominates it.")
        else:
            st.markdown(
                f"**Dominated by {len(dom)} frontier run{'s' if len(dom) > 1 else ''}** "
                "(at least as good on every objective, better on one): "
                + ", ".join(f"**{m}**" for m in dom["model"].astype(str).head(10))
            )
            show_table(points_table(dom, view.objectives, group=view.by))
    st.page_link(
        "app_pages/run_detail.py",
        label="Open the run's detail",
        icon=":material/info:",
        query_params={"run": run_id},
    )
