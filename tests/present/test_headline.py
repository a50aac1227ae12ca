"""The Frontier page's one-line headline: the question, the split, the answer."""

from __future__ import annotations

from paretoscope.present.headline import frontier_headline, sweep_headline


def test_default_view_one_frontier_per_batch_size() -> None:
    text = frontier_headline(
        "latency_ms_p50", "accuracy", by="batch_size", n_groups=1, n_on_frontier=7, n_points=40
    )
    assert text == (
        "Accuracy against latency p50, one frontier per batch size: "
        "7 of 40 runs are on the frontier."
    )


def test_batch_and_device_partitions_count_the_frontiers() -> None:
    text = frontier_headline(
        "latency_ms_p50",
        "accuracy",
        by="batch_size",
        separated=("device_name",),
        n_groups=4,
        n_on_frontier=12,
        n_points=144,
    )
    assert text == (
        "Accuracy against latency p50, one frontier per batch size and device name "
        "(4 frontiers): 12 of 144 runs are on a frontier."
    )


def test_device_and_dataset_split_without_grouping() -> None:
    text = frontier_headline(
        "model_size_mb",
        "accuracy",
        separated=("device_name", "dataset"),
        n_groups=3,
        n_on_frontier=1,
        n_points=9,
    )
    assert text == (
        "Accuracy against model size, one frontier per device name and data set "
        "(3 frontiers): 1 of 9 runs is on a frontier."
    )


def test_no_grouping_is_one_frontier_and_more_objectives_are_counted() -> None:
    text = frontier_headline(
        "latency_ms_p50", "accuracy", z=("peak_mem_mb",), n_on_frontier=3, n_points=3
    )
    assert text == (
        "Accuracy against latency p50 and 1 more objective: all 3 runs are on the frontier."
    )
    one = frontier_headline("latency_ms_p50", "mae", n_on_frontier=1, n_points=1)
    assert one == "MAE against latency p50: the one run plotted is on the frontier."


def test_acronyms_keep_their_case_and_large_counts_are_grouped() -> None:
    text = frontier_headline("rmse", "accuracy", n_on_frontier=1_200, n_points=100_000)
    assert text == "Accuracy against RMSE: 1,200 of 100,000 runs are on the frontier."


def test_empty_says_what_is_missing() -> None:
    text = frontier_headline("latency_ms_p50", "accuracy", by="batch_size", n_groups=0)
    assert text == (
        "Accuracy against latency p50, one frontier per batch size: "
        "no run has both metrics under these filters."
    )
    more = frontier_headline("latency_ms_p50", "accuracy", z=("params", "energy_j_per_item"))
    assert more.endswith(
        "and 2 more objectives: no run has every chosen metric under these filters."
    )


def test_a_sweep_names_its_dimension() -> None:
    text = sweep_headline("dim_seq", "latency_ms_p50")
    assert text == "Latency p50 against seq (dimension), one line per configuration."
