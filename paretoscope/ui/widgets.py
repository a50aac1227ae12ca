"""Widgets the pages share: notices of what a link could not use, run tables, run filters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from paretoscope.present.display import MISSING
from paretoscope.present.tables import column_formats
from paretoscope.views import FILTER_COLUMNS, RunFilters

__all__ = ["filter_widgets", "filters_from_state", "show_notices", "show_table"]

_FILTER_LABELS = {
    "runtime": "Runtime",
    "device": "Device",
    "precision": "Precision",
    "batch_size": "Batch size",
    "family": "Family",
}


def show_notices(notices: Sequence[str], *, what: str = "the link") -> None:
    """One warning listing what was ignored, so a bad shared link says so."""
    if notices:
        body = "\n".join(f"- {n}" for n in notices)
        st.warning(f"Some of {what} could not be used; showing defaults instead.\n\n{body}")


def show_table(table: pd.DataFrame) -> None:
    """A run table: metric columns formatted from the registry, missing values as —."""
    config = {h: st.column_config.NumberColumn(format=f) for h, f in column_formats(table).items()}
    st.dataframe(table, hide_index=True, placeholder=MISSING, column_config=config)


def filter_widgets(
    frame: pd.DataFrame, filters: RunFilters, prefix: str, on_change: Any, *, leading: int = 0
) -> list[Any]:
    """One multiselect per run filter, in a row, seeded from ``filters`` (the URL).

    Options are the values present in ``frame`` plus any the link names, so a
    stale link still shows what it asked for. ``on_change`` writes the URL.
    Returns ``leading`` empty columns at the row's start, for the page's own widgets.
    """
    columns = st.columns(leading + len(FILTER_COLUMNS))
    for col, field in zip(columns[leading:], FILTER_COLUMNS.values(), strict=True):
        chosen = list(getattr(filters, field))
        present = frame[field].dropna().tolist() if field in frame.columns else []
        if field == "batch_size":
            present = [int(v) for v in present]
        options = sorted(set(present) | set(chosen))
        key = f"{prefix}.{field}"
        st.session_state[key] = chosen
        col.multiselect(
            _FILTER_LABELS[field],
            options,
            key=key,
            on_change=on_change,
            placeholder="all",
        )
    return list(columns[:leading])


def filters_from_state(prefix: str) -> RunFilters:
    """The filters the widgets made by ``filter_widgets(prefix=...)`` hold now."""
    return RunFilters(
        **{
            field: tuple(st.session_state.get(f"{prefix}.{field}", ()))
            for field in FILTER_COLUMNS.values()
        }
    )
