"""One run, read closely: configuration and provenance as rows, and where its measurement is weak.

``measurement_warnings`` says, in words, why a number deserves less trust: a
wide confidence interval of the median, few timed iterations, high variance
or a heavy tail, a timing loop stopped by its time budget before its CI
target, an accuracy copied from elsewhere or measured on few samples.
Thresholds are the constants below. Pure: no Streamlit, DuckDB or torch.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from paretoscope.core.errors import InputError
from paretoscope.core.intervals import paired_test
from paretoscope.core.records import (
    AccuracyResult,
    RunRecord,
    TimingBudget,
    describe_memory_source,
)

__all__ = [
    "CI_REL_MAX",
    "CV_MAX",
    "MIN_ACCURACY_SAMPLES",
    "MIN_ITERS",
    "TAIL_RATIO_MAX",
    "accuracy_text",
    "budget_text",
    "config_rows",
    "header_rows",
    "measurement_warnings",
    "memory_text",
    "parent_candidates",
    "parent_comparison",
    "repeat_table",
    "scope_text",
    "sweep_text",
]

CI_REL_MAX = 0.05  # half-width of the median's 95% CI, relative to the median
MIN_ITERS = 30  # fewer timed iterations than this and the CI rests on few order statistics
CV_MAX = 0.25  # standard deviation over mean
TAIL_RATIO_MAX = 3.0  # p99 over p50
MIN_ACCURACY_SAMPLES = 200  # below this the 95% interval of a proportion is wider than ±7 points


def measurement_warnings(rec: RunRecord) -> list[str]:
    """One sentence per weakness of ``rec``'s measurement (empty when none is found)."""
    out: list[str] = []
    lat = rec.latency
    if lat is not None and lat.p50_ms > 0:
        half = (lat.ci_high_ms - lat.ci_low_ms) / 2.0
        if math.isfinite(half) and half / lat.p50_ms > CI_REL_MAX:
            out.append(
                f"Wide confidence interval: the median's 95% CI is ±{half / lat.p50_ms:.1%} "
                f"(over {CI_REL_MAX:.0%}); differences smaller than that are noise."
            )
        if lat.n_iter < MIN_ITERS:
            out.append(
                f"Few timed iterations ({lat.n_iter}, fewer than {MIN_ITERS}): the median "
                "and its interval rest on few samples."
            )
        if lat.mean_ms > 0 and lat.std_ms / lat.mean_ms > CV_MAX:
            out.append(
                f"High variance: the standard deviation is {lat.std_ms / lat.mean_ms:.0%} of "
                "the mean (other load on the host, frequency scaling, or a cold cache)."
            )
        if lat.p99_ms / lat.p50_ms > TAIL_RATIO_MAX:
            out.append(
                f"Heavy tail: p99 is {lat.p99_ms / lat.p50_ms:.1f}× the median; tail-latency "
                "budgets need more than the median."
            )
        target = rec.spec.budget.target_ci_rel
        # A loop kept running for another reason (e.g. a long enough energy
        # window) may stop at its limit with the CI already tight: no warning then.
        if lat.stop_reason != "ci_target" and not (half / lat.p50_ms <= target):
            out.append(
                f"The timing loop stopped at its {lat.stop_reason.replace('_', ' ')} limit "
                "before the CI reached its target width."
            )
    for acc in rec.accuracy:
        if acc.origin == "reported":
            out.append(
                f"Accuracy ({acc.metric}) was reported elsewhere, not measured here"
                + (f": {acc.note}" if acc.note else ".")
            )
        elif acc.n_samples < MIN_ACCURACY_SAMPLES and 0 <= acc.value <= 1:
            p, n = acc.value, max(acc.n_samples, 1)
            half = 1.96 * math.sqrt(max(p * (1 - p), 0.25 / n) / n)
            out.append(
                f"Accuracy measured on {acc.n_samples} samples: its 95% interval is about "
                f"±{half * 100:.1f} points."
            )
    return out


def config_rows(rec: RunRecord) -> list[tuple[str, str]]:
    """(what, value) rows: the run's configuration, host, device and provenance, as text."""
    spec = rec.spec
    rows = [
        ("Run", rec.run_id),
        ("Status", rec.status + (f" — {rec.error}" if rec.error else "")),
        ("Origin", rec.origin),
        ("Model", spec.model.name),
        ("Family", spec.model.family or "—"),
        ("Parent model", spec.model.parent_model_id or "—"),
        ("Transformation", spec.model.transformation or "—"),
        ("Artifact", f"{spec.artifact.format}, sha256 {spec.artifact.sha256[:16]}…"),
        ("Runtime", spec.runtime),
        ("Device", spec.device),
        ("Precision", spec.precision),
        ("Batch size", str(spec.batch_size)),
        ("Threads", str(spec.threads)),
        ("Started (UTC)", rec.started_at),
        ("Finished (UTC)", rec.finished_at),
    ]
    if spec.dataset is not None:
        ds = spec.dataset
        rows.append(("Dataset", f"{ds.name} ({ds.split}, {ds.n_samples} samples)"))
    if rec.host is not None:
        h = rec.host
        rows += [
            ("Host", f"{h.hostname} ({h.os}, host id {h.host_id[:12]})"),
            ("CPU", f"{h.cpu_model}, {h.cpu_cores_logical} logical cores"),
            ("Python", h.python_version),
        ]
    if rec.device is not None:
        rows.append(("Device name", rec.device.name or rec.device.kind))
    prov = rec.provenance
    if prov is not None:
        rows.append(("Runtime version", prov.runtime_version))
        rows.append(("Execution provider", prov.execution_provider or "—"))
        rows += [(f"Version of {k}", v) for k, v in sorted(prov.library_versions.items())]
        rows += [(f"Input {k}", "×".join(map(str, v))) for k, v in prov.input_shapes.items()]
        rows += [(f"Env {k}", v) for k, v in sorted(prov.env.items())]
        rows += [("Note", n) for n in prov.notes]
    lat = rec.latency
    if lat is not None:
        rows += [
            ("Timer", lat.timer),
            ("Warm-up iterations", str(lat.warmup_iter)),
            ("Timed iterations", f"{lat.n_iter} (stopped: {lat.stop_reason})"),
            ("Timed window (s)", f"{lat.total_time_s:.3g}"),
        ]
    if rec.energy is not None:
        en = rec.energy
        rows.append(("Energy source", en.source or f"unavailable: {en.unavailable_reason}"))
    return rows


def sweep_text(rec: RunRecord) -> str:
    """The run's symbolic-dimension values, e.g. ``seq=128, tokens=32``; ``—`` when none."""
    dims = rec.spec.dims
    return ", ".join(f"{k}={v}" for k, v in sorted(dims.items())) if dims else "—"


def budget_text(b: TimingBudget) -> str:
    """A timing budget in words: target, time and pass limits, warm-up."""
    return (
        f"CI target ±{b.target_ci_rel:.1%} of the median, {b.min_time_s:.3g}–{b.max_time_s:.3g} s, "
        f"{b.min_iters:,}–{b.max_iters:,} timed passes, {b.warmup_iters} warm-up"
    )


def scope_text(rec: RunRecord) -> str:
    """What the latency CI covers: ``within one process`` or ``between N repeats``."""
    lat = rec.latency
    if lat is None:
        return "—"
    n = len(lat.repeats) or rec.spec.repeats
    if lat.ci_scope == "between-repeats" and n > 1:
        return f"between {n} repeats (each in a fresh process)"
    return "within one process"


def memory_text(rec: RunRecord) -> str:
    """What ``peak_mem_mb`` measured (source and meaning), or why it is unavailable."""
    mem = rec.memory
    if mem is None:
        return "—"
    if mem.source:
        return describe_memory_source(mem.source)
    return f"unavailable: {mem.unavailable_reason or 'no reason stored'}"


# A causal language model's quality entries (issue 15) and their row labels.
_LM_QUALITY = {"perplexity": "Perplexity", "next_token_accuracy": "Next-token accuracy"}


def accuracy_text(acc: AccuracyResult) -> str:
    """An accuracy with its 95% interval and the items scored, e.g. ``0.9533 (95% CI …)``."""
    text = f"{acc.value:.4f}"
    if acc.ci_low is not None and acc.ci_high is not None:
        text += f" (95% CI {acc.ci_low:.4f}–{acc.ci_high:.4f}, Wilson)"
    # A language model's quality (issue 15) is over the text's predicted tokens.
    text += f" on {acc.n_samples} {'predicted tokens' if acc.metric in _LM_QUALITY else 'items'}"
    if acc.items:
        text += f" (items {acc.items})"
    return text + (" — reported, not measured here" if acc.origin == "reported" else "")


def header_rows(rec: RunRecord) -> list[tuple[str, str]]:
    """(what, value) rows atop Run detail: sweep, repeats, memory, budget, scope, accuracy.

    Plain text, to be shown as text (never Markdown).
    """
    spec, lat, mem = rec.spec, rec.latency, rec.memory
    rows = [
        ("Sweep values", sweep_text(rec)),
        (
            "Origin",
            "imported (measured elsewhere)" if rec.origin == "imported" else "measured here",
        ),
        ("Repeats", str(spec.repeats)),
        ("Latency CI scope", scope_text(rec)),
        ("Timing budget", budget_text(spec.budget)),
        ("Timing stopped by", lat.stop_reason if lat is not None else "—"),
        ("Memory source", memory_text(rec)),
    ]
    if mem is not None and mem.peak_host_mem_mb is not None:
        rows.append(("Peak host memory (MB)", f"{mem.peak_host_mem_mb:.4g}"))
    rows += [
        (_LM_QUALITY.get(a.metric, f"Accuracy ({a.metric})"), accuracy_text(a))
        for a in rec.accuracy
    ]
    return rows


def parent_candidates(runs: pd.DataFrame, rec: RunRecord) -> list[str]:
    """Run ids of the parent model's runs on ``rec``'s device and runtime (empty without a parent).

    ``runs`` is a runs frame (``model_id``, ``device``, ``runtime``, ``run_id``).
    """
    parent = rec.spec.model.parent_model_id
    if parent is None or runs.empty or not {"model_id", "device", "runtime"} <= set(runs.columns):
        return []
    mine = (
        (runs["model_id"] == parent)
        & (runs["device"] == rec.spec.device)
        & (runs["runtime"] == rec.spec.runtime)
    )
    return runs.loc[mine.fillna(False).astype(bool), "run_id"].astype(str).tolist()


def _paired_accuracy(rec: RunRecord) -> AccuracyResult | None:
    for acc in rec.accuracy:
        if acc.metric == "top1" and acc.origin == "measured" and acc.item_correct:
            return acc
    return None


def parent_comparison(rec: RunRecord, parents: Sequence[RunRecord]) -> str | None:
    """McNemar's exact test of ``rec`` against its parent model's run, as a sentence.

    The first of ``parents`` scored with per-item correctness on the same data
    set and the same items is used; None when there is none.
    """
    mine = _paired_accuracy(rec)
    if mine is None:
        return None
    for parent in parents:
        theirs = _paired_accuracy(parent)
        if theirs is None or theirs.dataset_id != mine.dataset_id or theirs.items != mine.items:
            continue
        try:
            test = paired_test(mine.item_correct or "", theirs.item_correct or "")
        except InputError:
            continue
        return test.sentence(rec.spec.model.name, parent.spec.model.name)
    return None


def repeat_table(rec: RunRecord) -> pd.DataFrame:
    """Each repeat's own latency statistics (one row per fresh process); empty with none kept."""
    lat = rec.latency
    columns = [
        "Repeat",
        "p50 (ms)",
        "95% CI low (ms)",
        "95% CI high (ms)",
        "Mean (ms)",
        "Timed iterations",
        "Timed window (s)",
        "Stopped by",
    ]
    if lat is None or not lat.repeats:
        return pd.DataFrame(columns=columns)
    return pd.DataFrame(
        [
            [i + 1, r.p50_ms, r.ci_low_ms, r.ci_high_ms, r.mean_ms, r.n_iter, r.total_time_s,
             r.stop_reason]
            for i, r in enumerate(lat.repeats)
        ],
        columns=columns,
    )  # fmt: skip
