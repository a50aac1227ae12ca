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

__all__ = ["run_specs", "show_store_facts"]


@st.cache_data(show_spinner=False, max_entries=4)
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
    with st.expander(f"Every run: memory source, budget, stopping reason ({len(facts)} runs)"):
        _table(facts)
