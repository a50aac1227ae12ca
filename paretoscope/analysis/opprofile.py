"""A run's per-operator profile as a table and a sentence: where its time goes, by operator.

Pure: no Streamlit, DuckDB or torch. Operator names come from the user's
model; the table and the chart show them as data (cells, axis labels),
never as Markdown.
"""

from __future__ import annotations

import pandas as pd

from paretoscope.core.records import OpProfile

__all__ = ["OP_COLUMNS", "op_caption", "op_table"]

OP_COLUMNS: tuple[str, ...] = (
    "Rank",
    "Operator",
    "Calls",
    "Total (ms)",
    "Per inference (ms)",
    "Share (%)",
)


def op_table(profile: OpProfile) -> pd.DataFrame:
    """One row per operator, largest share first: ``OP_COLUMNS``.

    ``Calls`` and ``Total (ms)`` are over the profiled pass; ``Per inference
    (ms)`` divides the total by its iterations; ``Share (%)`` is of all
    operator time. The last row may stand for the rest of the operators.
    """
    n = max(profile.iterations, 1)
    rows = [
        (rank, op.op, op.calls, op.total_ms, op.total_ms / n, 100.0 * op.share)
        for rank, op in enumerate(profile.ops, start=1)
    ]
    return pd.DataFrame(rows, columns=list(OP_COLUMNS))


def op_caption(profile: OpProfile) -> str:
    """How the profile was made, in one paragraph of plain text."""
    total = sum(op.total_ms for op in profile.ops)
    per = total / max(profile.iterations, 1)
    rest = f"; the last row is the other {profile.others} operators" if profile.others else ""
    return (
        f"Measured by {profile.profiler}, over {profile.iterations} inferences of the timed "
        "batch in a pass of its own after the timed window (profiling slows the model down, "
        f"so these times are not the run's latency). Operator time in all: {total:.4g} ms, "
        f"{per:.4g} ms an inference; shares are of that{rest}."
    )
