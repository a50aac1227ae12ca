"""The Decide view in the URL: round trips, defaults and untrusted links."""

from __future__ import annotations

from paretoscope.core.decision import Constraint, Decision, Objective, Where
from paretoscope.views import DecideView


def test_default_view_has_an_empty_query() -> None:
    assert DecideView().to_query() == {}
    view, notices = DecideView.from_query({})
    assert view == DecideView() and notices == []


def test_a_decision_round_trips_through_the_query() -> None:
    view = DecideView(
        Decision(
            require=(Constraint.parse("latency_ms_p99<=20"), Constraint.parse("accuracy>=0.97")),
            where=(Where("device_name", "NVIDIA H200"),),
            objective=Objective("throughput_per_s", "max"),
            then=Objective("peak_mem_mb", "min"),
        ),
        x="latency_ms_p99",
        baseline="run-1",
    )
    q = view.to_query()
    assert q["req"] == ["latency_ms_p99<=20", "accuracy>=0.97"]
    assert q["where"] == ["device_name=NVIDIA H200"]
    assert q["obj"] == "max:throughput_per_s" and q["then"] == "min:peak_mem_mb"
    again, notices = DecideView.from_query(q)
    assert again == view and notices == []


def test_bad_values_are_ignored_with_notices() -> None:
    view, notices = DecideView.from_query(
        {
            "req": ["latency_ms_p99<=20", "nonsense", "latency_p99<=3"],
            "where": ["gpu=x"],
            "obj": "max:accuracy",
            "then": "min:accuracy",
            "x": "<script>",
            "bogus": "1",
        }
    )
    assert view.decision.require == (Constraint("latency_ms_p99", "<=", 20.0),)
    assert view.decision.where == () and view.decision.then is None and view.x is None
    text = " ".join(notices)
    assert "nonsense" in text and "Did you mean latency_ms_p99" in text
    assert "gpu" in text and "bogus" in text and "then=" in text
