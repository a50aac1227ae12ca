"""The rows the Frontier chart draws: which runs, and each with its tooltip's display strings.

Numbers stay numbers (the axes need them); provenance becomes text, with
``MISSING`` where unknown. Lineage segments ride in the same rows (``kind``
tells them apart), because the chart's data sits once at its top.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from paretoscope.analysis.selection import FrontierPoints
from paretoscope.core.metrics import METRICS
from paretoscope.present.display import (
    MISSING,
    ci_scope_texts,
    memory_source_texts,
    number_text,
    numbers,
    origin_label,
    run_origin_labels,
    started_text,
    texts,
)
from paretoscope.present.sampling import Thinned, thin_points

__all__ = ["drawn_points", "frontier_chart_data"]


def _keep_mask(fp: FrontierPoints, answers: Sequence[str]) -> np.ndarray:
    p = fp.points
    keep = p["on_frontier"].to_numpy(dtype=bool).copy()
    if "run_id" in p.columns:
        pinned = {*answers, *([fp.view.selected] if fp.view.selected else [])}
        if pinned:
            keep |= p["run_id"].astype(str).isin(pinned).to_numpy(dtype=bool)
    return keep


def drawn_points(fp: FrontierPoints, answers: Sequence[str] = ()) -> Thinned:
    """The runs the chart draws: all of them up to ``MAX_MARKS``, else frontier + a thinned rest.

    Frontier runs, budget answers (``answers``: run ids) and the selected run
    are always drawn. Hidden dominated runs (``dom=0``) are not drawn at all.
    """
    p = fp.points
    keep = _keep_mask(fp, answers)
    if not fp.view.show_dominated:
        return Thinned(fp.full_rows(p[keep]), 0)
    thinned = thin_points(p, fp.view.x, fp.view.y, keep, log_x=fp.log_x, log_y=fp.log_y)
    # The drawn runs' tooltips show their provenance: every column, for these rows only.
    return Thinned(fp.full_rows(thinned.rows), thinned.n_dropped)


def _provider(p: pd.DataFrame) -> pd.Series:
    ep = texts(p, "execution_provider")
    return ep.map(lambda v: "" if v == MISSING else f", {v}")


def _run_rows(fp: FrontierPoints, p: pd.DataFrame) -> pd.DataFrame:
    """The rows ``p`` (drawn runs) with display strings for the tooltip (numbers stay numbers)."""
    x, y = fp.view.x, fp.view.y
    out = pd.DataFrame(index=p.index)
    out["run_id"] = texts(p, "run_id")
    out["model"] = texts(p, "model")
    out["family"] = texts(p, "family")
    out["runtime"] = texts(p, "runtime")
    out["runtime_label"] = (
        out["runtime"] + " " + texts(p, "runtime_version") + _provider(p)
    ).str.strip()
    out["precision"] = texts(p, "precision")
    out["device_label"] = texts(p, "device_name") + " (" + texts(p, "device") + ")"
    out["host"] = texts(p, "host")
    out["batch_size"] = texts(p, "batch_size")
    out["threads"] = texts(p, "threads")
    out[x] = numbers(p, x)
    out[y] = numbers(p, y)
    for key in fp.view.z:
        out[key] = numbers(p, key)
    out["group"] = p["group"].astype(str) if "group" in p.columns else "all"
    if fp.view.facet is not None:
        out["facet"] = texts(p, fp.view.facet)
    out["origin"] = (
        p["accuracy_origin"].map(origin_label) if "accuracy_origin" in p.columns else MISSING
    )
    out["started"] = started_text(p)
    out["on_frontier"] = p["on_frontier"].astype(bool)
    for axis, key in (("x", x), ("y", y)):
        _interval_columns(out, p, axis, key)
    if "latency_n_iter" in p.columns:
        n_iter = texts(p, "latency_n_iter")
        stop = texts(p, "latency_stop_reason")
        out["iterations"] = [
            MISSING if n == MISSING else (f"{n} (stopped: {s})" if s != MISSING else n)
            for n, s in zip(n_iter, stop, strict=True)
        ]
    _trust_columns(out, fp, p)
    return out.reset_index(drop=True)


def _interval_columns(out: pd.DataFrame, p: pd.DataFrame, axis: str, key: str) -> None:
    """``<axis>_ci_low``/``_ci_high`` and the text ``<axis>_ci_label`` when ``key`` has an interval.

    A latency interval says what it covers (within one process, or between
    repeats); an accuracy interval names its item count (Wilson 95%).
    """
    ci_keys = METRICS[key].ci_keys
    if ci_keys is None:
        return
    lo, hi = numbers(p, ci_keys[0]), numbers(p, ci_keys[1])
    out[f"{axis}_ci_low"] = lo
    out[f"{axis}_ci_high"] = hi
    if key == "latency_ms_p50":
        notes = [" ms" if s == MISSING else f" ms ({s})" for s in ci_scope_texts(p)]
        fmt = ".4g"
    else:
        notes = [
            " (Wilson)" if n == MISSING else f" (Wilson, {n} items)" for n in texts(p, "accuracy_n")
        ]
        fmt = METRICS[key].fmt
    a, b = lo.to_numpy(float), hi.to_numpy(float)
    finite = (np.isfinite(a) & np.isfinite(b)).tolist()  # one array test, not one per row
    out[f"{axis}_ci_label"] = [
        f"{number_text(x, fmt)}–{number_text(y, fmt)}{note}" if ok else MISSING
        for x, y, note, ok in zip(a.tolist(), b.tolist(), notes, finite, strict=True)
    ]


def _trust_columns(out: pd.DataFrame, fp: FrontierPoints, p: pd.DataFrame) -> None:
    """Where each run came from, what its memory figure is, and whether it is within noise.

    ``noise_partner``/``noise_partner_model`` (a frontier run the data cannot
    tell apart from another run) are read when the points carry them.
    """
    out["run_origin"] = run_origin_labels(p)
    out["imported"] = (
        (p["origin"] == "imported").fillna(False).astype(bool) if "origin" in p.columns else False
    )
    if {"peak_mem_mb", "peak_host_mem_mb"} & set(fp.view.objectives):
        out["mem_source"] = memory_source_texts(p)
    out["within_noise"] = False
    if "noise_partner" not in p.columns:
        return  # the points were not tested for noise: say nothing either way
    on = out["on_frontier"].to_numpy(dtype=bool)
    within = p["noise_partner"].notna().to_numpy(dtype=bool) & on
    out["within_noise"] = within
    names = texts(
        p, "noise_partner_model" if "noise_partner_model" in p.columns else "noise_partner"
    )
    out["noise_label"] = [
        f"within noise of {name}"
        if w
        else ("distinguishable from the rest of its group" if f else MISSING)
        for w, f, name in zip(within, on, names, strict=True)
    ]


def _lineage_rows(fp: FrontierPoints, lineage: pd.DataFrame) -> pd.DataFrame:
    seg = pd.DataFrame(
        {
            "kind": "lineage",
            "lx": lineage["x"].to_numpy(),
            "ly": lineage["y"].to_numpy(),
            "lx2": lineage["x2"].to_numpy(),
            "ly2": lineage["y2"].to_numpy(),
            "group": lineage["group"].astype(str).to_numpy(),
        }
    )
    if fp.view.facet is not None and "facet" in lineage.columns:
        seg["facet"] = lineage["facet"].astype(str).to_numpy()
    return seg


def frontier_chart_data(
    fp: FrontierPoints,
    rows: pd.DataFrame,
    answers: Sequence[str] = (),
    lineage: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The chart's one data set: the drawn ``rows`` (``kind`` run), then any lineage segments.

    Run rows carry ``answer`` (a budget answer: run id in ``answers``) and
    ``selected``; lineage rows (``kind`` lineage; ``lx``/``ly`` to
    ``lx2``/``ly2``) come only when the view shows lineage.
    """
    data = _run_rows(fp, rows)
    data["kind"] = "run"
    data["answer"] = data["run_id"].isin(set(answers))
    data["selected"] = data["run_id"] == (fp.view.selected or "")
    if fp.view.lineage and lineage is not None and len(lineage):
        data = pd.concat([data, _lineage_rows(fp, lineage)], ignore_index=True)
    return data
