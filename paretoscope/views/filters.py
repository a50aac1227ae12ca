"""The run filters every page shares: which runs a view keeps, and their URL keys.

Pure: no Streamlit, DuckDB or torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from paretoscope.views.query import (
    ORIGINS,
    QueryReader,
    canonical,
    check_batch,
    check_dim,
    check_origin,
    check_text,
)

__all__ = ["DIM_KEY", "FILTER_COLUMNS", "FILTER_KEYS", "RunFilters", "read_filters"]

# URL key -> what it holds. docs/url.md has a row for each (a test checks it).
FILTER_KEYS: dict[str, str] = {
    "rt": "runtime to include (`ort`, `torch`); repeat for several; none = all",
    "dev": "device to include (`cpu`, `cuda:0`, …); repeat for several; none = all",
    "prec": "precision to include (`fp32`, `int8`, …); repeat for several; none = all",
    "bs": "batch size to include (positive integer); repeat for several; none = all",
    "fam": "model family to include; repeat for several; none = all",
    "dn": "device name to include (the CPU or GPU model, e.g. `NVIDIA H100 80GB HBM3`); "
    "repeat for several; none = all",
    "host": "host id to include (the `host_id` column: a host's fingerprint, so two hosts "
    "with one hostname stay apart); repeat for several; none = all",
    "orig": "where runs come from: `measured` (on this store's hosts) or `imported` (from a "
    "bundle); repeat for both; none = all",
    "ds": "data set to include (the `dataset` column, e.g. `digits (test, 450 items, "
    "3fa2c1d0)`); repeat for several; none = all",
    "dim": "a symbolic dimension's value to include, as `name:value` (`seq:128`); repeat "
    "for several; none = all",
}
DIM_KEY = "dim"


@dataclass(frozen=True)
class RunFilters:
    """Which runs a page shows: each field lists the allowed values; empty allows all."""

    runtime: tuple[str, ...] = ()
    device: tuple[str, ...] = ()
    precision: tuple[str, ...] = ()
    batch_size: tuple[int, ...] = ()
    family: tuple[str, ...] = ()
    device_name: tuple[str, ...] = ()
    host_id: tuple[str, ...] = ()
    origin: tuple[str, ...] = ()
    dataset: tuple[str, ...] = ()
    # (name, value) pairs of symbolic dimensions: ``("seq", 128)`` keeps ``dim_seq == 128``.
    dims: tuple[tuple[str, int], ...] = ()

    def __post_init__(self) -> None:
        for name in ("runtime", "device", "precision", "family", "device_name", "host_id"):
            checked = canonical(getattr(self, name), partial(check_text, name))
            object.__setattr__(self, name, checked)
        object.__setattr__(self, "dataset", canonical(self.dataset, partial(check_text, "dataset")))
        object.__setattr__(self, "origin", canonical(self.origin, check_origin))
        object.__setattr__(self, "batch_size", canonical(self.batch_size, check_batch))
        object.__setattr__(self, "dims", tuple(sorted({check_dim(d) for d in self.dims})))

    def dim_values(self) -> dict[str, tuple[int, ...]]:
        """The allowed values of each filtered dimension, by column (``dim_seq``)."""
        out: dict[str, list[int]] = {}
        for name, value in self.dims:
            out.setdefault(f"dim_{name}", []).append(value)
        return {k: tuple(v) for k, v in out.items()}

    def to_query(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key, column in FILTER_COLUMNS.items():
            values = getattr(self, column)
            if values:
                out[key] = [str(v) for v in values]
        if self.dims:
            out[DIM_KEY] = [f"{name}:{value}" for name, value in self.dims]
        return out


# URL key -> RunFilters field, which is also the runs-frame column it filters.
FILTER_COLUMNS: dict[str, str] = {
    "rt": "runtime",
    "dev": "device",
    "prec": "precision",
    "bs": "batch_size",
    "fam": "family",
    "dn": "device_name",
    "host": "host_id",
    "orig": "origin",
    "ds": "dataset",
}


def read_filters(reader: QueryReader) -> RunFilters:
    """The run filters a link asks for; a notice for every value ignored."""
    kwargs: dict[str, Any] = {}
    for key, column in FILTER_COLUMNS.items():
        if column == "batch_size":
            kwargs[column] = reader.batch_sizes(key)
        elif column == "origin":
            kwargs[column] = reader.values(
                key, lambda v: v if v in ORIGINS else None, f"use {' or '.join(ORIGINS)}"
            )
        else:
            kwargs[column] = reader.texts(key)
    kwargs["dims"] = reader.dims(DIM_KEY)
    return RunFilters(**kwargs)
