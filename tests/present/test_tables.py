"""The pages' run tables: origin, memory source, CI scope and sweep values beside the numbers."""

from __future__ import annotations

import pandas as pd

from paretoscope.analysis.selection import frontier_points
from paretoscope.present.display import IMPORTED, MEASURED_HERE
from paretoscope.present.tables import column_formats, frontier_points_table, runs_table
from paretoscope.views import FrontierView
from tests.present.test_frontier_trust import _runs


def test_points_table_names_origin_memory_source_and_scope() -> None:
    table = frontier_points_table(frontier_points(_runs(), FrontierView(by=None)))
    assert {"Origin", "Latency CI scope", "Accuracy CI low", "Accuracy CI high"} <= set(table)
    by_model = table.set_index("Model")
    assert by_model.loc["m4", "Origin"] == IMPORTED
    assert "Memory source" not in table  # memory is not an objective here
    mem = frontier_points_table(
        frontier_points(_runs(), FrontierView(x="peak_mem_mb", y="throughput_per_s", by=None))
    ).set_index("Model")
    assert str(mem.loc["m4", "Memory source"]).startswith("torch-allocator: ")
    assert "Latency CI scope" not in mem.columns


def test_runs_table_says_why_a_gpu_run_has_no_device_memory() -> None:
    table = runs_table(_runs()).set_index("Model")
    assert table.loc["m3", "Memory source"] == "unavailable: not measured on this runtime"
    assert table.loc["m1", "Origin"] == MEASURED_HERE and table.loc["m3", "Origin"] == IMPORTED
    assert table.loc["m1", "Latency CI scope"] == "within one process"
    assert table.loc["m2", "Latency CI scope"] == "between 3 repeats"
    assert table.loc["m3", "Peak host memory (MB)"] == 900.0
    assert column_formats(table.reset_index())["Accuracy CI low"] == "%.4f"


def test_sweep_values_are_columns_named_after_their_dimension() -> None:
    frame = _runs(dim_seq=pd.array([32, 128, None, 32], dtype="Int64"))
    table = runs_table(frame)
    assert list(table["seq"].astype("Float64").fillna(-1)) == [32, 128, -1, 32]
    points = frontier_points_table(frontier_points(frame, FrontierView(by=None)))
    assert "seq" in points.columns


def test_points_table_names_the_run_a_frontier_run_is_within_noise_of() -> None:
    fp = frontier_points(_runs(), FrontierView(by=None))
    partner = {"c": ("d", "m4")}  # a chosen pairing, in place of the computed one
    fp.points["noise_partner"] = fp.points["run_id"].map(lambda r: partner.get(r, (None,))[0])
    fp.points["noise_partner_model"] = fp.points["run_id"].map(
        lambda r: partner.get(r, (None, None))[1]
    )
    table = frontier_points_table(fp).set_index("Model")
    assert table.loc["m3", "Within noise of"] == "m4"
    assert table["Within noise of"].isna().sum() == len(table) - 1
    untested = frontier_points(_runs(), FrontierView())
    for col in ("noise_partner", "noise_partner_model"):
        del untested.points[col]
    assert "Within noise of" not in frontier_points_table(untested)
