"""How each number is measured, as text and tables for the dashboard, true for every stored run.

The general procedure quotes ``TimingBudget``'s defaults; what a store holds
is described from its runs: the memory sources actually present (and why
some runs have no device memory), each run's own timing budget, stopping
reason, repeats and interval scope, and the data sets accuracy was scored
on. Strings from the store (hosts, reasons, sources of imported runs) go into
tables, never into Markdown. Pure: pandas, no Streamlit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from paretoscope.core.metrics import METRICS
from paretoscope.core.records import MEMORY_SOURCES, TimingBudget
from paretoscope.present.display import (
    MISSING,
    ci_scope_texts,
    memory_source_texts,
    run_origin_labels,
    texts,
)

__all__ = [
    "BUDGET_COLUMNS",
    "METHODOLOGY_SUMMARY",
    "budget_table",
    "dataset_table",
    "harness_markdown",
    "memory_table",
    "metrics_markdown",
    "run_facts",
    "store_summary",
]

_B = TimingBudget()

METHODOLOGY_SUMMARY = (
    f"Each run is measured in its own worker process: warm-up passes, then timed passes until "
    f"the 95% CI of the median is within its target (by default {_B.target_ci_rel:.0%}, at most "
    f"{_B.max_time_s:g} s; each run keeps its own budget); threads pinned; peak memory is "
    "device memory on a GPU and the process's resident set on a CPU, and each run names its "
    "source; accuracy carries a Wilson 95% interval; energy only from hardware counters. "
    "Hover a point for its host, device, runtime, origin and configuration."
)

# A run's timing budget (``RunSpec.budget``) as table columns: header -> budget field.
BUDGET_COLUMNS: dict[str, str] = {
    "Warm-up passes": "warmup_iters",
    "Min iterations": "min_iters",
    "Max iterations": "max_iters",
    "Min time (s)": "min_time_s",
    "Max time (s)": "max_time_s",
    "Target CI (± of the median)": "target_ci_rel",
}


_SCENARIOS = """- **Serving scenarios** (`profile --scenario`, as MLPerf's LoadGen names
  them), measured once a run in its worker process after its timing, on a
  session of their own, timing the end-to-end call (inputs from host
  memory, outputs back). *Single-stream* is the measurement above.
  *Offline* (`offline_throughput_per_s`) is the best throughput over batch
  sizes 1, 2, 4, ... (items over the mean latency of a short timed window
  each), stopping when two sizes in a row gain under 2%, at the largest
  size asked for (64 by default) or when a batch fails; the size reached
  is `offline_best_batch`. *Server* (`server_max_qps_at_p99`) sends
  one-item requests whose arrivals are a seeded Poisson process (open
  loop: a busy server does not slow the arrivals) to a server loop in the
  same thread that serves them first in, first out, one at a time or, with
  dynamic batching, up to a maximum batch, waiting at most a maximum delay
  for one to fill. A request's latency runs from its scheduled arrival to
  its completion, so queueing counts; how late the idle server woke for an
  arrival (clock and scheduler noise) is recorded and counted in the
  latency, never subtracted. Offered rates start at a tenth of the rate
  one request at a time sustains (30 timed requests) and step up (25%, 40%,
  ... 150%, then x1.25) until p99 exceeds the bound (`server_p99_bound_ms`,
  100 ms by default) or the queue explodes; each step is about 0.5 s of
  arrivals (100 to 10 000 requests, at most about 2 s). The highest rate
  that met the bound is measured again in three longer windows (about 1 s,
  up to 20 000 requests each) with other arrivals and reported only if it
  meets the bound in all three (else the next two lower ones are tried,
  then the lower rates by halves): near saturation one short window's p99
  varies several-fold.
  Runs are comparable only at the same bound; frontiers never pool them.
"""  # issue 16: offline and server scenarios
_GATE = """
- **Regression gate** (`paretoscope check`, and the marks in Runs and Run
  detail): runs are matched by configuration (model, runtime, device and its
  name, precision, batch, threads, dimensions, data set), never by run id.
  Median latency changes are tested as a ratio of medians whose 95% interval
  combines both runs' stored intervals on the log scale (between repeats where
  a run had several, which is what makes an unchanged re-measurement pass);
  throughput follows from it; accuracy uses Newcombe's interval of the
  difference, or McNemar's exact test on the same items; model size and
  parameters are exact. A regression is a significant worsening beyond the
  tolerance (default 5% for efficiency metrics, 0 for quality metrics);
  metrics without a stored interval (p90, p99, memory, energy) gate only when
  a tolerance names them."""


def harness_markdown() -> str:
    """The measuring procedure, as Markdown (fixed text: no value from a store)."""
    b = _B
    sources = "\n".join(f"  - `{key}`: {meaning}." for key, meaning in MEMORY_SOURCES.items())
    return f"""
Every run executes in its own **worker process**, with a time limit (and a
memory limit when one is set), so a crash, a hang or running out of memory
becomes a failed run with its reason (see the Runs page) instead of a dead
dashboard.

- **Threads are pinned**: PyTorch's `set_num_threads`, ONNX Runtime's
  `intra_op_num_threads` and `OMP_NUM_THREADS` are all set to the run's thread
  count, which is recorded with the run.
- **Warm-up**: untimed passes first ({b.warmup_iters} by default), so lazy
  initialisation, allocator growth and caches are not timed.
- **Adaptive iterations**: timed passes continue, each timed alone (around the
  pass and its device synchronisation), until the distribution-free
  **95% confidence interval of the median** (from order statistics) is within
  the run's target of the median, checked after its minimum passes and time, or
  until its maximum time or passes are spent. The default budget is a target of
  {b.target_ci_rel:.0%}, at least {b.min_iters} passes and {b.min_time_s:g} s, at
  most {b.max_time_s:g} s or {b.max_iters:,} passes; each run stores the budget it
  was given and the reason it stopped (tables above). The raw samples and 101
  quantiles are stored.
- **Repeats**: a run may be measured as several repeats, each in a fresh
  process. With one repeat the interval covers the spread **within one
  process** only; with several it covers the spread **between repeats**
  (their medians), which includes what changes from one process to the next.
  Each run's scope is shown beside its interval.
- **Peak memory** (`peak_mem_mb`) is one quantity per device: device memory on
  a GPU, for every runtime, and the measuring process's peak resident set on a
  CPU. Each run names its source (`peak_mem_source`):
{sources}

  A GPU run whose device memory was not measured has none, with the reason;
  it is never replaced by host memory. The host resident set of every run is
  `peak_host_mem_mb`.
- **Energy** comes only from a hardware counter (RAPL on CPU, NVML on GPU) over
  the timed window. Where none is readable the run stores *why*, and the
  dashboard shows "unavailable" with that reason — never a zero or an estimate.
- **Accuracy** is evaluated separately from timing, on a labelled data set
  named by its content hash and item count. Its **95% interval** is the Wilson
  score interval of the number of items scored right out of the items scored;
  per-item correctness is kept, so a variant and its parent scored on the same
  items get McNemar's exact test (Run detail). An accuracy copied from
  elsewhere (a model card) is labelled *reported* and drawn hollow with a
  dashed outline.
- **Language-model quality** (`perplexity`, `next_token_accuracy`) is scored
  on an evaluation text (yours, or a built-in one: Python's own topic
  documentation, held-out part), named by its content hash. The text is
  tokenized with the model's own tokenizer, without special tokens, and cut
  into consecutive, non-overlapping windows of the run's context length from
  the start; a last shorter window counts when it has at least 2 tokens. In
  each window every token after the first is predicted from the tokens before
  it in that window. Perplexity is exp of the mean negative log-likelihood
  over all predicted tokens; next-token accuracy is the fraction whose
  most likely prediction is right, with its Wilson 95% interval. Every
  variant (int8, fp16, ...) is scored again, never copied. Papers'
  perplexities use other windows and strides (a sliding window gives each
  token more context and a lower perplexity), other texts and other
  tokenizers: they are **not comparable** with these unless the convention,
  the text and the tokenizer match.
- **What a serving user pays**: the timed passes above run with the inputs
  already where the runtime wants them (bound on the GPU, outputs left there).
  Each run also records `load_ms`, session creation or model load until ready
  (ONNX Runtime's `InferenceSession`; torch's load or build, precision cast and
  move to the device; a CUDA context when the worker had none yet; not the
  library's import); `first_run_ms`, the first inference, cold, before any
  warm-up, from host inputs to host outputs and waited for on a GPU; and
  `latency_e2e_ms_p50` (p90, p99, and the median's interval) for a batch
  handed over from NumPy arrays in host memory with every output copied back
  to NumPy (ONNX Runtime's `run` with a NumPy feed, no IOBinding; torch's
  `from_numpy(...).to(device)` and `.cpu().numpy()`), timed by the host clock
  with the same harness and budget after the device-resident passes. On a
  GPU the gap between the two latencies is mostly the copies; on a CPU it is
  the hand-over and output copy. Energy covers the device-resident passes only.
{_SCENARIOS}- **Provenance**: host, device, runtime and its version, execution provider,
  threads, batch size, precision, times and origin (measured here or
  imported) are stored with every run and shown beside every number.{_GATE}
""".strip()


def metrics_markdown() -> str:
    """A Markdown table of the registry: key, label, unit, direction, definition."""
    rows = [
        "| Metric | Key | Unit | Better | How it is measured |",
        "| --- | --- | --- | --- | --- |",
    ]
    for m in METRICS.values():
        rows.append(f"| {m.label} | `{m.key}` | {m.unit} | {m.direction} | {m.description} |")
    return "\n".join(rows)


def store_summary(runs: pd.DataFrame) -> str:
    """How many runs the store's tables describe, where they came from, on how many hosts.

    Only counts: safe to render as Markdown.
    """
    n = len(runs)
    imported = int((runs["origin"] == "imported").sum()) if "origin" in runs.columns else 0
    hosts = runs["host_id"].nunique() if "host_id" in runs.columns else 0
    return (
        f"{n} run{'s' if n != 1 else ''} ({n - imported} measured here, {imported} imported) "
        f"on {hosts} host{'s' if hosts != 1 else ''}. The tables below describe every one "
        "of them as it was measured."
    )


def _budget(spec: Any) -> dict[str, Any]:
    """The budget of a stored spec (JSON text or dict); ``{}`` when it cannot be read."""
    try:
        data = json.loads(spec) if isinstance(spec, str) else spec
        budget = data.get("budget") if isinstance(data, dict) else None
    except ValueError:
        return {}
    return budget if isinstance(budget, dict) else {}


def run_facts(runs: pd.DataFrame, specs: Mapping[str, Any]) -> pd.DataFrame:
    """One row per run: where it ran, its memory source, budget, stop reason, repeats, CI scope.

    ``runs`` is a runs frame; ``specs`` maps run id to the run's stored spec
    (JSON or dict), whose ``budget`` gives the timing columns. A value the
    run did not store reads ``MISSING``.
    """
    out = pd.DataFrame(index=runs.index)
    out["Run"] = texts(runs, "run_id")
    out["Model"] = texts(runs, "model")
    out["Device"] = texts(runs, "device_name") + " (" + texts(runs, "device") + ")"
    out["Host"] = texts(runs, "host")
    out["Origin"] = run_origin_labels(runs)
    out["Memory source"] = memory_source_texts(runs)
    out["Repeats"] = texts(runs, "repeats")
    out["Latency CI scope"] = ci_scope_texts(runs)
    stop = "stop_reason" if "stop_reason" in runs.columns else "latency_stop_reason"
    out["Timing stopped by"] = texts(runs, stop)
    budgets = [_budget(specs.get(str(r))) for r in out["Run"]]
    for header, field in BUDGET_COLUMNS.items():
        out[header] = [_budget_text(b.get(field), field) for b in budgets]
    out["Data set"] = texts(runs, "dataset")
    return out.reset_index(drop=True)


def _budget_text(value: Any, field: str) -> str:
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return MISSING
    if field == "target_ci_rel":
        return f"{value:.1%}"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def budget_table(facts: pd.DataFrame) -> pd.DataFrame:
    """The distinct budgets among ``run_facts`` rows, each with its run count and stop reasons."""
    cols = [*BUDGET_COLUMNS, "Repeats"]
    if facts.empty:
        return pd.DataFrame(columns=[*cols, "Stopped by", "Runs"])
    rows = []
    for key, group in facts.groupby(cols, sort=True, dropna=False):
        counts = group["Timing stopped by"].value_counts()
        stopped = ", ".join(f"{reason} ({n})" for reason, n in counts.items())
        rows.append([*key, stopped, len(group)])
    return pd.DataFrame(rows, columns=[*cols, "Stopped by", "Runs"])


def memory_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per memory source present (and per reason device memory is missing): meaning, runs, devices.

    A CPU run's source is its resident set; a GPU run's is a device-memory
    source, or "unavailable" with the stored reason.
    """
    columns = ["Peak memory", "What it measures", "Runs", "Devices"]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    source = texts(runs, "peak_mem_source")
    reason = texts(runs, "peak_mem_unavailable_reason")
    device = texts(runs, "device_name") + " (" + texts(runs, "device") + ")"
    rows = []
    for key in sorted(set(source) - {MISSING}):
        mask = source == key
        rows.append(_memory_row(key, MEMORY_SOURCES.get(key, "not a known source"), mask, device))
    for why in sorted(set(reason[source == MISSING]) - {MISSING}):
        mask = (source == MISSING) & (reason == why)
        rows.append(_memory_row("unavailable", why, mask, device))
    neither = (source == MISSING) & (reason == MISSING)
    if bool(neither.any()):
        rows.append(_memory_row("not recorded", "no memory figure and no reason", neither, device))
    return pd.DataFrame(rows, columns=columns)


def _memory_row(what: str, meaning: str, mask: pd.Series, device: pd.Series) -> list[Any]:
    return [what, meaning, int(mask.sum()), ", ".join(sorted(set(device[mask])))]


def dataset_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Each data set accuracy was scored on: name, content hash, items, runs with an interval."""
    columns = ["Data set", "sha256", "Items scored", "Runs with accuracy", "With a 95% interval"]
    if runs.empty or "accuracy" not in runs.columns:
        return pd.DataFrame(columns=columns)
    scored = runs[pd.to_numeric(runs["accuracy"], errors="coerce").notna()]
    if scored.empty:
        return pd.DataFrame(columns=columns)
    keys = pd.DataFrame(
        {
            "name": texts(scored, "dataset_name"),
            "sha": texts(scored, "dataset_sha256"),
            "n": texts(scored, "accuracy_n"),
            "ci": pd.to_numeric(
                scored.get("accuracy_ci_low", pd.Series(index=scored.index, dtype=float)),
                errors="coerce",
            ).notna(),
        }
    )
    rows = [
        [name, sha, n, len(group), int(group["ci"].sum())]
        for (name, sha, n), group in keys.groupby(["name", "sha", "n"], sort=True)
    ]
    return pd.DataFrame(rows, columns=columns)
