"""The Profile page's serving-scenario answers as a ``ScenarioRequest`` (issue 16). No Streamlit.

Widget names (after the page's ``profile.`` prefix): ``scenario.offline`` and
``scenario.server`` (booleans), ``scenario.p99_ms``, ``scenario.max_batch``
and ``scenario.max_delay_ms``; absent ones take the command line's defaults.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paretoscope.core.scenarios import DEFAULT_SERVER_P99_MS, ScenarioRequest, scenario_request

__all__ = ["scenarios_from_answers"]


def scenarios_from_answers(answers: Mapping[str, Any]) -> ScenarioRequest | None:
    """The scenarios the form asks for; None for single-stream alone. Raises ``InputError``."""
    names = ["single-stream"]
    names += [s for s in ("offline", "server") if answers.get(f"scenario.{s}")]
    return scenario_request(
        tuple(names),
        server_p99_ms=float(answers.get("scenario.p99_ms", DEFAULT_SERVER_P99_MS)),
        server_max_batch=int(answers.get("scenario.max_batch", 1)),
        server_max_delay_ms=float(answers.get("scenario.max_delay_ms", 0.0)),
    )
