"""Regression marks in the Runs table and Run detail, and a configuration's history chart.

A run is marked when it regressed against the run of its configuration just
before it (``analysis.gate.regressions_against_previous``, default
tolerances). Cheap on a large store: configuration keys and predecessors are
computed once per loaded frame (``widgets.per_frame``: once per store
version, shared by sessions), and the comparisons only for the runs shown
(one page of the Runs table, one run in Run detail).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import streamlit as st

from paretoscope.analysis.configs import config_history, config_keys, previous_runs
from paretoscope.analysis.gate import regressions_against_previous
from paretoscope.core.metrics import METRICS
from paretoscope.present.charts.history import history_chart, history_chart_data
from paretoscope.present.markup import markdown_text
from paretoscope.present.tables import runs_table
from paretoscope.ui.widgets import per_frame

__all__ = ["MARK_COLUMN", "marked_runs_table", "regressed_metrics", "show_history", "show_mark"]

MARK_COLUMN = "Regressed vs previous"


def _index(runs: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(configuration key, previous run id) per row of ``runs``, once per frame object."""

    def build() -> tuple[pd.Series, pd.Series]:
        # Integer codes: comparing them is far cheaper than comparing the key strings.
        keys = pd.Series(pd.factorize(config_keys(runs))[0], index=runs.index)
        return keys, previous_runs(runs, keys)

    result: tuple[pd.Series, pd.Series] = per_frame(runs, "regression_index", build)
    return result


def regressed_metrics(runs: pd.DataFrame, run_ids: Sequence[str]) -> dict[str, list[str]]:
    """Per run of ``run_ids``: the metrics that regressed against its previous run (maybe none)."""
    if runs.empty or not len(run_ids):
        return {r: [] for r in run_ids}
    _, prev = _index(runs)
    ids = runs["run_id"].astype(str)
    wanted = ids.isin(list(run_ids))
    near = wanted | ids.isin(prev[wanted].dropna().tolist())
    return regressions_against_previous(runs[near], prev[near], list(run_ids))


def _mark(metrics: list[str], has_previous: bool) -> str:
    if not has_previous:
        return "— (first of its configuration)"
    return "yes: " + ", ".join(metrics) if metrics else "no"


def marked_runs_table(runs: pd.DataFrame, shown: pd.DataFrame) -> pd.DataFrame:
    """``runs_table(shown)`` with the ``Regressed vs previous`` column after the status."""
    table = runs_table(shown)
    if shown.empty:
        return table
    ids = shown["run_id"].astype(str).tolist()
    found = regressed_metrics(runs, ids)
    _, prev = _index(runs)
    has_prev = dict(zip(runs["run_id"].astype(str), prev.notna(), strict=True))
    marks = [
        _mark(found.get(r, []), has_prev.get(r, False)) if s == "ok" else "—"
        for r, s in zip(ids, shown["status"], strict=True)
    ]
    table.insert(min(1, len(table.columns)), MARK_COLUMN, marks)
    return table


def show_mark(runs: pd.DataFrame, run_id: str) -> None:
    """A warning when the run regressed against the previous run of its configuration."""
    if runs.empty or run_id not in set(runs["run_id"].astype(str)):
        return
    _, prev = _index(runs)
    before = prev[runs["run_id"].astype(str) == run_id]
    if before.empty or not isinstance(before.iloc[0], str):
        return
    metrics = regressed_metrics(runs, [run_id]).get(run_id, [])
    if metrics:
        labels = ", ".join(f"{METRICS[m].label} ({m})" for m in metrics)
        st.error(
            markdown_text(
                f"Regressed against the previous run of this configuration "
                f"({before.iloc[0]}): {labels}. See History of this configuration below."
            )
        )


def _label(key: str) -> str:
    m = METRICS[key]
    return f"{m.label} ({m.unit})" if m.unit else m.label


def show_history(runs: pd.DataFrame, run_id: str, key: str = "run_detail.history") -> None:
    """The History section: the configuration's runs over time for one metric, with intervals."""
    st.subheader("History of this configuration")
    if runs.empty:
        return
    keys, _ = _index(runs)
    hist = config_history(runs, keys, run_id)
    if len(hist) < 2:
        st.caption(
            "This is the only successful run of its configuration (same model, runtime, "
            "device, precision, batch, threads, dimensions and data set): no history yet."
        )
        return
    present = [k for k in METRICS if k in hist.columns and hist[k].notna().any()]
    default = "latency_ms_p50" if "latency_ms_p50" in present else present[0]
    choice = st.selectbox(
        "Metric", present, index=present.index(default), key=key, format_func=_label
    )
    ids = hist["run_id"].astype(str).tolist()
    found = regressed_metrics(runs, ids)
    regressed = [r for r, ms in found.items() if choice in ms]
    data = history_chart_data(hist, choice, regressed, ids[0], run_id)
    st.altair_chart(history_chart(data, choice), width="stretch")
    n_reg = sum(1 for ms in found.values() if ms)
    st.caption(
        f"{len(hist)} runs of this configuration, oldest first; bars are 95% intervals where "
        f"the metric has one. {n_reg} run(s) regressed against the run before them (red "
        "triangles: a significant worsening beyond the default tolerance, as `paretoscope "
        "check` decides); the ring is this run."
    )
