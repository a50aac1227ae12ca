"""The metric registry: each metric's key, label, unit and direction.

The chart axes, the frontier, the command line and the docs all read this one
table. Keys carry their unit (``latency_ms_p50``) and are a public contract:
users' scripts pass them to ``paretoscope frontier --x``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from paretoscope.core.errors import InputError

__all__ = ["METRICS", "Direction", "Metric", "metric", "metric_keys"]

Direction = Literal["higher", "lower"]


@dataclass(frozen=True)
class Metric:
    """One measurable quantity of a run."""

    key: str
    label: str
    unit: str
    direction: Direction
    description: str
    log_scale_default: bool = False
    fmt: str = ".3g"
    # Columns holding this metric's 95% interval, where it has one: error bars
    # and the "within noise" test read them.
    ci_keys: tuple[str, str] | None = None

    @property
    def axis_title(self) -> str:
        """Axis title with its unit and direction, e.g. ``Latency p50 (ms, lower is better)``."""
        unit = f"{self.unit}, " if self.unit else ""
        return f"{self.label} ({unit}{self.direction} is better)"

    @property
    def sign(self) -> int:
        """+1 when lower is better, -1 when higher is better: multiply to minimise."""
        return 1 if self.direction == "lower" else -1


_ALL: tuple[Metric, ...] = (
    Metric(
        "accuracy",
        "Accuracy",
        "fraction",
        "higher",
        "Top-1 accuracy on the held-out labelled split, as a fraction in [0, 1]; its 95% "
        "interval (Wilson, from the item count) is accuracy_ci_low/accuracy_ci_high.",
        fmt=".4f",
        ci_keys=("accuracy_ci_low", "accuracy_ci_high"),
    ),
    Metric(
        "latency_ms_p50",
        "Latency p50",
        "ms",
        "lower",
        "Median wall-clock time of one forward pass of one batch; its 95% interval is "
        "latency_ms_p50_ci_low/latency_ms_p50_ci_high (within one process, or between "
        "repeats in fresh processes: latency_ci_scope says which).",
        log_scale_default=True,
        ci_keys=("latency_ms_p50_ci_low", "latency_ms_p50_ci_high"),
    ),
    Metric(
        "latency_ms_p90",
        "Latency p90",
        "ms",
        "lower",
        "90th percentile of one forward pass of one batch.",
        log_scale_default=True,
    ),
    Metric(
        "latency_ms_p99",
        "Latency p99",
        "ms",
        "lower",
        "99th percentile of one forward pass of one batch.",
        log_scale_default=True,
    ),
    Metric(
        "latency_ms_mean",
        "Latency mean",
        "ms",
        "lower",
        "Mean time of one forward pass of one batch.",
        log_scale_default=True,
    ),
    Metric(
        "throughput_per_s",
        "Throughput",
        "items/s",
        "higher",
        "Items per second: batch size divided by the median batch latency.",
        log_scale_default=True,
    ),
    Metric(
        "peak_mem_mb",
        "Peak memory",
        "MB",
        "lower",
        "Peak memory of the device the run used, in MB (10^6 bytes): device memory on a GPU "
        "(every runtime), the measuring process's peak resident set on a CPU. "
        "peak_mem_source names what was measured.",
    ),
    Metric(
        "model_size_mb",
        "Model size",
        "MB",
        "lower",
        "Size of the model artifact on disk, in MB (10^6 bytes).",
        log_scale_default=True,
    ),
    Metric(
        "params",
        "Parameters",
        "count",
        "lower",
        "Number of parameters (weights and biases) in the model.",
        log_scale_default=True,
        fmt=",.0f",
    ),
    Metric(
        "energy_j_per_item",
        "Energy per item",
        "J",
        "lower",
        "Energy from a hardware counter over the timed window, divided by the "
        "items processed. Unavailable (null, with a reason) where no counter exists.",
        log_scale_default=True,
    ),
    Metric(
        "accuracy_top5",
        "Top-5 accuracy",
        "fraction",
        "higher",
        "Top-5 accuracy on the labelled evaluation set, as a fraction in [0, 1]; only for "
        "classifiers with more than 5 classes.",
        fmt=".4f",
    ),
    Metric(
        "mae",
        "MAE",
        "label units",
        "lower",
        "Mean absolute error of a regression model on the labelled evaluation set, in the "
        "labels' units.",
    ),
    Metric(
        "rmse",
        "RMSE",
        "label units",
        "lower",
        "Root mean squared error of a regression model on the labelled evaluation set, in the "
        "labels' units.",
    ),
    Metric(
        "peak_host_mem_mb",
        "Peak host memory",
        "MB",
        "lower",
        "Peak resident set of the measuring process on the host, in MB (10^6 bytes), on "
        "every run (CPU or GPU); it includes the runtime itself.",
    ),
    # Issue 14: what a serving user pays besides the device-resident forward pass.
    Metric(
        "load_ms",
        "Load time",
        "ms",
        "lower",
        "Time from the start of session creation or model load until the model is ready to "
        "run: ONNX Runtime's InferenceSession creation; torch's load or build, precision "
        "cast and move to the device. The runtime library's import is not included.",
        log_scale_default=True,
    ),
    Metric(
        "first_run_ms",
        "First run",
        "ms",
        "lower",
        "The first inference of one batch, cold (before any warm-up), inputs from and "
        "outputs to host memory, waited for to the end on a GPU.",
        log_scale_default=True,
    ),
    Metric(
        "latency_e2e_ms_p50",
        "End-to-end latency p50",
        "ms",
        "lower",
        "Median time of one batch as an application sees it: inputs handed over from NumPy "
        "arrays in host memory (copied to the device on a GPU) and every output copied back "
        "to NumPy; host clock, same harness and budget as latency_ms_p50, timed after it. "
        "Its 95% interval is latency_e2e_ms_p50_ci_low/latency_e2e_ms_p50_ci_high.",
        log_scale_default=True,
        ci_keys=("latency_e2e_ms_p50_ci_low", "latency_e2e_ms_p50_ci_high"),
    ),
    Metric(
        "latency_e2e_ms_p90",
        "End-to-end latency p90",
        "ms",
        "lower",
        "90th percentile of one batch end to end (inputs from host memory, outputs back).",
        log_scale_default=True,
    ),
    Metric(
        "latency_e2e_ms_p99",
        "End-to-end latency p99",
        "ms",
        "lower",
        "99th percentile of one batch end to end (inputs from host memory, outputs back).",
        log_scale_default=True,
    ),
    # Causal language models (issue 15): quality on the user's text, generation by phase.
    Metric(
        "perplexity",
        "Perplexity",
        "",
        "lower",
        "exp of the mean negative log-likelihood of every predicted token of the evaluation "
        "text, cut into consecutive non-overlapping windows of the run's context length "
        "(Methodology: papers' perplexities use other windows and are not comparable unless "
        "the convention matches).",
        log_scale_default=True,
        fmt=".4g",
    ),
    Metric(
        "next_token_accuracy",
        "Next-token accuracy",
        "fraction",
        "higher",
        "Fraction of the evaluation text's predicted tokens whose arg-max prediction is right, "
        "same windows as perplexity.",
        fmt=".4f",
    ),
    Metric(
        "ttft_ms_p50",
        "TTFT p50",
        "ms",
        "lower",
        "Time to first token: prompt submitted to the first new token (prefill plus one "
        "token), median over generate calls.",
        log_scale_default=True,
    ),
    Metric(
        "ttft_ms_p90",
        "TTFT p90",
        "ms",
        "lower",
        "90th percentile of time to first token.",
        log_scale_default=True,
    ),
    Metric(
        "ttft_ms_p99",
        "TTFT p99",
        "ms",
        "lower",
        "99th percentile of time to first token.",
        log_scale_default=True,
    ),
    Metric(
        "tpot_ms_p50",
        "TPOT p50",
        "ms",
        "lower",
        "Time per output token: one decode step (a new token for every sequence of the "
        "batch) with the KV cache, median over decode steps.",
        log_scale_default=True,
    ),
    Metric(
        "tpot_ms_p90",
        "TPOT p90",
        "ms",
        "lower",
        "90th percentile of time per output token.",
        log_scale_default=True,
    ),
    Metric(
        "tpot_ms_p99",
        "TPOT p99",
        "ms",
        "lower",
        "99th percentile of time per output token.",
        log_scale_default=True,
    ),
    Metric(
        "decode_tokens_per_s",
        "Decode tokens/s",
        "tokens/s",
        "higher",
        "Tokens generated per second during decode: batch × 1000 / tpot_ms_p50.",
        log_scale_default=True,
    ),
    Metric(
        "prefill_tokens_per_s",
        "Prefill tokens/s",
        "tokens/s",
        "higher",
        "Prompt tokens processed per second: batch × prompt length × 1000 / prefill time.",
        log_scale_default=True,
    ),
    Metric(
        "kv_cache_mb",
        "KV-cache memory",
        "MB",
        "lower",
        "Bytes of the key/value cache tensors held after the last decode step, in MB (10^6).",
        log_scale_default=True,
    ),
    Metric(
        "energy_j_per_token",
        "Energy per token",
        "J",
        "lower",
        "Energy from a hardware counter over generate calls divided by the tokens generated. "
        "Unavailable (null, with a reason) where no counter covers the window.",
        log_scale_default=True,
    ),
    # Issue 16: serving scenarios as MLPerf names them (``profile --scenario``).
    Metric(
        "offline_throughput_per_s",
        "Offline throughput",
        "items/s",
        "higher",
        "Offline scenario: the best throughput over batch sizes 1, 2, 4, ... (items over the "
        "mean end-to-end latency of a batch); the batch it was reached at is "
        "offline_best_batch.",
        log_scale_default=True,
    ),
    Metric(
        "server_max_qps_at_p99",
        "Server max rate at p99",
        "requests/s",
        "higher",
        "Server scenario: the highest offered rate of one-item requests with Poisson arrivals "
        "whose p99 latency (queueing included) met the bound in server_p99_bound_ms when "
        "stepping and in three longer re-measurements with other arrivals. Compare runs at "
        "the same bound.",
        log_scale_default=True,
    ),
)

METRICS: dict[str, Metric] = {m.key: m for m in _ALL}


def metric(key: str) -> Metric:
    """Return the registered metric ``key``; raise ``InputError`` naming the valid keys."""
    try:
        return METRICS[key]
    except KeyError:
        raise InputError(f"unknown metric {key!r}; choose one of: {', '.join(METRICS)}") from None


def metric_keys() -> list[str]:
    """All metric keys, in registry order."""
    return list(METRICS)
