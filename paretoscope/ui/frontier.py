"""The Frontier page's Streamlit parts: its controls, its budget answers, the selected run."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from paretoscope.analysis.budget import BudgetAnswer
from paretoscope.analysis.frontier import partition_fields
from paretoscope.analysis.lm import (
    has_values,
    lm_companion,
    lm_default_view,
    missing_metrics_text,
)
from paretoscope.analysis.selection import FrontierPoints, dominated_by
from paretoscope.analysis.sweep import sweep_caption, sweep_points
from paretoscope.core.fields import dim_columns, is_dim_key, run_field
from paretoscope.core.metrics import METRICS
from paretoscope.present.charts.sweep import DIM_TITLES, dim_title, sweep_chart
from paretoscope.present.headline import frontier_headline, sweep_headline
from paretoscope.present.markup import markdown_text
from paretoscope.present.tables import points_table
from paretoscope.ui.binding import Bound
from paretoscope.ui.widgets import show_table
from paretoscope.views import FIELDS, FrontierView

__all__ = [
    "budget_controls",
    "frontier_caption",
    "frontier_controls",
    "language_model_default",
    "language_model_link",
    "more_controls",
    "pooling_sentence",
    "show_budget_answers",
    "show_headline",
    "show_selected_run",
    "show_sweep",
]

_GROUPINGS = {"none": "— none —", **FIELDS}


def _label(key: str) -> str:
    """A picker's label of a run field or a dimension (``none`` for no grouping)."""
    if key in _GROUPINGS:
        return _GROUPINGS[key]
    return run_field(key).label if is_dim_key(key) else key


def _with(options: list[str], *extra: str | None) -> list[str]:
    """``options`` and any of ``extra`` (a link's value) that it lacks, in order."""
    return list(dict.fromkeys([*options, *(e for e in extra if e)]))


def _short(key: str) -> str:
    """A metric option as the pickers show it: label and unit, the direction left to help."""
    if key in METRICS:
        m = METRICS[key]
        return f"{m.label} ({m.unit})" if m.unit else m.label  # perplexity has no unit
    return _label(key)


_AXIS_HELP = (
    "Every metric's chart title says which way is better (latency: lower; accuracy: higher)."
)


def language_model_default(bound: Bound[FrontierView], runs: pd.DataFrame) -> FrontierView:
    """The view to draw: perplexity against decode tokens/s for a store of language models only.

    Only when the link names neither axis and no run has an accuracy
    (``analysis.lm.lm_default_view``); ``bound`` then holds the new view, so
    ``publish`` writes both axes into the URL and the shared link is explicit.
    """
    named = any(k in st.query_params for k in ("x", "y"))
    view = lm_default_view(bound.view, runs, axes_named=named)
    if view is not bound.view:
        bound.view = view
        st.caption(
            "No run in this store has an accuracy; its language models are drawn as "
            "perplexity against decode tokens/s."
        )
    return view


def language_model_link(runs: pd.DataFrame, view: FrontierView) -> None:
    """A link to the language models' frontier when this view's metrics leave them out."""
    found = lm_companion(runs, view)
    if found is None:
        return
    n, query = found
    st.caption(
        f"{n} run{'s' if n != 1 else ''} of language models {'are' if n != 1 else 'is'} "
        "measured by perplexity, not accuracy: see them on their own frontier."
    )
    st.page_link(
        "app_pages/frontier.py",
        label="Language models: perplexity against decode tokens/s",
        icon=":material/scatter_plot:",
        query_params=query,
    )


def frontier_controls(bound: Bound[FrontierView], runs: pd.DataFrame) -> None:
    """The main row of the view's widgets: the x and y axes and the grouping.

    The x axis may be a symbolic dimension present in the runs (``dim_seq``);
    grouping may be any dimension present, or the host id. The rest of the
    widgets are in ``more_controls``, out of the way of the chart.
    """
    view, key, sync = bound.view, bound.key, bound.sync
    dims = dim_columns(runs.columns)
    x_options = _with([k for k in METRICS if k != view.y] + dims + ["batch_size"], view.x)
    fields = _with([*_GROUPINGS, *dims], view.by, view.facet)
    c = st.columns(3, vertical_alignment="bottom")
    c[0].selectbox("x axis", x_options, format_func=_short, key=key("x"), on_change=sync,
                   args=("x",), help="A metric, or a sweep dimension or the batch size (one "
                   "line per configuration). " + _AXIS_HELP)  # fmt: skip
    c[1].selectbox("y axis", [k for k in METRICS if k != view.x], format_func=_short,
                   key=key("y"), on_change=sync, args=("y",), help=_AXIS_HELP)  # fmt: skip
    c[2].selectbox(
        "Group and colour by",
        fields,
        format_func=_label,
        key=key("by"),
        on_change=sync,
        help="One frontier per value. Default batch size: latency is per batch, so runs at "
        "different batch sizes are not on one scale. Device names and data sets are "
        "always separate frontiers.",
    )


def more_controls(bound: Bound[FrontierView], runs: pd.DataFrame, *, budget: bool = True) -> None:
    """The less used widgets, in one expander: filters, objectives, facets, scales, budgets.

    The expander opens by itself when the view filters runs (a link's filters
    are never hidden). ``budget=False`` leaves the budget widgets out (a sweep
    has no budget).
    """
    view, key, sync = bound.view, bound.key, bound.sync
    dims = dim_columns(runs.columns)
    fields = _with([*_GROUPINGS, *dims], view.by, view.facet)
    active = bool(view.filters.to_query())
    with st.expander("Filters, scales, more objectives and budgets", expanded=active):
        bound.filter_widgets(runs, view.filters)
        c = st.columns([3, 2], vertical_alignment="bottom")
        c[0].multiselect(
            "More objectives",
            [k for k in METRICS if k not in (view.x, view.y)],
            format_func=lambda k: METRICS[k].label,
            key=key("z"),
            on_change=sync,
            placeholder="none (2-D)",
            help="The frontier over x, y and these",
        )
        c[1].selectbox("Facet by", fields, format_func=_label, key=key("facet"), on_change=sync)
        t = st.columns(4)
        t[0].toggle("Log x", key=key("xlog"), on_change=sync)
        t[1].toggle("Log y", key=key("ylog"), on_change=sync)
        t[2].toggle("Dominated runs", key=key("dom"), on_change=sync,
                    help="Show the runs off the frontier")  # fmt: skip
        t[3].toggle("Lineage lines", key=key("lin"), on_change=sync,
                    help="Lines from a parent model to its variants")  # fmt: skip
        if budget:
            budget_controls(bound)


def budget_controls(bound: Bound[FrontierView]) -> None:
    """The budget's widgets: its cost metric, a limit on it, and a floor on y."""
    view, key, sync = bound.view, bound.key, bound.sync
    quality = METRICS[view.y].label.lower()
    b = st.columns([3, 2, 2], vertical_alignment="bottom")
    b[0].selectbox("Budget on", [k for k in METRICS if k != view.y],
                   format_func=_short, key=key("bm"), on_change=sync)  # fmt: skip
    b[1].number_input(f"Best {quality} within", value=None, key=key("bv"), on_change=sync,
                      placeholder="e.g. 5", format="%g")  # fmt: skip
    b[2].number_input(f"Cheapest with {quality} reaching", value=None, key=key("fl"),
                      on_change=sync, placeholder="e.g. 0.97", format="%g")  # fmt: skip


def show_headline(slot: Any, fp: FrontierPoints) -> None:
    """The page's one line in ``slot`` (an ``st.empty``): the question and how many lead."""
    view = fp.view
    text = frontier_headline(
        view.x,
        view.y,
        z=view.z,
        by=view.by,
        separated=fp.separated,
        n_groups=len(fp.groups),
        n_on_frontier=int(fp.points["on_frontier"].sum()) if not fp.points.empty else 0,
        n_points=len(fp.points),
    )
    slot.markdown(f"**{markdown_text(text)}**")


def show_budget_answers(answers: Sequence[BudgetAnswer], view: FrontierView) -> None:
    """Each budget question with the run that answers it (or that none qualifies).

    When the runner-up is within noise of the winner on the answered metric,
    the answer says so: the data cannot tell the two apart.
    """
    for ans in answers:
        where = f" (group {markdown_text(ans.group)})" if ans.group else ""
        if ans.run is None:
            st.warning(f"**{ans.question}**{where}: no run qualifies.")
            continue
        r = ans.run
        vals = ", ".join(
            f"{METRICS[k].label} {format(r[k], METRICS[k].fmt)}" for k in (view.cost, view.y)
        )
        config = ", ".join(markdown_text(r.get(k)) for k in ("runtime", "device", "precision"))
        text = (
            f"**{ans.question}**{where}: **{markdown_text(r['model'])}** ({config}, batch "
            f"{markdown_text(r['batch_size'])}) — {vals}; best of {ans.n_eligible} qualifying "
            "runs. "
            f"Run `{r['run_id']}`."
        )
        if ans.runner_up is not None and ans.within_noise and ans.answered in METRICS:
            label = METRICS[ans.answered].label.lower()
            ru = ans.runner_up
            ru_config = ", ".join(markdown_text(ru.get(k)) for k in ("runtime", "precision"))
            text += (
                f" The runner-up, **{markdown_text(ru['model'])}** ({ru_config}, run "
                f"`{ru['run_id']}`), is within noise of it: their {label} intervals overlap, "
                "so the data cannot say which is better."
            )
        st.success(text)


def frontier_caption(fp: FrontierPoints, view: FrontierView) -> str:
    """What is plotted: runs, those on the frontier, groups, and what is hidden or left out."""
    on = int(fp.points["on_frontier"].sum())
    parts = [f"{len(fp.points)} runs plotted, {on} on the frontier"]
    # Hosts by fingerprint: two machines called alike are two hosts.
    hosts = fp.points["host_id"].nunique() if "host_id" in fp.points.columns else 0
    if hosts > 1:
        parts[0] += f", from {hosts} hosts"
    if view.by is not None or fp.separated:
        n_groups = len(fp.groups)
        parts[0] += f" ({n_groups} group{'s' if n_groups != 1 else ''} by {fp.group_title.lower()})"
    if fp.n_filtered_out:
        parts.append(f"{fp.n_filtered_out} hidden by the filters")
    if fp.excluded:
        parts.append("Not plotted: " + "; ".join(markdown_text(e) for e in fp.excluded))
    return ". ".join(parts) + "."


def show_selected_run(fp: FrontierPoints, view: FrontierView, run_id: str) -> None:
    """The selected run's row, and the frontier runs that dominate it (or that none does)."""
    st.subheader("Selected run")
    me = fp.full_rows(fp.points[fp.points["run_id"].astype(str) == run_id])
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
                + ", ".join(f"**{markdown_text(m)}**" for m in dom["model"].astype(str).head(10))
            )
            show_table(points_table(dom, view.objectives, group=view.by))
    st.page_link(
        "app_pages/run_detail.py",
        label="Open the run's detail",
        icon=":material/info:",
        query_params={"run": run_id},
    )


def pooling_sentence(fp: FrontierPoints, runs: pd.DataFrame) -> str:
    """One plain sentence: what is never pooled on a frontier, and where imported runs are.

    The default view groups by batch size and splits every group further by
    device name (and data set, when an objective is scored on data), so runs
    of two machines never share a frontier; imported runs stay in the view,
    marked, and the Origin filter shows this store's own measurements alone.
    """
    scored = "dataset" in partition_fields(fp.view.objectives)
    what = "device name and data set" if scored else "device name"
    if fp.separated:
        split = " and ".join(run_field(f).label.lower() for f in fp.separated)
        text = (
            "Runs on different devices, or scored on different data sets, are never on one "
            f"frontier: this view holds more than one {split}, so it has one frontier per "
            f"{fp.group_title.lower()}."
        )
    else:
        text = (
            f"Runs of different {what}s are never pooled on one frontier; the runs in this "
            f"view share one {what}."
        )
    imported = int((runs.get("origin", pd.Series(dtype=object)) == "imported").sum())
    if imported:
        text += (
            f" {imported} of the store's runs were imported from a bundle, not measured here: "
            "filter Origin by *measured here* to leave them out."
        )
    return text


def show_sweep(
    runs: pd.DataFrame, view: FrontierView, slot: Any = None
) -> tuple[Any, pd.DataFrame | None, list[str]]:
    """The y metric against the view's dimension (x), one line per configuration, and its runs.

    ``slot`` (an ``st.empty``), when given, gets the page's one-line headline.

    Returns the chart, the table and the run ids drawn, for the share panel.
    """
    sp = sweep_points(runs, view)
    if slot is not None:
        slot.markdown(f"**{markdown_text(sweep_headline(view.x, view.y))}**")
    if sp.points.empty:
        st.warning(
            missing_metrics_text(runs, [view.y])
            or f"No run has both {markdown_text(sp.dimension)} and {METRICS[view.y].label} "
            "under these filters."
        )
        return None, None, []
    chart = sweep_chart(sp)
    st.altair_chart(chart, width="stretch")
    st.caption(markdown_text(sweep_caption(sp)))
    # The cost column only where a run has it (a language model has no per-batch latency).
    costs = [view.cost] if has_values(sp.points, view.cost) else []
    table = points_table(sp.points, [view.y, *costs])
    header = (
        dim_title(sp.dimension) if sp.dimension in DIM_TITLES else f"{sp.dimension} (dimension)"
    )
    if header not in table.columns:
        table.insert(2, header, sp.points[view.x].to_numpy())
    show_table(table)
    return chart, table, sp.points["run_id"].astype(str).tolist()
