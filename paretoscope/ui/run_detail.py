"""The Run detail page's Streamlit parts: latency figures and histogram, accuracy, measurements."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from paretoscope.core.records import LatencyStats, RunRecord
from paretoscope.present.charts import latency_chart
from paretoscope.present.display import REPORTED

__all__ = ["measurement_rows", "show_accuracy", "show_latency"]


def show_latency(lat: LatencyStats) -> None:
    """The run's latency: percentiles, spread and the distribution of one batch's latency."""
    half = (lat.ci_high_ms - lat.ci_low_ms) / 2
    cols = st.columns(6)
    cols[0].metric("Latency p50 (ms)", f"{lat.p50_ms:.4g}")
    cols[1].metric(
        "95% CI of p50",
        f"±{half / lat.p50_ms:.2%}" if lat.p50_ms > 0 else "—",
        help=f"{lat.ci_low_ms:.6g}–{lat.ci_high_ms:.6g} ms",
    )
    cols[2].metric("p90 (ms)", f"{lat.p90_ms:.3g}")
    cols[3].metric("p99 (ms)", f"{lat.p99_ms:.3g}")
    cols[4].metric("sd (ms)", f"{lat.std_ms:.2g}", help=f"Mean {lat.mean_ms:.4g} ms")
    cols[5].metric("Timed iterations", f"{lat.n_iter:,}")
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
                "Dataset": a.dataset_id,
                "Samples": a.n_samples,
                "Origin": REPORTED if a.origin == "reported" else "measured",
                "Note": a.note,
            }
            for a in rec.accuracy
        ]
    )
    st.dataframe(
        acc, hide_index=True, column_config={"Value": st.column_config.NumberColumn(format="%.4f")}
    )


def measurement_rows(rec: RunRecord) -> list[tuple[str, str]]:
    """(what, value) rows of the run's memory, energy, throughput and size, where measured."""
    rows = []
    if rec.memory is not None:
        base = rec.memory.baseline_mem_mb
        rows.append(
            (
                "Peak memory (MB)",
                f"{rec.memory.peak_mem_mb:.4g}"
                + (f" (baseline before the model: {base:.4g})" if base is not None else ""),
            )
        )
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
