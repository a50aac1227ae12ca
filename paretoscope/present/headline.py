"""The Frontier page's headline: the question the chart asks and its answer, in one line.

"Accuracy against latency p50, one frontier per batch size and device name
(6 frontiers): 7 of 144 runs are on a frontier." Pure: it reads counts and
keys, never a frame, so it is cheap on every rerun and tested on its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from paretoscope.core.fields import run_field
from paretoscope.core.metrics import METRICS

__all__ = ["frontier_headline", "sweep_headline"]


def _metric(key: str) -> str:
    return METRICS[key].label if key in METRICS else key


def _lower(label: str) -> str:
    """``Latency p50`` -> ``latency p50``; acronyms (``MAE``) keep their case."""
    first = label.split(" ", 1)[0]
    return label if first.isupper() else label[:1].lower() + label[1:]


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def frontier_headline(
    x: str,
    y: str,
    *,
    z: Sequence[str] = (),
    by: str | None = None,
    separated: Sequence[str] = (),
    n_groups: int = 1,
    n_on_frontier: int = 0,
    n_points: int = 0,
) -> str:
    """One sentence: y against x (and further objectives), how runs are split, how many lead.

    ``by`` is the view's grouping (a run field or ``dim_<name>``), ``separated``
    the fields that split it further because runs of two devices or data sets
    never share a frontier, ``n_groups`` the number of frontiers drawn,
    ``n_points`` the runs plotted and ``n_on_frontier`` those on a frontier.
    With no points the answer says that no run has the metrics.
    """
    question = f"{_metric(y)} against {_lower(_metric(x))}"
    if z:
        question += f" and {_plural(len(z), 'more objective')}"
    fields = [_lower(run_field(f).label) for f in ([by] if by else []) + list(separated)]
    if fields:
        question += f", one frontier per {_and(fields)}"
        if n_groups > 1 and n_points:
            question += f" ({n_groups:,} frontiers)"
    if not n_points:
        what = "both metrics" if not z else "every chosen metric"
        return f"{question}: no run has {what} under these filters."
    where = "a frontier" if n_groups > 1 else "the frontier"
    verb = "is" if n_on_frontier == 1 else "are"
    if n_on_frontier == n_points == 1:
        return f"{question}: the one run plotted is on {where}."
    if n_on_frontier == n_points:
        return f"{question}: all {n_points:,} runs are on {where}."
    return f"{question}: {n_on_frontier:,} of {_plural(n_points, 'run')} {verb} on {where}."


def sweep_headline(dimension: str, y: str) -> str:
    """The line over a sweep (x is a symbolic dimension): ``seq (dimension)`` against y."""
    return f"{_metric(y)} against {run_field(dimension).label}, one line per configuration."
