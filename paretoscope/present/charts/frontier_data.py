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
from paretoscope.present.display import (
    MISSING,
    number_text,
    numbers,
    origin_label,
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
        return Thinned(p[keep], 0)
    return thin_points(p, fp.view.x, fp.view.y, keep, log_x=fp.log_x, log_y=fp.log_y)


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
    if x == "latency_ms_p50":
        lo = numbers(p, "latency_ms_p50_ci_low")
        hi = numbers(p, "latency_ms_p50_ci_high")
        out["ci_low"] = lo
        out["ci_high"] = hi
        out["ci_label"] = [
            f"{number_text(a, '.4g')}–{number_text(b, '.4g')} ms"
            if np.isfinite([a, b]).all()
            else MISSING
            for a, b in zip(lo.to_numpy(float), hi.to_numpy(float), strict=True)
        ]
    if "latency_n_iter" in p.columns:
        n_iter = texts(p, "latency_n_iter")
        stop = texts(p, "latency_stop_reason")
        out["iterations"] = [
            MISSING if n == MISSING else (f"{n} (stopped: {s})" if s != MISSING else n)
            for n, s in zip(n_iter, stop, strict=True)
        ]
    return out.reset_index(drop=True)


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
