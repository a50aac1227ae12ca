"""Widgets the pages share: notices of what a link could not use, run tables, run filters."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import pandas as pd
import streamlit as st

from paretoscope.core.fields import dim_columns
from paretoscope.present.display import MISSING
from paretoscope.present.markup import markdown_text
from paretoscope.present.tables import column_formats
from paretoscope.views import FILTER_COLUMNS, MAX_VALUE_CHARS, RunFilters

__all__ = [
    "filter_options",
    "filter_widgets",
    "filters_from_state",
    "per_frame",
    "show_notices",
    "show_table",
]

_FILTER_LABELS = {
    "runtime": "Runtime",
    "device": "Device",
    "precision": "Precision",
    "batch_size": "Batch size",
    "family": "Family",
    "device_name": "Device name",
    "host_id": "Host",
    "origin": "Origin",
    "dataset": "Data set",
}
# The first row of filters (the page's own widgets lead it); the rest and the dimensions follow.
_FIRST_ROW = ("runtime", "device", "precision", "batch_size", "family")
_ORIGIN_LABELS = {"measured": "measured here", "imported": "imported"}


def show_notices(notices: Sequence[str], *, what: str = "the link") -> None:
    """One warning listing what was ignored, so a bad shared link says so."""
    if notices:
        body = "\n".join(f"- {markdown_text(n)}" for n in notices)
        st.warning(f"Some of {what} could not be used; showing defaults instead.\n\n{body}")


def show_table(table: pd.DataFrame) -> None:
    """A run table: metric columns formatted from the registry, missing values as —."""
    config = {h: st.column_config.NumberColumn(format=f) for h, f in column_formats(table).items()}
    st.dataframe(table, hide_index=True, placeholder=MISSING, column_config=config)


# The filter options of a frame, computed once per frame object: the pages get
# the same cached frame on every rerun (``dashboard.load_runs``) until the
# store changes, so options are listed once per store version, not once per
# rerun over 100 000 rows (issue 13). By object id (frames are unhashable), with
# a weak reference: a dropped frame drops its entry.
_OPTIONS: dict[int, tuple[weakref.ref[pd.DataFrame], dict[str, Any]]] = {}


def filter_options(frame: pd.DataFrame) -> dict[str, Any]:
    """Per filter field (and ``dim_<name>``) the distinct usable values of ``frame``, sorted.

    Also ``"host_names"``: host id -> host label. Cached per frame object.
    """
    return per_frame(frame, "filter_options", lambda: _filter_options(frame))


def per_frame(frame: pd.DataFrame, name: str, build: Any) -> Any:
    """``build()``, computed once per frame object and ``name`` (the frame is read-only)."""
    entry = _OPTIONS.get(id(frame))
    if entry is None or entry[0]() is not frame:
        entry = (weakref.ref(frame), {})
        _OPTIONS[id(frame)] = entry
        weakref.finalize(frame, _OPTIONS.pop, id(frame), None)
    memo = entry[1]
    if name not in memo:
        memo[name] = build()
    return memo[name]


def _filter_options(frame: pd.DataFrame) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in FILTER_COLUMNS.values():
        if field not in frame.columns:
            out[field] = []
            continue
        present = frame[field].dropna().unique().tolist()
        if field == "batch_size":
            out[field] = sorted({int(v) for v in present})
        else:  # a value a link cannot carry cannot be a filter either
            out[field] = sorted({v for v in present if 0 < len(str(v)) <= MAX_VALUE_CHARS})
    for name in dim_columns(frame.columns):
        out[name] = sorted({int(v) for v in frame[name].dropna().unique().tolist()})
    names: dict[str, str] = {}
    if {"host_id", "host"} <= set(frame.columns):
        pairs = frame[["host_id", "host"]].drop_duplicates()
        names = dict(zip(pairs["host_id"].astype(str), pairs["host"].astype(str), strict=True))
    out["host_names"] = names
    return out


def _labeller(frame: pd.DataFrame, field: str) -> Any:
    """How a filter's option reads: a host id as its host's label, an origin in words."""
    if field == "host_id" and {"host_id", "host"} <= set(frame.columns):
        names = filter_options(frame)["host_names"]
        return lambda v: names.get(str(v), str(v))
    if field == "origin":
        return lambda v: _ORIGIN_LABELS.get(str(v), str(v))
    return str


def filter_widgets(
    frame: pd.DataFrame, filters: RunFilters, prefix: str, on_change: Any, *, leading: int = 0
) -> list[Any]:
    """One multiselect per run filter, seeded from ``filters`` (the URL), in two rows.

    The first row holds ``leading`` empty columns (returned, for the page's own
    widgets) and the first filters; the second the device name, host, origin,
    data set and one per symbolic dimension (``dim_<name>``) present. Options
    are the values present in ``frame`` plus any the link names, so a stale
    link still shows what it asked for. ``on_change`` writes the URL.
    """
    first = st.columns(leading + len(_FIRST_ROW))
    rest = [f for f in FILTER_COLUMNS.values() if f not in _FIRST_ROW]
    dims = filters.dim_values()
    names = sorted(set(dim_columns(frame.columns)) | set(dims))
    st.session_state[f"{prefix}.dims"] = names
    second = st.columns(len(rest) + len(names))
    options_of = filter_options(frame)
    for col, field in zip(first[leading:] + second, [*_FIRST_ROW, *rest], strict=False):
        chosen = list(getattr(filters, field))
        present = options_of[field]
        options = present if set(chosen) <= set(present) else sorted(set(present) | set(chosen))
        _multiselect(col, _FILTER_LABELS[field], options, chosen,
                     f"{prefix}.{field}", on_change, _labeller(frame, field))  # fmt: skip
    for col, name in zip(second[len(rest) :], names, strict=True):
        chosen = list(dims.get(name, ()))
        options = sorted(set(options_of.get(name, [])) | set(chosen))
        label = f"{name.removeprefix('dim_')} (dimension)"
        _multiselect(col, label, options, chosen, f"{prefix}.{name}", on_change, str)
    return list(first[:leading])


def _multiselect(
    col: Any, label: str, options: list[Any], chosen: list[Any], key: str, on_change: Any,
    format_func: Any,
) -> None:  # fmt: skip
    st.session_state[key] = chosen
    col.multiselect(label, options, key=key, on_change=on_change, placeholder="all",
                    format_func=format_func)  # fmt: skip


def filters_from_state(prefix: str) -> RunFilters:
    """The filters the widgets made by ``filter_widgets(prefix=...)`` hold now."""
    dims = [
        (name.removeprefix("dim_"), int(value))
        for name in st.session_state.get(f"{prefix}.dims", [])
        for value in st.session_state.get(f"{prefix}.{name}", ())
    ]
    return RunFilters(
        **{
            field: tuple(st.session_state.get(f"{prefix}.{field}", ()))
            for field in FILTER_COLUMNS.values()
        },
        dims=tuple(dims),
    )
