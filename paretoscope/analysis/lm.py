"""Causal language models on the dashboard (issue 15): default axes, empty views, phase figures.

``lm_default_view``: the Frontier's default axes are accuracy against latency;
a store whose runs have no accuracy but do have a perplexity (only language
models) gets perplexity against decode tokens/s instead, and only when the link
named neither axis (a link that names an axis is never changed; the page then
writes the chosen axes into the URL, so the link it shares is explicit).

``missing_metrics_text``: when a view draws nothing, which of its metrics no
run of the store has at all, and what to do about it.

``generation_rows``: a generating run's figures (prompt and generated length,
KV cache, tokens per second by phase, energy per token or why it is missing).

``lm_deltas``: decode tokens/s speed-up and perplexity change of runs against
a baseline (the Compare page).

Pure: pandas, no Streamlit, DuckDB or torch. O(n) in the runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from paretoscope.analysis.compare import same_items
from paretoscope.core.errors import InputError
from paretoscope.core.metrics import METRICS
from paretoscope.core.records import GenerationStats
from paretoscope.views import DEFAULT_X, DEFAULT_Y, FrontierView

__all__ = [
    "LM_DEFAULT_X",
    "LM_DEFAULT_Y",
    "LM_DELTA_COLUMNS",
    "LM_METRICS",
    "PERPLEXITY_NOT_COMPARABLE",
    "generation_rows",
    "has_values",
    "lm_companion",
    "lm_default_view",
    "lm_delta_columns",
    "lm_deltas",
    "lm_run_order",
    "missing_metrics_text",
]

LM_DEFAULT_X = "decode_tokens_per_s"
LM_DEFAULT_Y = "perplexity"
# The registry's language-model keys (only a causal-LM run has them).
LM_METRICS: frozenset[str] = frozenset(
    {
        "perplexity",
        "next_token_accuracy",
        *(f"{p}_ms_{q}" for p in ("ttft", "tpot") for q in ("p50", "p90", "p99")),
        "decode_tokens_per_s",
        "prefill_tokens_per_s",
        "kv_cache_mb",
        "energy_j_per_token",
    }
)
PERPLEXITY_NOT_COMPARABLE = "scored on another text than the baseline: perplexity not comparable"
# Fallbacks for x when a language-model store lacks decode tokens/s.
_LM_X_CHOICES = (LM_DEFAULT_X, "tpot_ms_p50", "ttft_ms_p50", DEFAULT_X)


def has_values(frame: pd.DataFrame, key: str) -> bool:
    """Whether any row of ``frame`` has a finite value of column ``key`` (absent: False)."""
    if key not in frame.columns:
        return False
    values = pd.to_numeric(frame[key], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    return bool(np.isfinite(values).any())


def lm_default_view(view: FrontierView, frame: pd.DataFrame, *, axes_named: bool) -> FrontierView:
    """``view``, or perplexity against decode tokens/s where that is the only sensible default.

    Changed only when the link named neither axis (``axes_named`` False), the
    view has the default axes, no run has an accuracy and some run has a
    perplexity. Other settings of the view are kept; a budget on the old x
    metric follows the new x.
    """
    if axes_named or (view.x, view.y) != (DEFAULT_X, DEFAULT_Y):
        return view
    if has_values(frame, DEFAULT_Y) or not has_values(frame, LM_DEFAULT_Y):
        return view
    x = next(k for k in _LM_X_CHOICES if k == DEFAULT_X or has_values(frame, k))
    bm = view.budget_metric if view.budget_metric not in (x, LM_DEFAULT_Y) else None
    return replace(view, x=x, y=LM_DEFAULT_Y, x_log=None, y_log=None, budget_metric=bm)


def missing_metrics_text(frame: pd.DataFrame, keys: Sequence[str]) -> str | None:
    """What to say when no run of ``frame`` (the whole store) has one of ``keys``; else None.

    Names the metrics no run has, and what would give them: a language-model
    metric needs a causal-LM run, an accuracy a run scored on labelled data.
    """
    absent = [k for k in dict.fromkeys(keys) if k in METRICS and not has_values(frame, k)]
    if not absent:
        return None
    names = ", ".join(METRICS[k].label for k in absent)
    one = len(absent) == 1
    text = f"No run in this store has {names}" + ("" if one else " (each missing everywhere)")
    text += ". Pick another metric for that axis"
    if any(k in LM_METRICS for k in absent):
        text += (
            ", or profile a causal language model: `paretoscope profile MODEL --task causal-lm` "
            "measures perplexity, next-token accuracy, TTFT, TPOT, tokens/s and KV-cache memory"
        )
        if has_values(frame, LM_DEFAULT_Y) and LM_DEFAULT_Y not in absent:
            text += " (this store's language models have them under other metrics)"
    elif any(k in ("accuracy", "accuracy_top5", "mae", "rmse") for k in absent):
        text += ", or profile with `--data` so that runs are scored on labelled data"
    return text + "."


def _fmt(value: float | None, spec: str, unit: str) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{format(value, spec)} {unit}"


def generation_rows(gen: GenerationStats, batch_size: int) -> list[tuple[str, str]]:
    """A generating run's figures as (what, value) rows, tokens/s as the registry defines them.

    ``decode_tokens_per_s`` = batch × 1000 / TPOT p50; ``prefill_tokens_per_s``
    = batch × prompt length × 1000 / the prefill's p50 (absent without it).
    """
    tpot = gen.tpot.p50_ms
    decode = batch_size * 1000.0 / tpot if tpot > 0 else None
    pre = gen.prefill_ms_p50
    prefill = batch_size * gen.prompt_len * 1000.0 / pre if pre and pre > 0 else None
    if gen.energy_j_per_token is not None:
        energy = _fmt(gen.energy_j_per_token, ".4g", "J")
    else:
        energy = f"unavailable: {gen.energy_unavailable_reason or 'no reason stored'}"
    source = {
        "data": "the evaluation text",
        "random": "random token ids (efficiency only)",
    }.get(gen.prompt_source, gen.prompt_source)
    return [
        ("Prompt length", f"{gen.prompt_len} tokens"),
        ("Generated length", f"{gen.gen_len} tokens"),
        ("Prompts from", source),
        ("Decode tokens/s", _fmt(decode, ".4g", "tokens/s")),
        ("Prefill tokens/s", _fmt(prefill, ".4g", "tokens/s")),
        ("Prefill p50", _fmt(pre, ".4g", "ms")),
        ("KV-cache memory", _fmt(gen.kv_cache_mb, ".4g", "MB")),
        ("Energy per token", energy),
    ]


def _num(frame: pd.DataFrame, key: str) -> pd.Series:
    if key not in frame.columns:
        return pd.Series(np.nan, index=frame.index, dtype=float)
    return pd.to_numeric(frame[key], errors="coerce").astype(float)


def lm_deltas(frame: pd.DataFrame, run_ids: Sequence[str], baseline: str) -> pd.DataFrame:
    """Decode tokens/s speed-up and perplexity change of each run against ``baseline``.

    One row per run of ``run_ids`` (in order): ``decode_tokens_per_s``,
    ``decode_speedup_x`` (run ÷ baseline, > 1 is faster), ``perplexity``,
    ``perplexity_delta`` (run − baseline) and ``perplexity_change_pct``
    (relative, %). NaN where either run lacks the metric; a perplexity is only
    compared with one scored on the same text (``same_items``), else
    ``perplexity_note`` says why. Raises ``InputError`` for an unknown run.
    """
    by_id = frame.set_index(frame["run_id"].astype(str), drop=False)
    missing = [r for r in [baseline, *run_ids] if r not in by_id.index]
    if missing:
        raise InputError(f"no stored run with id {', '.join(sorted(set(missing)))}")
    rows = by_id.loc[list(run_ids)]
    base = by_id[by_id.index == baseline].iloc[0]
    b_tps = float(_num(by_id[by_id.index == baseline], "decode_tokens_per_s").iloc[0])
    b_ppl = float(_num(by_id[by_id.index == baseline], "perplexity").iloc[0])
    tps, ppl = _num(rows, "decode_tokens_per_s"), _num(rows, "perplexity")
    out = pd.DataFrame(index=rows.index)
    out["run_id"] = rows["run_id"].astype(str)
    out["decode_tokens_per_s"] = tps
    out["decode_speedup_x"] = tps / b_tps if b_tps > 0 else np.nan
    comparable = pd.Series(
        [same_items(by_id[by_id.index == r].iloc[0], base) for r in run_ids],
        index=rows.index,
        dtype=bool,
    )
    out["perplexity"] = ppl
    out["perplexity_delta"] = (ppl - b_ppl).where(comparable)
    out["perplexity_change_pct"] = ((ppl / b_ppl - 1.0) * 100.0).where(comparable & (b_ppl > 0))
    has_ppl = ppl.notna() & np.isfinite(b_ppl)
    out["perplexity_note"] = np.where(has_ppl & ~comparable, PERPLEXITY_NOT_COMPARABLE, "")
    return out.reset_index(drop=True)


# lm_deltas column -> the Compare table's header.
LM_DELTA_COLUMNS: dict[str, str] = {
    "decode_tokens_per_s": "Decode tokens/s",
    "decode_speedup_x": "Decode speed-up (×)",
    "perplexity": "Perplexity",
    "perplexity_delta": "Δ perplexity",
    "perplexity_change_pct": "Δ perplexity (%)",
    "perplexity_note": "Perplexity note",
}


def lm_delta_columns(frame: pd.DataFrame, run_ids: Sequence[str], baseline: str) -> pd.DataFrame:
    """``lm_deltas`` without its run id, or an empty frame when no chosen run has either metric.

    The Compare table appends these columns only for language models, so a
    comparison of classifiers keeps its columns.
    """
    chosen = frame[frame["run_id"].astype(str).isin([baseline, *run_ids])]
    if not (has_values(chosen, "decode_tokens_per_s") or has_values(chosen, "perplexity")):
        return pd.DataFrame()
    return lm_deltas(frame, run_ids, baseline).drop(columns="run_id")


def lm_companion(frame: pd.DataFrame, view: FrontierView) -> tuple[int, dict[str, str]] | None:
    """Language-model runs a view of other metrics leaves out, and the query that shows them.

    None when the view has a language-model metric among its objectives or no
    run has a perplexity. Else (how many runs have a perplexity, the Frontier
    query for perplexity against decode tokens/s), so a store of classifiers
    and language models (the demo) offers both frontiers.
    """
    if view.sweep or set(view.objectives) & LM_METRICS or not has_values(frame, LM_DEFAULT_Y):
        return None
    n = int(pd.to_numeric(frame[LM_DEFAULT_Y], errors="coerce").notna().sum())
    x = next(k for k in _LM_X_CHOICES if k == DEFAULT_X or has_values(frame, k))
    return n, {"x": x, "y": LM_DEFAULT_Y}


def lm_run_order(frame: pd.DataFrame) -> list[str]:
    """Run ids of the language-model runs (a perplexity or a decode rate), fastest decode first.

    The Compare picker offers these after the classifiers' frontier and fastest
    runs, which a language model (no accuracy, no per-batch latency) is never among.
    """
    if not (has_values(frame, LM_DEFAULT_Y) or has_values(frame, LM_DEFAULT_X)):
        return []
    rate, ppl = _num(frame, LM_DEFAULT_X), _num(frame, LM_DEFAULT_Y)
    lm = frame[rate.notna() | ppl.notna()].assign(_rate=rate)
    lm = lm.sort_values("_rate", ascending=False, kind="stable", na_position="last")
    return lm["run_id"].astype(str).tolist()
