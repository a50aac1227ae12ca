"""The Decide page's editors: a data editor's edits applied to the view's rows."""

from __future__ import annotations

from paretoscope.core.decision import Constraint
from paretoscope.ui.decide import _constraints, _wheres, apply_edits, editor_key

ROWS = [
    {"metric": "latency_ms_p99", "op": "<=", "limit": 20.0},
    {"metric": "accuracy", "op": ">=", "limit": 0.97},
]


def test_edits_deletions_and_additions_apply_in_order() -> None:
    state = {
        "edited_rows": {0: {"limit": 25.0}},
        "deleted_rows": [1],
        "added_rows": [{"metric": "peak_mem_mb", "op": "<=", "limit": 200}],
    }
    rows = apply_edits(ROWS, state)
    notices: list[str] = []
    assert _constraints(rows, notices) == (
        Constraint("latency_ms_p99", "<=", 25.0),
        Constraint("peak_mem_mb", "<=", 200.0),
    )
    assert notices == [] and ROWS[0]["limit"] == 20.0  # the view's rows are not changed


def test_a_row_being_filled_in_is_left_out_and_bad_ones_are_said() -> None:
    rows = apply_edits(ROWS, {"added_rows": [{"metric": "peak_mem_mb"}]})
    assert len(_constraints(rows, [])) == 2
    notices: list[str] = []
    assert _wheres([{"field": "gpu", "value": "x"}, {"field": "runtime", "value": " ort "}],
                   notices)[0].value == "ort"  # fmt: skip
    assert notices and "gpu" in notices[0]


def test_editor_keys_change_with_the_rows() -> None:
    assert editor_key("req", (1,)) != editor_key("req", (2,))
    assert editor_key("req", ()) == editor_key("req", ())
