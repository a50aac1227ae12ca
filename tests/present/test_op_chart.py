"""present.charts.ops: a run's operator bars, one per table row, in rank order."""

from __future__ import annotations

from paretoscope.analysis.opprofile import op_table
from paretoscope.core.records import OpProfile, OpTime
from paretoscope.present.charts.ops import op_chart


def test_one_bar_per_op_labelled_by_rank_and_sorted_by_it() -> None:
    prof = OpProfile(
        profiler="p",
        iterations=2,
        ops=(OpTime("<b>x</b>", 2, 3.0, 0.75), OpTime("<b>x</b>", 2, 1.0, 0.25)),
    )
    chart = op_chart(op_table(prof))
    assert chart is not None
    spec = chart.to_dict()
    values = spec["datasets"][next(iter(spec["datasets"]))]
    # Two ops with one name stay two bars: the rank is part of the label.
    assert [v["label"] for v in values] == ["1. <b>x</b>", "2. <b>x</b>"]
    assert spec["encoding"]["y"]["sort"] == {"field": "rank", "order": "ascending"}
    assert spec["height"] == 70 + 28 * 2


def test_no_ops_no_chart() -> None:
    assert op_chart(op_table(OpProfile(profiler="p", iterations=0))) is None
