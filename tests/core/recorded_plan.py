"""A demo's recorded plan: each step's kind, wall seconds and CPU seconds, from its progress file.

The CPU seconds (of the demo and its finished workers, ``cpu_s`` in the file)
are what the step cost without the machine's other load: the stand-in for a
quiet machine when the recording machine is shared.

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
    if label.startswith("measuring workers started"):
        return "workers"
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
    done, last_s, last_cpu = 0, 0.0, None
    for line in lines:
        obj = json.loads(line)
        if obj.get("finished"):
            continue
        cpu = obj.get("cpu_s")
        if int(obj["done"]) <= done:
            if done == 0 and last_cpu is None:
                last_cpu = cpu  # the CPU the process had spent before its first step
            continue
        assert int(obj["done"]) == done + 1, "a progress file reports each step"
        done = int(obj["done"])
        elapsed = float(obj["elapsed_s"])
        step: dict[str, object] = {
            "kind": step_kind(str(obj["label"])),
            "seconds": round(elapsed - last_s, 3),
        }
        if cpu is not None and last_cpu is not None:
            step["cpu_s"] = round(float(cpu) - float(last_cpu), 3)
        steps.append(step)
        last_s, last_cpu = elapsed, cpu
    return steps


def main(src: str, out: str) -> None:
    steps = steps_from_progress(Path(src).read_text(encoding="utf-8").splitlines())
    text = json.dumps({"repeats": 3, "steps": steps}, indent=1)  # the demo's default
    Path(out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
