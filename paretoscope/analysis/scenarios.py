"""A run's serving scenarios as tables and a latency-vs-load frame, for Run detail (issue 16).

Pure pandas; the chart is ``present.charts.serving``, the page ``ui.scenarios``.
"""

from __future__ import annotations

import math

import pandas as pd

from paretoscope.core.scenarios import OfflineStats, ServerStats

__all__ = [
    "lateness_warning",
    "offline_table",
    "server_curve",
    "server_summary",
    "server_table",
]


def server_curve(stats: ServerStats) -> pd.DataFrame:
    """Long form, one row per step and quantile: offered/achieved rate, ``quantile``, latency.

    Steps are in the order measured; confirmations (re-measurements of a
    candidate maximum with other arrivals) are marked ``confirm``.
    """
    rows = []
    for i, s in enumerate(stats.steps, start=1):
        for q, value in (("p50", s.p50_ms), ("p99", s.p99_ms)):
            if value is None or not math.isfinite(value):
                continue
            rows.append(
                {
                    "step": i,
                    "offered_qps": s.offered_qps,
                    "achieved_qps": s.achieved_qps,
                    "quantile": q,
                    "latency_ms": value,
                    "met": s.met,
                    "measurement": "re-measured" if s.confirm else "stepping up",
                    "n_requests": s.n_requests,
                }
            )
    columns = ["step", "offered_qps", "achieved_qps", "quantile", "latency_ms", "met",
               "measurement", "n_requests"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _ms(value: float | None) -> float | None:
    """Milliseconds to the microsecond; None (a figure stored as JSON null) stays None."""
    return None if value is None else round(value, 3)


def server_table(stats: ServerStats) -> pd.DataFrame:
    """Every step of the server scenario, as measured, with units in the headers."""
    return pd.DataFrame(
        [
            {
                "Offered (requests/s)": round(s.offered_qps, 1),
                "Achieved (requests/s)": round(s.achieved_qps, 1),
                "p50 (ms)": _ms(s.p50_ms),
                "p99 (ms)": _ms(s.p99_ms),
                "Requests": s.n_requests,
                "Served": s.n_served,
                "Met the bound": "yes" if s.met else "no",
                "Mean batch": round(s.mean_batch, 2),
                "Generator lateness p99 (ms)": _ms(s.lateness_ms_p99),
                "Re-measurement": "yes" if s.confirm else "",
                "Note": s.note,
            }
            for s in stats.steps
        ]
    )


def server_summary(stats: ServerStats) -> str:
    """One sentence: the maximum rate at the bound, or why there is none (plain text)."""
    batching = (
        f", dynamic batching up to {stats.max_batch} requests and {stats.max_delay_ms:g} ms"
        if stats.max_batch > 1
        else ", one request at a time"
    )
    if stats.max_qps_at_p99 is None:
        why = stats.unavailable_reason or "no rate met the bound"
        return f"Server scenario (p99 <= {stats.p99_bound_ms:g} ms{batching}): {why}."
    service = (
        f"; a request alone took {stats.service_ms_p50:.3g} ms (p50)"
        if stats.service_ms_p50 is not None
        else ""
    )
    return (
        f"Server scenario: at most {stats.max_qps_at_p99:.4g} requests/s with p99 <= "
        f"{stats.p99_bound_ms:g} ms{batching} (met when stepping, then in 3 longer windows "
        f"with other arrivals){service}. "
        f"Stepping stopped: {stats.stop_reason}."
    )


#: Generator lateness (p99 of a step, ms) above which Run detail warns.
LATE_MS = 1.0


def lateness_warning(stats: ServerStats) -> str | None:
    """A warning when the idle server woke late for arrivals (a busy machine), else None."""
    worst = max((s.lateness_ms_p99 for s in stats.steps), default=0.0)
    if worst <= LATE_MS:
        return None
    return (
        f"The server woke up to {worst:.3g} ms late for arrivals (p99 of a step): other load "
        "on the machine took its core. That delay is counted in every latency, so these "
        "figures are pessimistic; measure again on a quieter machine for a tighter maximum."
    )


def offline_table(stats: OfflineStats) -> pd.DataFrame:
    """Throughput per batch size of the offline scenario, the best marked."""
    return pd.DataFrame(
        [
            {
                "Batch": p.batch_size,
                "Throughput (items/s)": round(p.throughput_per_s, 1),
                "Latency p50 (ms)": _ms(p.latency_ms_p50),
                "Latency mean (ms)": _ms(p.latency_ms_mean),
                "Timed batches": p.n_iter,
                "Best": "yes" if p.batch_size == stats.best_batch else "",
            }
            for p in stats.points
        ]
    )
