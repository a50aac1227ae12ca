"""How each number is measured, as text for the dashboard, generated from the metric registry.

The figures quoted (warm-up passes, CI target, time budget) are read from
``TimingBudget``'s defaults, so the text cannot drift from what the harness
does by default. Pure: no Streamlit.
"""

from __future__ import annotations

from paretoscope.core.metrics import METRICS
from paretoscope.core.records import TimingBudget

__all__ = ["METHODOLOGY_SUMMARY", "harness_markdown", "metrics_markdown"]

_B = TimingBudget()

METHODOLOGY_SUMMARY = (
    f"Each run is measured in its own worker process: {_B.warmup_iters} warm-up passes, then "
    f"timed passes until the 95% CI of the median is within {_B.target_ci_rel:.0%} of it "
    f"(at most {_B.max_time_s:g} s); threads pinned; peak memory from VmHWM; energy only "
    "from hardware counters. Hover a point for its host, device, runtime and configuration."
)


def harness_markdown() -> str:
    """The measuring procedure, as Markdown."""
    b = _B
    return f"""
Every run executes in its own **worker process**, with a time limit (and a
memory limit when one is set), so a crash, a hang or running out of memory
becomes a failed run with its reason (see the Runs page) instead of a dead
dashboard.

- **Threads are pinned**: PyTorch's `set_num_threads`, ONNX Runtime's
  `intra_op_num_threads` and `OMP_NUM_THREADS` are all set to the run's thread
  count, which is recorded with the run.
- **Warm-up**: {b.warmup_iters} untimed passes first, so lazy initialisation,
  allocator growth and caches are not timed.
- **Adaptive iterations**: timed passes continue, each timed alone with
  `time.perf_counter_ns` read around the pass and its device
  synchronisation, until the distribution-free **95% confidence interval of the median** (from
  order statistics) is within **{b.target_ci_rel:.0%}** of the median — checked
  after at least {b.min_iters} passes and {b.min_time_s:g} s — or until
  {b.max_time_s:g} s or {b.max_iters:,} passes are spent. The stopping reason,
  the iteration count, the raw samples and 101 quantiles are stored; the chart
  draws the CI as a bar when x is the median latency.
- **Peak memory** is the measuring process's peak resident set (`VmHWM` from
  `/proc/self/status`, else `ru_maxrss`), which includes the runtime itself; the resident set
  before the model was loaded is kept beside it. On a GPU it is peak allocated
  device memory.
- **Energy** comes only from a hardware counter (RAPL on CPU, NVML on GPU) over
  the timed window. Where none is readable the run stores *why*, and the
  dashboard shows "unavailable" with that reason — never a zero or an estimate.
- **Accuracy** is evaluated separately from timing, on the held-out labelled
  split. An accuracy copied from elsewhere (a model card) is labelled
  *reported* and drawn hollow with a dashed outline.
- **Provenance**: host, device, runtime and its version, execution provider,
  threads, batch size, precision and times are stored with every run and shown
  beside every number.
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
