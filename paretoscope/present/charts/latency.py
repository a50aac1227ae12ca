"""A run's latency distribution: a histogram of its samples, else a box of its quantiles."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

__all__ = ["latency_chart"]


def latency_chart(
    samples_ms: Sequence[float],
    quantiles_ms: Sequence[float],
    *,
    what: str = "Latency of one batch",
    counted: str = "Timed iterations",
) -> alt.Chart | None:
    """A histogram of a run's stored latency samples (ms), else a box plot of its quantiles.

    ``what`` names the timed quantity on the x axis (a language model's
    prefill or decode step, issue 15), ``counted`` the samples on the y axis.
    Returns None when the run stored neither.
    """
    if len(samples_ms) >= 2:
        samples = np.asarray(samples_ms, dtype=float)
        # Up to the samples' p99: one 1000x outlier would squash the rest into one bin
        # (the page says how many samples lie beyond).
        cut = float(np.percentile(samples, 99))
        data = pd.DataFrame({"latency_ms": samples[samples <= cut]})
        return (
            alt.Chart(data)
            .mark_bar(color="#4c78a8")
            .encode(
                x=alt.X(
                    "latency_ms:Q",
                    bin=alt.Bin(maxbins=40),
                    title=f"{what} (ms), samples up to their p99",
                ),
                y=alt.Y("count():Q", title=counted),
            )
            .properties(height=240, width="container")
        )
    if len(quantiles_ms) >= 2:
        q = np.asarray(quantiles_ms, dtype=float)
        data = pd.DataFrame({"latency_ms": q})
        return (
            alt.Chart(data)
            .mark_boxplot(extent="min-max")
            .encode(x=alt.X("latency_ms:Q", title=f"{what} (ms), stored quantiles"))
            .properties(height=120, width="container")
        )
    return None
