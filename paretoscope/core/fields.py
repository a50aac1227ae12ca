"""The run-field registry: each run column that is not a metric, with its label and roles.

The metric registry (``core.metrics``) says what a measured number means; this
one says the same for what describes a run: its identity, configuration and
provenance. The pages' field pickers and URL ``by``/``facet``/``sf`` values,
the command line's ``--by`` choices, the chart's legend and tooltip titles and
the tables' headers all read it, so a field is named and labelled once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from paretoscope.core.errors import InputError

__all__ = [
    "CLI_GROUP_FIELDS",
    "DIM_PREFIX",
    "RUN_FIELDS",
    "SWEEP_RUN_FIELDS",
    "VIEW_FIELDS",
    "RunField",
    "dim_columns",
    "is_dim_key",
    "is_sweep_key",
    "run_field",
]

# A symbolic dimension ``seq`` of a run is the column ``dim_seq``.
DIM_PREFIX = "dim_"


@dataclass(frozen=True)
class RunField:
    """One run column that is not a metric.

    ``label`` names the field in prose and legends ("Batch size"); ``header``
    is the shorter title of its table column and tooltip line ("Batch"),
    the label unless given. ``view_rank`` is the field's place in the pages'
    field pickers (the URL's ``by``, ``facet`` and ``sf`` values); ``None``
    when pages do not group by it. ``cli_group`` is whether ``paretoscope
    frontier --by`` accepts it.
    """

    key: str
    label: str
    header: str = ""
    view_rank: int | None = None
    cli_group: bool = False

    def __post_init__(self) -> None:
        if not self.header:
            object.__setattr__(self, "header", self.label)


# In the order the command line's ``--by`` help and the README list the
# grouping fields; the rest follow.
_ALL: tuple[RunField, ...] = (
    RunField("runtime", "Runtime", view_rank=1, cli_group=True),
    RunField("device", "Device", view_rank=2, cli_group=True),
    # The device's own name (CPU model, GPU model): "cpu" alone would merge the
    # CPUs of different hosts, e.g. this host's and an imported bundle's.
    RunField("device_name", "Device name", view_rank=3, cli_group=True),
    RunField("host", "Host", view_rank=7, cli_group=True),
    RunField("precision", "Precision", view_rank=4, cli_group=True),
    # First in the pages' pickers: it is the pages' default grouping.
    RunField("batch_size", "Batch size", header="Batch", view_rank=0, cli_group=True),
    RunField("threads", "Threads", view_rank=6, cli_group=True),
    RunField("family", "Family", view_rank=5, cli_group=True),
    RunField("model", "Model", cli_group=True),
    # Issue 11: hosts by fingerprint, where a run came from, what it was scored on.
    RunField("host_id", "Host id", view_rank=10, cli_group=True),
    RunField("origin", "Origin", view_rank=8, cli_group=True),
    RunField("dataset", "Data set", view_rank=9, cli_group=True),
    RunField("run_id", "Run"),
    RunField("status", "Status"),
    RunField("error", "Error"),
    RunField("transformation", "Transformation"),
    RunField("runtime_version", "Runtime version"),
    RunField("execution_provider", "Execution provider"),
    RunField("accuracy_origin", "Accuracy origin"),
    RunField("energy_unavailable_reason", "Energy unavailable because"),
    RunField("latency_ms_p50_ci_low", "p50 CI low (ms)"),
    RunField("latency_ms_p50_ci_high", "p50 CI high (ms)"),
    RunField("latency_n_iter", "Timed iterations"),
    RunField("latency_stop_reason", "Timing stopped by"),
    RunField("parent_model_id", "Parent model id"),
    RunField("model_id", "Model id"),
    RunField("started_at", "Started (UTC)"),
    RunField("finished_at", "Finished (UTC)"),
    RunField("peak_mem_source", "Memory source"),
    RunField("peak_mem_unavailable_reason", "Device memory unavailable because"),
    RunField("stop_reason", "Timing stopped by"),
    RunField("repeats", "Repeats"),
    RunField("latency_ci_scope", "Latency CI scope"),
    RunField("accuracy_ci_low", "Accuracy CI low"),
    RunField("accuracy_ci_high", "Accuracy CI high"),
    RunField("accuracy_n", "Scored items"),
    RunField("hostname", "Hostname"),
    # Issue 14: the end-to-end latency's interval, and why a serving figure is missing.
    RunField("latency_e2e_ms_p50_ci_low", "End-to-end p50 CI low (ms)"),
    RunField("latency_e2e_ms_p50_ci_high", "End-to-end p50 CI high (ms)"),
    RunField("serving_unavailable_reason", "Serving figures unavailable because"),
    # Issue 16: what a serving scenario's figure means nothing without.
    RunField("offline_best_batch", "Offline best batch", header="Offline batch"),
    RunField("server_p99_bound_ms", "Server p99 bound (ms)", header="p99 bound (ms)"),
)

RUN_FIELDS: dict[str, RunField] = {f.key: f for f in _ALL}

# Field -> label of what the pages group, colour and facet by, in their pickers' order.
VIEW_FIELDS: dict[str, str] = {
    f.key: f.label
    for f in sorted((f for f in _ALL if f.view_rank is not None), key=lambda f: f.view_rank or 0)
}
# What ``paretoscope frontier --by`` accepts, in the order its help lists them.
CLI_GROUP_FIELDS: tuple[str, ...] = tuple(f.key for f in _ALL if f.cli_group)


def is_dim_key(key: str) -> bool:
    """Whether ``key`` names a symbolic dimension's column (``dim_seq``)."""
    name = key.removeprefix(DIM_PREFIX)
    return key.startswith(DIM_PREFIX) and name.isidentifier()


# Run fields a sweep view may take as x besides a dimension (issue 15: TTFT against batch size).
SWEEP_RUN_FIELDS: tuple[str, ...] = ("batch_size",)


# Labels of the dimensions a causal-LM run has (issue 15); others read "<name> (dimension)".
_DIM_LABELS = {
    "prompt_len": "prompt length (tokens, dimension)",
    "gen_len": "generated length (tokens, dimension)",
}


def is_sweep_key(key: str) -> bool:
    """Whether ``key`` may be a sweep view's x: a ``dim_<name>`` or a numeric run setting."""
    return is_dim_key(key) or key in SWEEP_RUN_FIELDS


def dim_columns(columns: Iterable[object]) -> list[str]:
    """The ``dim_<name>`` names among ``columns`` (names, or a frame: it iterates its columns)."""
    return sorted(str(c) for c in columns if is_dim_key(str(c)))


def run_field(key: str) -> RunField:
    """Return the run field ``key`` (registered, or a ``dim_<name>``); else raise ``InputError``."""
    if key in RUN_FIELDS:
        return RUN_FIELDS[key]
    if is_dim_key(key):
        name = key.removeprefix(DIM_PREFIX)
        return RunField(key, _DIM_LABELS.get(name, f"{name} (dimension)"), header=name)
    try:
        return RUN_FIELDS[key]
    except KeyError:
        raise InputError(
            f"unknown run field {key!r}; choose one of: {', '.join(RUN_FIELDS)}"
        ) from None
