"""Frontier: any two metrics, one Pareto frontier per group, budgets, more objectives, selection.

The URL holds the whole view (docs/url.md); every widget writes it back.
"""

from __future__ import annotations

import streamlit as st

from paretoscope.analysis.budget import budget_answers
from paretoscope.analysis.selection import (
    dominated_by,
    frontier_points,
    lineage_segments,
    unmatched_filters,
)
from paretoscope.core.metrics import METRICS
from paretoscope.present.charts import drawn_points, frontier_chart, parallel_chart
from paretoscope.present.methodology import METHODOLOGY_SUMMARY
from paretoscope.present.tables import points_table
from paretoscope.ui import dashboard as dash
from paretoscope.ui import share_panel as share
from paretoscope.views import FIELDS, FrontierView

K = "frontier"  # widget key prefix
store = dash.current_store()
view, notices = FrontierView.from_query(dash.query_params())

st.title("Accuracy–efficiency frontier")
dash.show_notices(notices)
outcome_shown = dash.finished_demo_message()
runs = dash.load_runs(store)
if runs.empty:
    _, failed = dash.run_counts(store)
    if failed:
        st.warning(f"All {failed} runs in the store failed; the Runs page shows why.")
        st.page_link("app_pages/runs.py", label="See the failed runs", icon=":material/table_rows:")
    dash.empty_store(store, outcome_shown=outcome_shown)
    st.stop()

job = dash.demo_running(store)
if job is not None:
    dash.demo_progress(job)


def sync(changed: str = "") -> None:
    """Write the widgets' view into the URL (a new x/y metric drops its old scale override)."""
    s = st.session_state
    x, y = s[f"{K}.x"], s[f"{K}.y"]
    # The budget follows the x axis unless another cost metric was chosen.
    bm = s[f"{K}.bm"] if s[f"{K}.bm"] not in (view.x, y) else None
    new = FrontierView(
        x=x,
        y=y,
        x_log=None if changed == "x" else s[f"{K}.xlog"],
        y_log=None if changed == "y" else s[f"{K}.ylog"],
        filters=dash.filters_from_state(K),
        show_dominated=s[f"{K}.dom"],
        z=tuple(k for k in s[f"{K}.z"] if k not in (x, y)),
        by=None if s[f"{K}.by"] == "none" else s[f"{K}.by"],
        facet=None if s[f"{K}.facet"] == "none" else s[f"{K}.facet"],
        lineage=s[f"{K}.lin"],
        budget_metric=bm,
        budget=s[f"{K}.bv"],
        floor=s[f"{K}.fl"],
        selected=view.selected,
    )
    dash.write_query(new.to_query())


dash.write_query(view.to_query())  # a fixed-up link becomes the canonical one
st.session_state.update(
    {
        f"{K}.x": view.x,
        f"{K}.y": view.y,
        f"{K}.xlog": view.log_x,
        f"{K}.ylog": view.log_y,
        f"{K}.dom": view.show_dominated,
        f"{K}.z": list(view.z),
        f"{K}.by": view.by or "none",
        f"{K}.facet": view.facet or "none",
        f"{K}.lin": view.lineage,
        f"{K}.bm": view.cost,
        f"{K}.bv": view.budget,
        f"{K}.fl": view.floor,
    }
)
title = {k: m.axis_title for k, m in METRICS.items()}
fields = {"none": "— none —", **FIELDS}
c = st.columns([3, 3, 3, 2, 2], vertical_alignment="bottom")
c[0].selectbox(
    "x axis",
    [k for k in METRICS if k != view.y],
    format_func=lambda k: title[k],
    key=f"{K}.x",
    on_change=sync,
    args=("x",),
)
c[1].selectbox(
    "y axis",
    [k for k in METRICS if k != view.x],
    format_func=lambda k: title[k],
    key=f"{K}.y",
    on_change=sync,
    args=("y",),
)
c[2].multiselect(
    "More objectives",
    [k for k in METRICS if k not in (view.x, view.y)],
    format_func=lambda k: METRICS[k].label,
    key=f"{K}.z",
    on_change=sync,
    placeholder="none (2-D)",
    help="The frontier over x, y and these",
)
c[3].selectbox(
    "Group and colour by",
    list(fields),
    format_func=lambda k: fields[k],
    key=f"{K}.by",
    on_change=sync,
    help="One frontier per value. Default batch size: latency is "
    "per batch, so runs at different batch sizes are not on one scale.",
)
c[4].selectbox(
    "Facet by", list(fields), format_func=lambda k: fields[k], key=f"{K}.facet", on_change=sync
)
t = st.columns(4)
t[0].toggle("Log x", key=f"{K}.xlog", on_change=sync)
t[1].toggle("Log y", key=f"{K}.ylog", on_change=sync)
t[2].toggle("Dominated runs", key=f"{K}.dom", on_change=sync, help="Show runs off the frontier")
t[3].toggle("Lineage lines", key=f"{K}.lin", on_change=sync, help="Parent model → its variants")
dash.filter_widgets(runs, view.filters, K, on_change=sync)
for notice in unmatched_filters(runs, view.filters):
    st.info(notice)
b = st.columns([3, 2, 2], vertical_alignment="bottom")
b[0].selectbox(
    "Budget on",
    [k for k in METRICS if k != view.y],
    format_func=lambda k: title[k],
    key=f"{K}.bm",
    on_change=sync,
)
b[1].number_input(
    f"Best {METRICS[view.y].label.lower()} within",
    value=None,
    key=f"{K}.bv",
    on_change=sync,
    placeholder="e.g. 5",
    format="%g",
)
b[2].number_input(
    f"Cheapest with {METRICS[view.y].label.lower()} reaching",
    value=None,
    key=f"{K}.fl",
    on_change=sync,
    placeholder="e.g. 0.97",
    format="%g",
)

fp = frontier_points(runs, view)
for notice in fp.notices:
    st.info(notice)
answers = budget_answers(
    fp.points, fp.points["group"], view.cost, view.y, limit=view.budget, floor=view.floor
)
for ans in answers:
    where = f" ({fields.get(view.by or '', '')} {ans.group})" if ans.group else ""
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
answer_ids = [a.run_id for a in answers if a.run_id]
if fp.points.empty:
    what = "both metrics" if not view.z else "every chosen metric"
    st.warning(f"No run has {what} under these filters.")
    event = None
else:
    thinned = drawn_points(fp, answer_ids)
    lineage = lineage_segments(thinned.rows, view.x, view.y, view.facet) if view.lineage else None
    chart = frontier_chart(fp, answer_ids, thinned, lineage)
    event = st.altair_chart(chart, width="stretch", on_select="rerun", key=f"{K}.chart")
    if thinned.note:
        st.caption(thinned.note)
picked = (event.selection.get("pick") if event is not None else None) or []
pick = picked[0].get("run_id") if picked else None
# Act on a new click only: the chart keeps its last pick, and a link's sel must win over it.
if pick is not None and pick != st.session_state.get(f"{K}.last_pick"):
    st.session_state[f"{K}.last_pick"] = pick
    if pick != view.selected:
        dash.write_query(FrontierView.from_query({**view.to_query(), "sel": pick})[0].to_query())
        st.rerun()
on = int(fp.points["on_frontier"].sum())
parts = [f"{len(fp.points)} runs plotted, {on} on the frontier"]
if view.by is not None:
    n_groups = len(fp.groups)
    parts[0] += f" ({n_groups} group{'s' if n_groups != 1 else ''} by {fields[view.by].lower()})"
if fp.n_filtered_out:
    parts.append(f"{fp.n_filtered_out} hidden by the filters")
if fp.excluded:
    parts.append("Not plotted: " + "; ".join(fp.excluded))
st.caption(". ".join(parts) + ".")

if view.selected is not None:
    st.subheader("Selected run")
    me = fp.points[fp.points["run_id"].astype(str) == view.selected]
    if me.empty:
        st.info(f"Run `{view.selected}` is not plotted under this view.")
    else:
        dash.show_table(points_table(me, view.objectives, group=view.by))
        dom = dominated_by(fp, view.selected)
        if dom.empty:
            st.success("On the frontier: no run of its group dominates it.")
        else:
            st.markdown(
                f"**Dominated by {len(dom)} frontier run{'s' if len(dom) > 1 else ''}** "
                "(at least as good on every objective, better on one): "
                + ", ".join(f"**{m}**" for m in dom["model"].astype(str).head(10))
            )
            dash.show_table(points_table(dom, view.objectives, group=view.by))
        st.page_link(
            "app_pages/run_detail.py",
            label="Open the run's detail",
            icon=":material/info:",
            query_params={"run": view.selected},
        )
if view.z and not fp.points.empty:
    st.subheader(f"{len(view.objectives)} objectives: parallel coordinates")
    st.altair_chart(parallel_chart(fp, thinned), width="stretch")
st.subheader("Runs on the frontier")
dash.show_table(points_table(fp.frontier, view.objectives, group=view.by))
share.share_panel(
    view.to_query(),
    store=store,
    chart=chart if not fp.points.empty else None,
    table=points_table(fp.points, view.objectives, group=view.by),
    run_ids=fp.points["run_id"].astype(str).tolist(),
    stem="frontier",
)
st.caption(METHODOLOGY_SUMMARY)
st.page_link(
    "app_pages/methodology.py", label="How each number is measured", icon=":material/science:"
)
