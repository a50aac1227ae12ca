"""Methodology's text and tables: true for every run they describe."""

from __future__ import annotations

import json

import pandas as pd

from paretoscope.core.records import MEMORY_SOURCES
from paretoscope.present.methodology import (
    METHODOLOGY_SUMMARY,
    budget_table,
    dataset_table,
    harness_markdown,
    memory_table,
    run_facts,
    store_summary,
)
from tests.present.test_frontier_trust import _runs


def _specs(max_time: dict[str, float]) -> dict[str, str]:
    return {
        rid: json.dumps({"budget": {"warmup_iters": 10, "min_iters": 30, "max_iters": 100000,
                                    "min_time_s": 0.2, "max_time_s": t, "target_ci_rel": 0.01}})
        for rid, t in max_time.items()
    }  # fmt: skip


def test_memory_table_lists_each_source_present_and_why_others_have_none() -> None:
    table = memory_table(_runs()).set_index("Peak memory")
    assert table.loc["vmhwm", "Runs"] == 2
    assert table.loc["vmhwm", "What it measures"] == MEMORY_SOURCES["vmhwm"]
    assert table.loc["torch-allocator", "Devices"] == "H100 (cuda:0)"
    assert table.loc["unavailable", "What it measures"] == "not measured on this runtime"
    assert table.loc["unavailable", "Runs"] == 1
    assert int(table["Runs"].sum()) == len(_runs())
    assert "nvml-process" not in table.index  # only sources actually present


def test_run_facts_give_each_run_its_own_budget_and_stop_reason() -> None:
    runs = _runs(stop_reason=["ci_target", "max_time", "ci_target", "max_time"])
    facts = run_facts(runs, _specs({"a": 2.0, "b": 1.0, "c": 1.0}))
    by_run = facts.set_index("Run")
    assert by_run.loc["a", "Max time (s)"] == "2" and by_run.loc["b", "Max time (s)"] == "1"
    assert by_run.loc["d", "Max time (s)"] == "—"  # no stored spec: no claim
    assert by_run.loc["a", "Target CI (± of the median)"] == "1.0%"
    assert by_run.loc["b", "Timing stopped by"] == "max_time"
    assert by_run.loc["b", "Latency CI scope"] == "between 3 repeats"
    assert by_run.loc["c", "Memory source"] == "unavailable: not measured on this runtime"
    budgets = budget_table(facts)
    assert int(budgets["Runs"].sum()) == 4 and len(budgets) == 4  # 2 s; 1 s ×1 or ×3; unknown
    one_s = budgets[(budgets["Max time (s)"] == "1") & (budgets["Repeats"] == "1")]
    assert one_s["Stopped by"].tolist() == ["ci_target (1)"]


def test_data_sets_with_hash_items_and_intervals() -> None:
    runs = _runs(
        dataset_name=["digits", "digits", "cancer", "digits"],
        dataset_sha256=["aa" * 32, "aa" * 32, "bb" * 32, "aa" * 32],
    )
    table = dataset_table(runs).set_index("Data set")
    assert table.loc["digits", "Runs with accuracy"] == 3
    assert table.loc["digits", "With a 95% interval"] == 3
    assert (
        table.loc["cancer", "sha256"] == "bb" * 32 and table.loc["cancer", "Items scored"] == "450"
    )


def test_the_general_text_claims_no_single_memory_source() -> None:
    text = " ".join(harness_markdown().split())
    assert "On a GPU it is peak allocated device memory" not in text
    for key in MEMORY_SOURCES:
        assert f"`{key}`" in text
    assert "Wilson" in text and "within one process" in text
    assert "VmHWM" not in METHODOLOGY_SUMMARY  # not every run's source
    assert store_summary(_runs()).startswith("4 runs (2 measured here, 2 imported) on 0 hosts")


def test_empty_store_tables() -> None:
    empty = _runs().iloc[0:0]
    assert memory_table(empty).empty and dataset_table(empty).empty
    assert budget_table(run_facts(empty, {})).empty
    assert list(run_facts(pd.DataFrame(), {}).columns)[:2] == ["Run", "Model"]


def test_language_model_quality_states_its_convention_and_its_limits() -> None:
    text = harness_markdown()
    assert "**Language-model quality**" in text
    assert "non-overlapping windows" in text and "without special tokens" in text
    assert "**not comparable**" in text
