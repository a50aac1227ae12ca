"""The Methodology page's Streamlit parts: what this store's runs were measured with, as tables."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from paretoscope.present.display import MISSING
from paretoscope.present.methodology import (
    budget_table,
    dataset_table,
    memory_table,
    run_facts,
    store_summary,
)
from store import Store

__all__ = ["MAX_FACT_ROWS", "run_specs", "show_store_facts"]

# Rows of the every-run table sent at once; the download holds the rest.
MAX_FACT_ROWS = 1000


# Shared, not copied per call (issue 13): read-only, like ``dashboard.load_runs``.
@st.cache_resource(show_spinner=False, max_entries=2)
def _specs(path: str, version: tuple[int, ...], _store: Store) -> dict[str, str]:
    # The stored spec holds each run's own budget; one column read, not one record per run.
    frame = _store.query("SELECT run_id, spec FROM runs")
    return {str(r): str(s) for r, s in zip(frame["run_id"], frame["spec"], strict=True)}


def run_specs(store: Store) -> dict[str, str]:
    """Run id -> the run's stored spec (JSON), cached until the store's file changes."""
    return _specs(str(store.path), store.data_version(), store)


def _table(frame: pd.DataFrame) -> None:
    st.dataframe(frame, hide_index=True, placeholder=MISSING, width="stretch")


def show_store_facts(store: Store, runs: pd.DataFrame) -> None:
    """How this store's runs were measured: memory sources, budgets, data sets, and every run."""
    st.subheader("What this store's runs were measured with")
    if runs.empty:
        st.info("This store has no successful runs yet; the procedure below applies to new ones.")
        return
    st.markdown(store_summary(runs))
    st.markdown("**Peak memory, by what was measured**")
    _table(memory_table(runs))
    facts = run_facts(runs, run_specs(store))
    st.markdown("**Timing budgets and repeats** (each run's own, from its stored configuration)")
    _table(budget_table(facts))
    st.markdown("**Data sets accuracy was scored on** (95% intervals: Wilson, from the items)")
    _table(dataset_table(runs))
    every = st.expander(
        f"Every run: memory source, budget, stopping reason ({len(facts)} runs)",
        key="methodology.every",
        on_change="rerun",
    )
    with every:
        if len(facts) > MAX_FACT_ROWS and not every.open:
            return  # a long list is drawn only while open: 100 000 rows were a 40 MB message
        if len(facts) > MAX_FACT_ROWS:
            st.caption(
                f"The first {MAX_FACT_ROWS} of {len(facts)} runs; the download has all of them."
            )
        _table(facts.head(MAX_FACT_ROWS))
        st.download_button(
            "Every run (CSV)",
            data=lambda: facts.to_csv(index=False).encode("utf-8"),
            file_name="methodology-runs.csv",
            mime="text/csv",
            on_click="ignore",
            key="methodology.every.csv",
        )
