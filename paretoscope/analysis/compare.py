"""Comparisons of runs: deltas against a baseline run, and how a frontier shifts between groups.

``delta_table``: side by side, each run against the baseline: speed-up as a
ratio of median latencies (baseline / run, so > 1 is faster), accuracy change
in percentage points, memory and size as ratios (run / baseline). An accuracy
is only compared with one scored on the same data set and items
(``same_items``): otherwise the change is empty and ``accuracy_note`` says why.
``paired_accuracy`` gives McNemar's exact test for runs scored on the
baseline's items with per-item correctness.

``frontier_shift``: two groups of one field (fp32 against int8, CPU against
GPU, PyTorch against ONNX Runtime). Runs are matched across the groups by
their *counterpart key*: the lineage root of the model (the parent for a
variant, else the model itself) and every configuration field except the one
compared (and the device name and data set, unless the field compared is
the device or the data set, so runs of two machines or two evaluation sets
are never matched or ranked together). Each key is then on or off its
group's frontier ("moves onto",
"moves off", "stays on", "off in both", or present in one group only; one
frontier per batch size, as on the Frontier page, unless batch size is what
is compared), and ranked within each group by the x metric (1 = best), so rank changes across
devices read directly.

Pure: pandas and the frontier. O(n log n).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from paretoscope.analysis.frontier import frontier_mask
from paretoscope.core.errors import InputError
from paretoscope.core.intervals import paired_test
from paretoscope.core.metrics import metric

__all__ = [
    "CONFIG_FIELDS",
    "NOT_COMPARABLE",
    "FrontierShift",
    "counterpart_keys",
    "delta_table",
    "frontier_shift",
    "paired_accuracy",
    "same_items",
]

NOT_COMPARABLE = "scored on another data set than the baseline: accuracy not comparable"
# Fields that keep runs of different machines and evaluation sets apart in a shift.
_SEPARATE = ("device_name", "dataset")
# Comparing across one of these already compares machines: the device name goes with it.
_MACHINE_FIELDS = frozenset({"device", "device_name", "host", "host_id"})

# Fields that make two runs of one model different measurements.
CONFIG_FIELDS: tuple[str, ...] = ("runtime", "device", "precision", "batch_size", "threads")


def _num(frame: pd.DataFrame, key: str) -> pd.Series:
    if key not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[key], errors="coerce").astype(float)


def _scalar(row: pd.Series, key: str) -> float:
    try:
        value = float(row[key])
    except (KeyError, TypeError, ValueError):
        return float("nan")
    return value


def delta_table(frame: pd.DataFrame, run_ids: Sequence[str], baseline: str) -> pd.DataFrame:
    """One row per run of ``run_ids`` (in that order) with its deltas against ``baseline``.

    Ratios and deltas are NaN where either run lacks the metric: never a
    made-up value. Raises ``InputError`` when the baseline or a run is not in
    ``frame``.
    """
    by_id = frame.set_index(frame["run_id"].astype(str), drop=False)
    missing = [r for r in [baseline, *run_ids] if r not in by_id.index]
    if missing:
        raise InputError(f"no stored run with id {', '.join(sorted(set(missing)))}")
    rows = by_id.loc[list(run_ids)]
    base = by_id[by_id.index == baseline].iloc[0]
    lat, acc = _num(rows, "latency_ms_p50"), _num(rows, "accuracy")
    mem, size = _num(rows, "peak_mem_mb"), _num(rows, "model_size_mb")
    b_lat, b_acc, b_mem, b_size = (
        _scalar(base, k) for k in ("latency_ms_p50", "accuracy", "peak_mem_mb", "model_size_mb")
    )
    out = pd.DataFrame(index=rows.index)
    out["run_id"] = rows["run_id"].astype(str)
    out["baseline"] = out["run_id"] == baseline
    for col in ("model", "family", *CONFIG_FIELDS, "accuracy_origin"):
        out[col] = rows[col] if col in rows.columns else pd.NA
    out["latency_ms_p50"] = lat
    out["speedup_x"] = b_lat / lat.where(lat > 0)
    out["accuracy"] = acc
    comparable = pd.Series(
        [same_items(_row(by_id, r), base) for r in run_ids], index=rows.index, dtype=bool
    )
    out["accuracy_delta_pts"] = ((acc - b_acc) * 100.0).where(comparable)
    out["accuracy_note"] = np.where(comparable, "", NOT_COMPARABLE)
    out["peak_mem_mb"] = mem
    out["mem_ratio_x"] = mem / b_mem if b_mem > 0 else np.nan
    out["model_size_mb"] = size
    out["size_ratio_x"] = size / b_size if b_size > 0 else np.nan
    out["throughput_per_s"] = _num(rows, "throughput_per_s")
    return out.reset_index(drop=True)


def _row(by_id: pd.DataFrame, run_id: str) -> pd.Series:
    """The first row of ``by_id`` (indexed by run id) with ``run_id``."""
    return by_id[by_id.index == run_id].iloc[0]


def _text(row: pd.Series, key: str) -> str | None:
    value = row.get(key)
    return None if value is None or pd.isna(value) else str(value)


def same_items(a: pd.Series, b: pd.Series) -> bool:
    """Whether two runs' accuracies were scored on the same data set and the same items.

    By content hash and item range (``dataset_sha256``, ``accuracy_items``)
    where the rows have them, else by the ``dataset`` label. Two runs without
    a data set (e.g. accuracies reported from a model card) compare as before.
    """
    if _text(a, "dataset_sha256") or _text(b, "dataset_sha256"):
        return _text(a, "dataset_sha256") == _text(b, "dataset_sha256") and _text(
            a, "accuracy_items"
        ) == _text(b, "accuracy_items")
    return _text(a, "dataset") == _text(b, "dataset")


def paired_accuracy(
    frame: pd.DataFrame,
    run_ids: Sequence[str],
    baseline: str,
    item_correct: Mapping[str, str | None],
    names: Mapping[str, str],
) -> list[str]:
    """McNemar's exact test of each run against the baseline, or why there is none, as sentences.

    ``item_correct`` maps run id -> per-item correctness ('1'/'0' per item) of
    its top-1 accuracy (None when not stored); ``names`` the runs' labels. A
    run scored on other items than the baseline is said to be not comparable.
    Runs without an accuracy, and the baseline itself, get no sentence.
    """
    by_id = frame.set_index(frame["run_id"].astype(str), drop=False)
    if baseline not in by_id.index:
        return []
    base = _row(by_id, baseline)
    out: list[str] = []
    for run in run_ids:
        if run == baseline or run not in by_id.index:
            continue
        row = _row(by_id, run)
        if pd.isna(row.get("accuracy")) or pd.isna(base.get("accuracy")):
            continue
        a, b = names.get(run, run), names.get(baseline, baseline)
        if not same_items(row, base):
            out.append(
                f"{a} vs {b}: scored on different data sets ({_text(row, 'dataset') or 'none'} "
                f"vs {_text(base, 'dataset') or 'none'}), so their accuracies are not comparable."
            )
            continue
        mine, theirs = item_correct.get(run), item_correct.get(baseline)
        if not mine or not theirs or len(mine) != len(theirs):
            continue
        out.append(paired_test(mine, theirs).sentence(a, b))
    return out


def counterpart_keys(frame: pd.DataFrame, field: str) -> pd.Series:
    """Each run's counterpart key when comparing across ``field`` (see the module docstring)."""
    root = (
        frame["parent_model_id"].where(frame["parent_model_id"].notna(), frame["model_id"])
        if {"parent_model_id", "model_id"} <= set(frame.columns)
        else frame.get("model", pd.Series("", index=frame.index))
    )
    key = root.astype("string").fillna("?")
    machine = field in _MACHINE_FIELDS
    separate = [f for f in _SEPARATE if f != field and not (f == "device_name" and machine)]
    for col in (*CONFIG_FIELDS, *separate):
        if col != field and col in frame.columns:
            key = key + "|" + frame[col].astype("string").fillna("?")
    return key.astype(object)


@dataclass(frozen=True)
class FrontierShift:
    """The shift table (one row per counterpart key) and the per-group frontier counts."""

    table: pd.DataFrame
    field: str
    a: str
    b: str
    n_on_a: int
    n_on_b: int

    def count(self, change: str) -> int:
        return int((self.table["change"] == change).sum()) if len(self.table) else 0


def _ranked(group: pd.DataFrame, x: str, field: str) -> pd.Series:
    """Ranks by ``x`` (1 = best) within each device name and data set of ``group``."""
    vals = _num(group, x) * metric(x).sign
    parts = [f for f in _SEPARATE if f != field and f in group.columns]
    if not parts:
        return vals.rank(method="min", na_option="keep")
    keys = [group[f].astype("string").fillna("<none>") for f in parts]
    return vals.groupby(keys, dropna=False).rank(method="min", na_option="keep")


def frontier_shift(
    frame: pd.DataFrame, field: str, a: str, b: str, metrics: Sequence[str]
) -> FrontierShift:
    """How the frontier over ``metrics`` changes from ``field == a`` to ``field == b``.

    Ranks are by ``metrics[0]``. Raises ``InputError`` for an unknown metric or
    field, or ``a == b``.
    """
    for m in metrics:
        metric(m)
    if field not in frame.columns and len(frame):
        raise InputError(f"the runs have no field {field!r}")
    if a == b:
        raise InputError(f"choose two different values of {field} to compare")
    values = frame[field].astype("string") if len(frame) else pd.Series(dtype="string")
    parts = []
    counts = []
    for label, value in (("a", a), ("b", b)):
        group = frame[(values == value).fillna(False).to_numpy(dtype=bool)]
        # One frontier per batch size, as on the Frontier page: latency is per batch.
        by = "batch_size" if field != "batch_size" and "batch_size" in group.columns else None
        on = frontier_mask(group, list(metrics), by=by) if len(group) else pd.Series(dtype=bool)
        counts.append(int(on.sum()))
        part = pd.DataFrame(
            {
                "key": counterpart_keys(group, field) if len(group) else pd.Series(dtype=object),
                "run_id": group.get("run_id", pd.Series(dtype=object)).astype(str),
                "model": group.get("model", pd.Series(dtype=object)),
                "on": on.astype(bool),
                "rank": _ranked(group, metrics[0], field) if len(group) else pd.Series(dtype=float),
                "x": _num(group, metrics[0]),
            }
        )
        # Repeated measurements of one key: keep the best-ranked (then on-frontier) run.
        part = part.sort_values(["rank", "on"], ascending=[True, False], na_position="last")
        part = part.drop_duplicates("key").set_index("key")
        parts.append(part.add_suffix(f"_{label}"))
    table = parts[0].join(parts[1], how="outer")
    on_a = table["on_a"].astype("boolean")
    on_b = table["on_b"].astype("boolean")
    change = np.select(
        [
            on_a.isna().to_numpy(dtype=bool),
            on_b.isna().to_numpy(dtype=bool),
            (on_a & on_b).fillna(False).to_numpy(dtype=bool),
            (~on_a & on_b).fillna(False).to_numpy(dtype=bool),
            (on_a & ~on_b).fillna(False).to_numpy(dtype=bool),
        ],
        [f"only in {b}", f"only in {a}", "stays on", "moves onto", "moves off"],
        default="off in both",
    )
    table["change"] = change
    table["rank_change"] = table["rank_a"] - table["rank_b"]  # > 0: better ranked in b
    table["model"] = table["model_a"].fillna(table["model_b"])
    order = {"moves onto": 0, "moves off": 1, "stays on": 2}
    table["_o"] = table["change"].map(order).fillna(3)
    table = table.sort_values(["_o", "rank_b", "rank_a"], na_position="last").drop(columns="_o")
    cols = ["model", "change", "run_id_a", "run_id_b", "on_a", "on_b", "x_a", "x_b"]
    cols += ["rank_a", "rank_b", "rank_change"]
    return FrontierShift(table.reset_index()[[*cols, "key"]], field, a, b, counts[0], counts[1])
