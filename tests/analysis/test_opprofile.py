"""analysis.opprofile: a run's operator profile as a table and a caption."""

from __future__ import annotations

import math

from paretoscope.analysis.opprofile import OP_COLUMNS, op_caption, op_table
from paretoscope.core.records import OpProfile, OpTime

PROF = OpProfile(
    profiler="onnxruntime profiler: node kernel time",
    iterations=20,
    ops=(
        OpTime("DynamicQuantizeMatMul", 40, 3.0, 0.6),
        OpTime("Relu", 20, 1.0, 0.2),
        OpTime("3 other ops", 60, 1.0, 0.2),
    ),
    others=3,
)


def test_the_table_has_a_row_per_op_in_rank_order_with_per_inference_times() -> None:
    table = op_table(PROF)
    assert tuple(table.columns) == OP_COLUMNS
    assert list(table["Rank"]) == [1, 2, 3]
    assert list(table["Operator"]) == ["DynamicQuantizeMatMul", "Relu", "3 other ops"]
    assert list(table["Per inference (ms)"]) == [3.0 / 20, 1.0 / 20, 1.0 / 20]
    assert math.isclose(table["Share (%)"].sum(), 100.0)


def test_an_empty_profile_is_an_empty_table_with_the_columns() -> None:
    table = op_table(OpProfile(profiler="p", iterations=0))
    assert table.empty and tuple(table.columns) == OP_COLUMNS


def test_the_caption_says_how_it_was_made_and_what_the_last_row_is() -> None:
    text = op_caption(PROF)
    assert "onnxruntime profiler" in text and "20 inferences" in text
    assert "after the timed window" in text
    assert "5 ms" in text and "0.25 ms an inference" in text
    assert "the other 3 operators" in text
    assert "other" not in op_caption(OpProfile(profiler="p", iterations=1, ops=PROF.ops[:2]))
