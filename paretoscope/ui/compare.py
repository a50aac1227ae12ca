"""The Compare page's Streamlit parts: the run picker's options, the delta table, the shift."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import streamlit as st

from paretoscope.analysis.compare import delta_table, frontier_shift, paired_accuracy
from paretoscope.analysis.lm import LM_DELTA_COLUMNS, lm_delta_columns, lm_run_order
from paretoscope.analysis.selection import frontier_points
from paretoscope.core.fields import dim_columns, run_field
from paretoscope.core.metrics import METRICS
from paretoscope.present.markup import markdown_text
from paretoscope.ui.binding import Bound
from paretoscope.ui.widgets import per_frame, show_table
from paretoscope.views import FIELDS, CompareView, FrontierView
from store import Store

__all__ = [
    "DELTA_COLUMNS",
    "MAX_SHIFT_ROWS",
    "run_labels",
    "run_options",
    "shift_controls",
    "show_deltas",
    "show_paired_tests",
    "show_shift",
]

# Rows of the shift table sent at once (the most telling first); the download
# holds every row. 100 000 runs made a 16 MB message of it (issue 13).
MAX_SHIFT_ROWS = 1000

# delta_table column -> the header shown.
DELTA_COLUMNS = {
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
    "accuracy_note": "Accuracy note",
    "peak_mem_mb": "Peak memory (MB)",
    "mem_ratio_x": "Memory (× baseline)",
    "model_size_mb": "Model size (MB)",
    "size_ratio_x": "Size (× baseline)",
    "throughput_per_s": "Throughput (items/s)",
    "accuracy_origin": "Accuracy origin",
    "run_id": "Run",
    "baseline": "Baseline",
}


def run_options(pool: pd.DataFrame, chosen: Sequence[str], limit: int) -> list[str]:
    """Run ids to offer: the chosen ones, then frontier runs (per batch size), then the fastest,
    then language models (fastest decode first), then any other run, up to ``limit``."""
    fp = frontier_points(pool, FrontierView())
    order = fp.points.sort_values(["on_frontier", "latency_ms_p50"], ascending=[False, True])
    ranked = order["run_id"].astype(str).head(limit).tolist()
    if len(ranked) < limit:  # then language models (no accuracy or latency), then the rest
        more = [*lm_run_order(pool), *pool["run_id"].astype(str).tolist()]
        ranked = list(dict.fromkeys([*ranked, *more]))[:limit]
    return list(dict.fromkeys([*chosen, *ranked]))


def run_positions(runs: pd.DataFrame) -> dict[str, int]:
    """Each run id's row position in ``runs`` (the last, should an id repeat)."""
    return {str(r): i for i, r in enumerate(runs["run_id"].tolist())}


def run_labels(runs: pd.DataFrame) -> Callable[[str], str]:
    """A run id's label for pickers: its configuration, or that the store lacks it."""
    # Run id -> row, once per cached frame (not a re-indexed copy of every run per rerun).
    where = per_frame(runs, "run_rows", lambda: run_positions(runs))
    dims = dim_columns(runs.columns)

    def label(run_id: str) -> str:
        if run_id not in where:
            return f"{run_id} (not in the store)"
        r = runs.iloc[where[run_id]]
        device = r["device"]
        if isinstance(r.get("device_name"), str):
            device = f"{device} ({r['device_name']})"
        text = f"{r['model']} · {r['runtime']} · {device} · {r['precision']} · bs {r['batch_size']}"
        for d in dims:
            if not pd.isna(r[d]):
                text += f" · {run_field(d).header} {r[d]}"
        if isinstance(r.get("dataset_name"), str):
            text += f" · {r['dataset_name']}"
        if r.get("origin") == "imported":
            text += " · imported"
        return text

    return label


def show_deltas(runs: pd.DataFrame, present: Sequence[str], base: str) -> None:
    """The chosen runs side by side, each against the baseline run."""
    table = delta_table(runs, list(present), base)
    lm = lm_delta_columns(runs, list(present), base)  # language models only (issue 15)
    table = pd.concat([table, lm], axis=1) if not lm.empty else table
    show_table(table.rename(columns={**DELTA_COLUMNS, **LM_DELTA_COLUMNS}))
    st.caption(
        "Speed-up is baseline latency ÷ run latency (> 1 is faster); accuracy change in "
        "percentage points, only between runs scored on the same data set and items; memory "
        "and size as run ÷ baseline. Empty where a run lacks the metric."
        + (
            " Language models: decode speed-up is run ÷ baseline decode tokens/s (> 1 is "
            "faster); perplexity change is run − baseline and relative (lower is better), "
            "only between runs scored on the same text."
            if not lm.empty
            else ""
        )
    )


def _top1_correctness(store: Store, run_id: str) -> str | None:
    rec = store.get_record(run_id)
    if rec is None:
        return None
    return next((a.item_correct for a in rec.accuracy if a.metric == "top1"), None)


def show_paired_tests(store: Store, runs: pd.DataFrame, present: Sequence[str], base: str) -> None:
    """McNemar's exact test of each run against the baseline, where both stored per-item results.

    Runs scored on another data set are said to be not comparable on accuracy.
    """
    label = run_labels(runs)
    names = {r: label(r) for r in present}
    # Short names where the models differ; the full configuration where they do not.
    models = runs.set_index(runs["run_id"].astype(str))["model"].astype(str)
    short = {r: models.get(r, r) for r in present}
    if len(set(short.values())) == len(short):
        names = short
    correct = {r: _top1_correctness(store, r) for r in present}
    sentences = paired_accuracy(runs, present, base, correct, names)
    if sentences:
        st.markdown("**Accuracy, paired by item** (McNemar's exact test against the baseline)")
        for sentence in sentences:
            st.markdown(f"- {markdown_text(sentence)}")


def shift_controls(bound: Bound[CompareView], values: Sequence[str]) -> None:
    """The shift's widgets: the field, its two groups (of ``values``), and the two metrics."""
    key, sync = bound.key, bound.sync
    label = {k: m.label for k, m in METRICS.items()}
    c = st.columns([2, 2, 2, 3, 3], vertical_alignment="bottom")
    fields = list(dict.fromkeys([*FIELDS, bound.view.shift_field]))
    c[0].selectbox("Compare across", fields, format_func=lambda f: FIELDS.get(f) or
                   run_field(f).label, key=key("sf"), on_change=sync)  # fmt: skip
    c[1].selectbox("From", values, key=key("sa"), on_change=sync)
    c[2].selectbox("To", values, key=key("sb"), on_change=sync)
    c[3].selectbox("Cost (ranked by)", list(METRICS), format_func=label.__getitem__,
                   key=key("x"), on_change=sync)  # fmt: skip
    c[4].selectbox("Quality", list(METRICS), format_func=label.__getitem__, key=key("y"),
                   on_change=sync)  # fmt: skip


def show_shift(
    pool: pd.DataFrame,
    view: CompareView,
    a: str,
    b: str,
    rebuild: Callable[[], pd.DataFrame] | None = None,
) -> None:
    """How the frontier shifts from group ``a`` to group ``b`` of the view's field.

    Shows the first ``MAX_SHIFT_ROWS`` rows (moves, then stays, then the rest);
    the CSV download holds all. ``rebuild`` returns the pool again when the
    download is clicked (so the session keeps no copy of it); default: ``pool``.
    """
    shift = frontier_shift(pool, view.shift_field, a, b, [view.x, view.y])
    ta, tb = markdown_text(a), markdown_text(b)
    st.markdown(
        f"**{shift.count('moves onto')}** move onto the frontier from {ta} to {tb}, "
        f"**{shift.count('moves off')}** move off, **{shift.count('stays on')}** stay on "
        f"({shift.n_on_a} on the {ta} frontier, {shift.n_on_b} on the {tb} frontier)."
    )
    mx = METRICS[view.x]
    columns = {
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
    n = len(shift.table)
    if n > MAX_SHIFT_ROWS:
        st.caption(
            f"The first {MAX_SHIFT_ROWS:,} of {n:,} matched configurations (moves first, then "
            "those that stay on); the download has all of them."
        )
    show_table(shift.table.head(MAX_SHIFT_ROWS).rename(columns=columns))
    if n > MAX_SHIFT_ROWS:
        source = rebuild if rebuild is not None else (lambda: pool)
        fields = (view.shift_field, a, b, [view.x, view.y])
        st.download_button(
            "Every matched configuration (CSV)",
            data=lambda: _shift_csv(source(), *fields, columns),
            file_name="compare-shift.csv",
            mime="text/csv",
            on_click="ignore",
            key="compare.shift.csv",
        )
    st.caption(
        "Runs are matched across the groups by the model's lineage root and every other "
        f"configuration field; ranks are by {mx.label.lower()} within each group (1 = best)."
    )


def _shift_csv(
    pool: pd.DataFrame, field: str, a: str, b: str, metrics: list[str], columns: dict[str, str]
) -> bytes:
    table = frontier_shift(pool, field, a, b, metrics).table
    return table.rename(columns=columns).to_csv(index=False).encode("utf-8")
