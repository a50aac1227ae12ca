"""The Run detail page's Streamlit parts: header facts, latency, accuracy, the parent test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from paretoscope.analysis.opprofile import op_caption, op_table
from paretoscope.analysis.rundetail import (
    header_rows,
    parent_candidates,
    parent_comparison,
    repeat_table,
    scope_text,
)
from paretoscope.core.records import RunRecord
from paretoscope.present.charts import latency_chart
from paretoscope.present.charts.ops import op_chart
from paretoscope.present.display import REPORTED
from paretoscope.present.markup import markdown_text
from store import Store

__all__ = [
    "measurement_rows",
    "show_accuracy",
    "show_header",
    "show_latency",
    "show_op_profile",
    "show_parent_test",
]


def show_header(rec: RunRecord) -> None:
    """Sweep values, origin, repeats, CI scope, budget, stopping reason, memory and accuracy."""
    rows = pd.DataFrame(header_rows(rec), columns=["What", "Value"])
    st.dataframe(rows, hide_index=True, width="stretch")


def show_parent_test(store: Store, runs: pd.DataFrame, rec: RunRecord) -> None:
    """McNemar's exact test against the parent model's run on the same items, when there is one."""
    ids = parent_candidates(runs, rec)
    if not ids:
        return
    sentence = parent_comparison(rec, store.records(ids))
    if sentence is None:
        st.caption(
            "The parent model's run on this device and runtime has no per-item scores on the "
            "same items, so no paired test."
        )
        return
    st.text("Paired test against the parent model (same items):")
    st.text(sentence)


def show_latency(rec: RunRecord) -> None:
    """The run's latency: percentiles, spread and the distribution of one batch's latency."""
    lat = rec.latency
    if lat is None:
        st.caption("No latency was measured for this run.")
        return
    half = (lat.ci_high_ms - lat.ci_low_ms) / 2
    # The interval's column is wider: its label says what the interval covers.
    cols = st.columns([1, 2, 1, 1, 1, 1])
    cols[0].metric("Latency p50 (ms)", f"{lat.p50_ms:.3g}")
    cols[1].metric(
        f"95% CI of p50, {scope_text(rec).split(' (')[0]}",
        f"±{half / lat.p50_ms:.2%}" if lat.p50_ms > 0 else "—",
        help=f"{lat.ci_low_ms:.6g}–{lat.ci_high_ms:.6g} ms, {scope_text(rec)}",
    )
    cols[2].metric("p90 (ms)", f"{lat.p90_ms:.3g}")
    cols[3].metric("p99 (ms)", f"{lat.p99_ms:.3g}")
    cols[4].metric("sd (ms)", f"{lat.std_ms:.2g}", help=f"Mean {lat.mean_ms:.4g} ms")
    cols[5].metric("Timed iterations", f"{lat.n_iter:,}")
    repeats = repeat_table(rec)
    if not repeats.empty:
        st.caption(
            f"Measured as {len(repeats)} repeats, each in a fresh process; the interval above "
            "covers the spread between their medians. Each repeat's own figures:"
        )
        st.dataframe(repeats, hide_index=True)
    chart = latency_chart(lat.samples_ms, lat.quantiles_ms)
    if chart is None:
        st.caption("No latency samples or quantiles were stored for this run.")
        return
    st.altair_chart(chart, width="stretch")
    what = "the stored timed samples" if len(lat.samples_ms) >= 2 else "the stored quantiles"
    if len(lat.samples_ms) >= 2:
        cut = float(np.percentile(lat.samples_ms, 99))
        beyond = [v for v in lat.samples_ms if v > cut]
        if beyond:
            what += (
                f"; {len(beyond)} samples above their p99 ({cut:.3g} ms, up to "
                f"{max(beyond):.3g} ms) are left out of the histogram"
            )
    st.caption(
        f"Distribution of one batch's latency, from {what} ({len(lat.samples_ms)} "
        f"samples kept of {lat.n_iter} timed iterations)."
    )


def show_accuracy(rec: RunRecord) -> None:
    """Every accuracy recorded for the run, measured or reported elsewhere."""
    if not rec.accuracy:
        st.caption("No accuracy was recorded for this run.")
        return
    acc = pd.DataFrame(
        [
            {
                "Metric": a.metric,
                "Value": a.value,
                "95% CI low": a.ci_low,
                "95% CI high": a.ci_high,
                "Dataset": a.dataset_id,
                "Items scored": a.n_samples,
                "Items": a.items or "—",
                "Origin": REPORTED if a.origin == "reported" else "measured",
                "Note": a.note,
            }
            for a in rec.accuracy
        ]
    )
    fmt = st.column_config.NumberColumn(format="%.4f")
    st.dataframe(
        acc,
        hide_index=True,
        column_config={"Value": fmt, "95% CI low": fmt, "95% CI high": fmt},
    )
    st.caption("95% intervals: Wilson score intervals from the number of items scored.")


def measurement_rows(rec: RunRecord) -> list[tuple[str, str]]:
    """(what, value) rows of the run's memory, energy, throughput and size, where measured."""
    rows = []
    mem = rec.memory
    if mem is not None:
        base = mem.baseline_mem_mb
        rows.append(
            (
                "Peak memory (MB)",
                f"unavailable: {mem.unavailable_reason or 'no reason stored'}"
                if mem.peak_mem_mb is None
                else f"{mem.peak_mem_mb:.4g} ({mem.source or 'source not recorded'})",
            )
        )
        if base is not None:
            rows.append(("Host memory before the model was loaded (MB)", f"{base:.4g}"))
    if rec.energy is not None:
        en = rec.energy
        rows.append(
            (
                "Energy per item (J)",
                f"{en.energy_j_per_item:.4g}"
                if en.energy_j_per_item is not None
                else f"unavailable: {en.unavailable_reason}",
            )
        )
    if rec.throughput_per_s is not None:
        rows.append(("Throughput (items/s)", f"{rec.throughput_per_s:.4g}"))
    if rec.model_size_mb is not None:
        rows.append(("Model size (MB)", f"{rec.model_size_mb:.4g}"))
    return rows


def show_op_profile(rec: RunRecord) -> None:
    """The run's top operators by time, as a table and bars; nothing without a profile.

    Operator names are the model's own: shown in table cells and chart
    labels, never as Markdown.
    """
    prof = rec.op_profile
    if prof is None:
        if rec.spec.op_profile and rec.status == "ok":
            st.caption(
                "An operator profile was asked for but none was stored; the notes in "
                "Configuration and provenance say why."
            )
        return
    st.subheader("Operator profile")
    table = op_table(prof)
    if table.empty:
        st.caption("The profiler recorded no operator time for this run.")
        return
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "Operator": st.column_config.TextColumn(),
            "Total (ms)": st.column_config.NumberColumn(format="%.4g"),
            "Per inference (ms)": st.column_config.NumberColumn(format="%.4g"),
            "Share (%)": st.column_config.NumberColumn(format="%.1f"),
        },
    )
    chart = op_chart(table)
    if chart is not None:
        st.altair_chart(chart, width="stretch")
    # The profiler's name comes with the record (perhaps from a bundle): text, not Markdown.
    st.caption(markdown_text(op_caption(prof)))
