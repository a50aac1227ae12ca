"""Which runs are the same configuration: keys for the regression gate and the history view.

Two runs are the same configuration when they measure the same model (by
name, or by content with ``match="content"``: the model id, which holds the
sha256 of the file the user gave and the variant's precision), with the same
runtime, device and device name (the CPU or GPU model), precision, batch
size, threads, symbolic dimensions (``dim_<name>``), input shapes (where the
frame has them) and data set (by content hash where known, else by name).
The run id, host name, versions, execution provider and time are *not* part
of the key: they are what a regression gate looks across.

Matching by name is the default because a gate in CI exists to compare a
changed model (new weights, a new export: a new content hash) with the one
it replaces; ``content`` compares only identical model files (a library or
machine change).

Pure pandas: the key of ``n`` runs is O(n) string work, done once per frame.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from paretoscope.core.errors import InputError
from paretoscope.core.fields import dim_columns

__all__ = [
    "KEY_FIELDS",
    "MATCHES",
    "Match",
    "Matching",
    "config_history",
    "config_keys",
    "match_newest",
    "newest_per_config",
    "previous_runs",
]

Match = Literal["name", "content"]
MATCHES: tuple[str, ...] = ("name", "content")

#: Configuration columns of the key besides the model, the dimensions and the data set.
KEY_FIELDS: tuple[str, ...] = (
    "runtime",
    "device",
    "device_name",
    "precision",
    "batch_size",
    "threads",
    "input_shapes",
)


def _text(values: pd.Series) -> pd.Series:
    """Values as strings for a key; whole numbers without ``.0``; missing as <NA>."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        num = pd.to_numeric(values, errors="coerce")
        whole = num.notna() & (num == num.round())
        text = num.astype("string")
        text = text.where(~whole, num.where(whole).astype("Int64").astype("string"))
        return text
    return values.astype("string")


def config_keys(
    frame: pd.DataFrame, match: Match = "name", dims: Sequence[str] | None = None
) -> pd.Series:
    """Each run's configuration key (a string; see the module docstring).

    ``dims`` names the ``dim_<name>`` columns to use (default: the frame's);
    give the union of two frames' dimensions when their keys are compared. A
    missing value (no such dimension, no data set) leaves its part out, so a
    frame without a column and one with it empty give the same key.
    Raises ``InputError`` for an unknown ``match``.
    """
    if match not in MATCHES:
        raise InputError(f"--match takes one of {', '.join(MATCHES)}, not {match!r}")
    model_col = "model" if match == "name" else "model_id"
    if frame.empty:
        return pd.Series([], index=frame.index, dtype=object)
    key = _text(frame[model_col]).fillna("?") if model_col in frame.columns else None
    if key is None:
        raise InputError(f"the runs have no {model_col!r} column to match models by")
    key = "model=" + key
    dataset = pd.Series(pd.NA, index=frame.index, dtype="string")
    for col in ("dataset_name", "dataset_sha256"):  # the content hash wins where known
        if col in frame.columns:
            dataset = _text(frame[col]).where(_text(frame[col]).notna(), dataset)
    parts = [(c, _text(frame[c])) for c in KEY_FIELDS if c in frame.columns]
    wanted = dim_columns(frame.columns) if dims is None else sorted(dims)
    parts += [(c, _text(frame[c])) for c in wanted if c in frame.columns]
    parts.append(("dataset", dataset))
    for name, values in parts:
        key = key + ("|" + name + "=" + values).fillna("")
    return key.astype(object)


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` oldest first (by ``started_at``, then run id)."""
    cols = [c for c in ("started_at", "run_id") if c in frame.columns]
    return frame.sort_values(cols, kind="stable", na_position="first") if cols else frame


def newest_per_config(frame: pd.DataFrame, keys: pd.Series) -> pd.DataFrame:
    """The newest run (latest ``started_at``; ties: the larger run id) of each key, with ``key``."""
    out = frame.assign(key=keys.to_numpy())
    return _ordered(out).drop_duplicates("key", keep="last").set_index("key", drop=False)


@dataclass(frozen=True)
class Matching:
    """Baseline and current runs paired by configuration: the newest of each side per key."""

    baseline: pd.DataFrame  # matched baseline runs, indexed by key (same order as ``current``)
    current: pd.DataFrame  # matched current runs, indexed by key
    only_baseline: pd.DataFrame  # newest baseline run of each key the current side lacks
    only_current: pd.DataFrame  # newest current run of each key the baseline lacks
    n_baseline_runs: int
    n_current_runs: int


def match_newest(baseline: pd.DataFrame, current: pd.DataFrame, match: Match = "name") -> Matching:
    """Pair the newest run of each configuration on both sides (successful runs only)."""
    sides = [f[f["status"] == "ok"] if "status" in f.columns else f for f in (baseline, current)]
    dims = sorted(set(dim_columns(sides[0].columns)) | set(dim_columns(sides[1].columns)))
    newest = [newest_per_config(f, config_keys(f, match, dims)) for f in sides]
    b, c = newest
    both = [k for k in b.index if k in c.index]
    return Matching(
        baseline=b.loc[both],
        current=c.loc[both],
        only_baseline=b[~b.index.isin(c.index)],
        only_current=c[~c.index.isin(b.index)],
        n_baseline_runs=len(sides[0]),
        n_current_runs=len(sides[1]),
    )


def previous_runs(frame: pd.DataFrame, keys: pd.Series) -> pd.Series:
    """For each run, the run id of the run of its configuration just before it (None if first).

    "Before" is by ``started_at`` (then run id); failed runs are skipped as
    predecessors (a failure has nothing to compare with). O(n log n).
    """
    ok = frame["status"].eq("ok").to_numpy() if "status" in frame.columns else None
    order = _ordered(frame.assign(_key=keys.to_numpy()))
    if ok is not None:
        order = order[order["status"] == "ok"]
    prev = order.groupby("_key", sort=False)["run_id"].shift(1)
    out = pd.Series(None, index=frame.index, dtype=object)
    out.loc[prev.index] = prev.astype(object).where(prev.notna(), None)
    if ok is not None:
        out[~ok] = None
    return out


def config_history(frame: pd.DataFrame, keys: pd.Series, run_id: str) -> pd.DataFrame:
    """The successful runs of ``run_id``'s configuration, oldest first (empty when unknown)."""
    ids = frame["run_id"].astype(str).to_numpy()
    hit = np.flatnonzero(ids == run_id)
    if hit.size == 0:
        return frame.iloc[0:0]
    same = (keys == keys.iloc[int(hit[0])]).to_numpy(dtype=bool)
    rows = frame[same]
    if "status" in rows.columns:
        rows = rows[rows["status"] == "ok"]
    return _ordered(rows)
