"""The Decide chart: roles, the feasible region, and thinning that keeps the answer visible."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paretoscope.analysis.decide import Constraint, Decision, Objective, decide
from paretoscope.present.charts.decide import MAX_DRAWN, decision_axes, decision_chart
from paretoscope.present.charts.spec import vega_lite_spec


def big(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    lat = rng.lognormal(0.0, 1.0, n)
    return pd.DataFrame(
        {
            "run_id": [f"r{i:06d}" for i in range(n)],
            "model": ["m"] * n,
            "latency_ms_p99": lat,
            "accuracy": np.clip(0.8 + 0.05 * np.log1p(lat) + rng.normal(0, 0.02, n), 0, 1),
            "throughput_per_s": 1000 / lat,
        }
    )


def test_axes_follow_the_decision() -> None:
    d = Decision(require=(Constraint.parse("accuracy>=0.9"), Constraint.parse("peak_mem_mb<=9")),
                 objective=Objective("accuracy"))  # fmt: skip
    assert decision_axes(d) == ("peak_mem_mb", "accuracy")
    assert decision_axes(d, "latency_ms_p99") == ("latency_ms_p99", "accuracy")
    assert decision_axes(Decision()) == ("latency_ms_p50", "accuracy")


def test_a_big_pool_is_thinned_but_the_answer_stays_drawn() -> None:
    frame = big(20_000)
    d = Decision(
        require=(Constraint.parse("latency_ms_p99<=2"), Constraint.parse("accuracy>=0.85")),
        objective=Objective("throughput_per_s", "max"),
    )
    result = decide(frame, d)
    spec = vega_lite_spec(decision_chart(frame, result, "latency_ms_p99"))
    rows = spec["datasets"]["runs"]
    assert len(rows) <= MAX_DRAWN
    drawn = set(rows["run_id"])
    assert result.recommended_id in drawn
    assert {m.run_id for m in result.near_misses} <= drawn
    assert rows["role"].value_counts()["recommended"] == 1
    region = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "rect")
    (box,) = spec["datasets"][region["data"]["name"]]
    assert box["x2"] == 2 and box["x"] < 2 and box["y"] < box["y2"]  # y: throughput, unbounded
    # Altair's own validation accepts the chart.
    decision_chart(frame, result).to_dict()
