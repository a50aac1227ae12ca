"""A demo's recorded plan: each step's kind and seconds, read from its progress file.

``python -m tests.core.recorded_plan PROGRESS_FILE OUT.json`` turns the progress
file of a real ``paretoscope demo --progress-file`` run into the fixture that
``test_progress.py`` replays through the ETA estimators.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_RUN = re.compile(r"^(?P<model>\S+) (?P<runtime>ort|torch) (?P<precision>\S+) b(?P<batch>\d+)")


def step_kind(label: str) -> str:
    """The kind of the step a demo progress label reports as finished."""
    if label.startswith("digits split"):
        return "split"
    if label.startswith(("trained ", "exported ")):
        family = label.split()[1].split("-", 1)[0]
        return f"{'train' if label.startswith('trained') else 'export'}:{family}"
    m = _RUN.match(label)
    if m is None:
        raise ValueError(f"not a demo step label: {label!r}")
    return f"run:{m['runtime']}:{m['precision']}:b{m['batch']}"


def steps_from_progress(lines: list[str]) -> list[dict[str, object]]:
    """Each finished step, in order: ``{"kind", "seconds"}`` (from where ``done`` grows)."""
    steps: list[dict[str, object]] = []
    done, last_s = 0, 0.0
    for line in lines:
        obj = json.loads(line)
        if obj.get("finished") or int(obj["done"]) <= done:
            continue
        assert int(obj["done"]) == done + 1, "a progress file reports each step"
        done = int(obj["done"])
        elapsed = float(obj["elapsed_s"])
        steps.append({"kind": step_kind(str(obj["label"])), "seconds": round(elapsed - last_s, 3)})
        last_s = elapsed
    return steps


def main(src: str, out: str) -> None:
    steps = steps_from_progress(Path(src).read_text(encoding="utf-8").splitlines())
    Path(out).write_text(json.dumps({"steps": steps}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
