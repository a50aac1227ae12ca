"""Integer partition codes split rows exactly as the text keys do (issue 13's faster frontier)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from paretoscope.analysis.frontier import partition_codes, partition_keys
from paretoscope.analysis.selection import _missing_reasons, frontier_groups


def _frame(seed: int, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names = np.array(["CPU A", "GPU B", "<x>", "a·b"], dtype=object)
    device = names[rng.integers(0, 4, n)]
    device[rng.random(n) < 0.1] = None
    batch = rng.choice([1, 8, 32], n).astype(object)
    batch[rng.random(n) < 0.1] = None
    seq = rng.choice([16, 64], n).astype(object)
    seq[rng.random(n) < 0.1] = None
    return pd.DataFrame(
        {
            "device_name": pd.array(device, dtype="str"),
            "batch_size": pd.array(batch, dtype="Int32"),
            "group": rng.choice(["1", "8", "<none>"], n).astype(object),
            "threads": rng.choice([1, 2, 4], n).astype(np.int64),  # plain integers: no NA
            "dim_seq": pd.array(seq, dtype="Int64"),
            "accuracy": rng.random(n),
            "latency_ms_p50": rng.random(n),
        }
    )


def _same_split(a: np.ndarray, b: np.ndarray) -> bool:
    """True when a[i] == a[j] exactly where b[i] == b[j]."""
    return bool(((a[:, None] == a[None, :]) == (b[:, None] == b[None, :])).all())


def test_codes_partition_rows_as_the_keys_do() -> None:
    for seed in range(5):
        frame = _frame(seed)
        for fields in (
            ["device_name"],
            ["batch_size", "device_name"],
            ["group", "missing"],
            ["threads", "dim_seq", "batch_size"],
        ):
            codes = partition_codes(frame, fields)
            keys = partition_keys(frame, fields)
            assert _same_split(codes, keys), (seed, fields)


def test_groups_label_every_row_as_before() -> None:
    frame = _frame(7)
    labels, separated = frontier_groups(frame, "batch_size", ["latency_ms_p50", "accuracy"])
    assert separated == ("device_name",)
    expected = (
        frame["batch_size"].astype("string").fillna("<none>")
        + " · "
        + frame["device_name"].astype("string").fillna("<none>")
    )
    assert labels.tolist() == expected.tolist()


def test_missing_reasons_count_each_combination_with_its_stored_reason() -> None:
    frame = pd.DataFrame(
        {
            "accuracy": [np.nan, np.nan, 0.5, np.nan],
            "energy_j_per_item": [np.nan, 1.0, np.nan, np.nan],
            "energy_unavailable_reason": ["no RAPL", None, "no RAPL", ""],
        }
    )
    assert _missing_reasons(frame, ["accuracy", "energy_j_per_item"]) == [
        "1 run without Accuracy and without Energy per item (no RAPL)",
        "1 run without Accuracy",
        "1 run without Energy per item (no RAPL)",
        "1 run without Accuracy and without Energy per item",
    ]


def test_language_model_runs_of_different_lengths_are_never_pooled() -> None:
    from paretoscope.analysis.frontier import frontier_mask, partition_fields

    assert partition_fields(["decode_tokens_per_s", "perplexity"]) == [
        "device_name",
        "dataset",
        "dim_prompt_len",
        "dim_gen_len",
        "dim_context",
    ]
    assert partition_fields(["latency_ms_p50", "accuracy"]) == ["device_name", "dataset"]
    # A long prompt's slower decode must not be "dominated" by a short prompt's run.
    frame = pd.DataFrame(
        {
            "device_name": ["cpu"] * 2,
            "dataset": ["text-1"] * 2,
            "dim_prompt_len": [32, 512],
            "dim_gen_len": [32, 32],
            "dim_context": [64, 64],
            "decode_tokens_per_s": [900.0, 600.0],
            "perplexity": [30.0, 30.0],
        }
    )
    assert frontier_mask(frame, ["decode_tokens_per_s", "perplexity"]).tolist() == [True, True]
