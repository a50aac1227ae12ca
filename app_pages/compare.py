"""Compare: chosen runs side by side against a baseline, and how a frontier shifts between groups.

The URL holds the whole view (docs/url.md); every widget writes it back.
"""

from __future__ import annotations

import streamlit as st

from paretoscope.analysis.compare import delta_table, frontier_shift
from paretoscope.analysis.selection import filter_runs, frontier_points
from paretoscope.core.metrics import METRICS
from paretoscope.ui import dashboard as dash
from paretoscope.ui import share_panel as share
from paretoscope.views import FIELDS, CompareView, FrontierView

K = "compare"
MAX_OPTIONS = 1000  # runs offered in the picker; the filters narrow a large store
store = dash.current_store()
view, notices = CompareView.from_query(dash.query_params())

st.title("Compare runs")
dash.show_notices(notices)
runs = dash.load_runs(store)
if runs.empty:
    st.info("No successful runs yet. The Frontier page can run the demo zoo for you.")
    st.page_link("app_pages/frontier.py", label="Frontier", icon=":material/scatter_plot:")
    st.stop()
dash.write_query(view.to_query())


def sync() -> None:
    """Write the widgets' view into the URL."""
    s = st.session_state
    picked = tuple(s[f"{K}.runs"])
    base = s.get(f"{K}.base")
    new = CompareView(
        runs=picked,
        baseline=base if base in picked else None,
        shift_field=s[f"{K}.sf"],
        a=s.get(f"{K}.sa"),
        b=s.get(f"{K}.sb"),
        x=s[f"{K}.x"],
        y=s[f"{K}.y"] if s[f"{K}.y"] != s[f"{K}.x"] else view.y,
        filters=dash.filters_from_state(K),
    )
    dash.write_query(new.to_query())


dash.filter_widgets(runs, view.filters, K, on_change=sync)
pool = filter_runs(runs, view.filters)
# Frontier runs (per batch size) first, then the fastest: the interesting ones to compare.
fp = frontier_points(pool, FrontierView())
order = fp.points.sort_values(["on_frontier", "latency_ms_p50"], ascending=[False, True])
ids = list(dict.fromkeys([*view.runs, *order["run_id"].astype(str).head(MAX_OPTIONS)]))
by_id = runs.set_index(runs["run_id"].astype(str))
known = set(by_id.index)


def label(run_id: str) -> str:
    if run_id not in known:
        return f"{run_id} (not in the store)"
    r = by_id.loc[run_id]
    return (
        f"{r['model']} · {r['runtime']} · {r['device']} · {r['precision']} · bs {r['batch_size']}"
    )


st.session_state[f"{K}.runs"] = list(view.runs)
st.multiselect(
    "Runs to compare",
    ids,
    format_func=label,
    key=f"{K}.runs",
    on_change=sync,
    placeholder="pick two or more runs",
)
if len(pool) > MAX_OPTIONS:
    st.caption(
        f"Offering the {MAX_OPTIONS} most interesting of {len(pool):,} runs (frontier "
        "runs first, then the fastest); narrow with the filters to find others."
    )
present = [r for r in view.runs if r in known]
if len(present) < len(view.runs):
    st.warning(
        "Some runs in the link are not in this store: "
        + ", ".join(f"`{r}`" for r in view.runs if r not in known)
    )
if len(present) >= 2:
    base = view.baseline_run if view.baseline_run in present else present[0]
    st.session_state[f"{K}.base"] = base
    st.selectbox("Baseline", present, format_func=label, key=f"{K}.base", on_change=sync)
    table = delta_table(runs, present, base).rename(
        columns={
            "model": "Model",
            "runtime": "Runtime",
            "device": "Device",
            "precision": "Precision",
            "batch_size": "Batch",
            "threads": "Threads",
            "latency_ms_p50": "Latency p50 (ms)",
            "speedup_x": "Speed-up (×)",
            "accuracy": "Accuracy (fraction)",
            "accuracy_delta_pts": "Δ accuracy (points)",
            "peak_mem_mb": "Peak memory (MB)",
            "mem_ratio_x": "Memory (× baseline)",
            "model_size_mb": "Model size (MB)",
            "size_ratio_x": "Size (× baseline)",
            "throughput_per_s": "Throughput (items/s)",
            "accuracy_origin": "Accuracy origin",
            "run_id": "Run",
            "baseline": "Baseline",
        }
    )
    dash.show_table(table)
    st.caption(
        "Speed-up is baseline latency ÷ run latency (> 1 is faster); accuracy change in "
        "percentage points; memory and size as run ÷ baseline. Empty where a run lacks the "
        "metric."
    )
else:
    st.info("Pick two or more runs to see them side by side.")

share.share_panel(
    view.to_query(),
    store=store,
    run_ids=pool["run_id"].astype(str).tolist(),
    stem="compare",
    key="compare.share",
)
st.subheader("Frontier shift between two groups")
c = st.columns([2, 2, 2, 3, 3], vertical_alignment="bottom")
st.session_state[f"{K}.sf"] = view.shift_field
c[0].selectbox(
    "Compare across", list(FIELDS), format_func=lambda k: FIELDS[k], key=f"{K}.sf", on_change=sync
)
values = (
    sorted(pool[view.shift_field].dropna().astype(str).unique().tolist())
    if view.shift_field in pool
    else []
)
a = view.a if view.a in values else (values[0] if values else None)
b = view.b if view.b in values and view.b != a else next((v for v in values if v != a), None)
st.session_state.update({f"{K}.sa": a, f"{K}.sb": b, f"{K}.x": view.x, f"{K}.y": view.y})
c[1].selectbox("From", values, key=f"{K}.sa", on_change=sync)
c[2].selectbox("To", values, key=f"{K}.sb", on_change=sync)
c[3].selectbox(
    "Cost (ranked by)",
    list(METRICS),
    format_func=lambda k: METRICS[k].label,
    key=f"{K}.x",
    on_change=sync,
)
c[4].selectbox(
    "Quality", list(METRICS), format_func=lambda k: METRICS[k].label, key=f"{K}.y", on_change=sync
)
if a is None or b is None or a == b:
    st.info(f"The runs have fewer than two values of {FIELDS[view.shift_field].lower()}.")
    st.stop()
shift = frontier_shift(pool, view.shift_field, a, b, [view.x, view.y])
st.markdown(
    f"**{shift.count('moves onto')}** move onto the frontier from {a} to {b}, "
    f"**{shift.count('moves off')}** move off, **{shift.count('stays on')}** stay on "
    f"({shift.n_on_a} on the {a} frontier, {shift.n_on_b} on the {b} frontier)."
)
mx = METRICS[view.x]
dash.show_table(
    shift.table.rename(
        columns={
            "model": "Model",
            "change": "Change",
            "on_a": f"On frontier ({a})",
            "on_b": f"On frontier ({b})",
            "x_a": f"{mx.label} ({a}, {mx.unit})",
            "x_b": f"{mx.label} ({b}, {mx.unit})",
            "rank_a": f"Rank ({a})",
            "rank_b": f"Rank ({b})",
            "rank_change": "Rank change (+ = better)",
            "run_id_a": f"Run ({a})",
            "run_id_b": f"Run ({b})",
            "key": "Matched on",
        }
    )
)
st.caption(
    "Runs are matched across the groups by the model's lineage root and every other "
    f"configuration field; ranks are by {mx.label.lower()} within each group (1 = best)."
)
