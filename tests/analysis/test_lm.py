"""Language models on the dashboard: default axes, empty views, phase figures, LM deltas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from paretoscope.analysis.lm import (
    PERPLEXITY_NOT_COMPARABLE,
    generation_rows,
    lm_default_view,
    lm_delta_columns,
    lm_deltas,
    missing_metrics_text,
)
from paretoscope.analysis.sweep import sweep_caption, sweep_points
from paretoscope.core.errors import InputError
from paretoscope.present.charts.sweep import sweep_chart, sweep_chart_data
from paretoscope.views import FrontierView
from tests.factories import generation_stats


def _lm_frame() -> pd.DataFrame:
    rows = []
    for model, tpot, ppl in (("small", 1.0, 60.0), ("big", 2.5, 35.0)):
        for prec, speed in (("fp32", 1.0), ("int8", 2.0)):
            for n in (32, 128, 512):
                for gen in (16, 64):
                    rows.append(
                        {
                            "run_id": f"{model}-{prec}-{n}-{gen}",
                            "model": model,
                            "runtime": "torch",
                            "precision": prec,
                            "device_name": "Xeon",
                            "batch_size": 1,
                            "dataset": "pydoc",
                            "dataset_sha256": "ab" * 32,
                            "dim_prompt_len": n,
                            "dim_gen_len": gen,
                            "ttft_ms_p50": (tpot + 0.05 * n) / speed,
                            "tpot_ms_p50": tpot / speed,
                            "decode_tokens_per_s": 1000 * speed / tpot,
                            "perplexity": ppl * (1.02 if prec == "int8" else 1.0),
                        }
                    )
    frame = pd.DataFrame(rows)
    for d in ("dim_prompt_len", "dim_gen_len"):
        frame[d] = frame[d].astype("Int64")
    return frame


def _classifier_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {"run_id": ["a", "b"], "accuracy": [0.9, 0.95], "latency_ms_p50": [1.0, 2.0]}
    )


def test_lm_only_store_defaults_to_perplexity_against_decode_tokens_per_s() -> None:
    view = lm_default_view(FrontierView(), _lm_frame(), axes_named=False)
    assert (view.x, view.y) == ("decode_tokens_per_s", "perplexity")
    # The link then names both axes: it reads back the same on any store.
    again, notices = FrontierView.from_query(view.to_query())
    assert again == view and not notices
    assert view.to_query()["y"] == "perplexity"


def test_default_kept_when_link_names_an_axis_or_store_has_accuracy() -> None:
    lm = _lm_frame()
    assert lm_default_view(FrontierView(), lm, axes_named=True) == FrontierView()
    mixed = pd.concat([lm, _classifier_frame()], ignore_index=True)
    assert lm_default_view(FrontierView(), mixed, axes_named=False) == FrontierView()
    assert lm_default_view(FrontierView(), _classifier_frame(), axes_named=False) == FrontierView()
    other = FrontierView(x="peak_mem_mb")
    assert lm_default_view(other, lm, axes_named=False) == other


def test_lm_store_without_decode_rate_falls_back_to_tpot() -> None:
    frame = _lm_frame().drop(columns="decode_tokens_per_s")
    view = lm_default_view(FrontierView(), frame, axes_named=False)
    assert (view.x, view.y) == ("tpot_ms_p50", "perplexity")


def test_missing_metric_text_names_the_metric_and_what_to_do() -> None:
    classifiers = _classifier_frame()
    text = missing_metrics_text(classifiers, ["decode_tokens_per_s", "perplexity"])
    assert text is not None
    assert "Decode tokens/s, Perplexity" in text and "--task causal-lm" in text
    # A column present but all null is the same as absent.
    nulls = classifiers.assign(perplexity=np.nan)
    assert "Perplexity" in (missing_metrics_text(nulls, ["latency_ms_p50", "perplexity"]) or "")
    assert missing_metrics_text(classifiers, ["latency_ms_p50", "accuracy"]) is None
    acc = missing_metrics_text(_lm_frame(), ["decode_tokens_per_s", "accuracy"]) or ""
    assert "Accuracy" in acc and "--data" in acc and "causal-lm" not in acc


def test_prompt_length_sweep_has_one_line_per_variant_and_gen_len_splits_lines() -> None:
    frame = _lm_frame()
    sp = sweep_points(frame, FrontierView(x="dim_prompt_len", y="ttft_ms_p50"))
    assert sp.dimension == "prompt_len"
    assert "dim_gen_len" in sp.fields and len(sp.lines) == 8  # 2 models × 2 precisions × 2 gen
    assert "small · torch · int8 · Xeon · gen_len 16" in sp.lines
    line = sp.points[sp.points["line"] == "small · torch · int8 · Xeon · gen_len 16"]
    assert line["dim_prompt_len"].tolist() == [32, 128, 512]
    assert line["ttft_ms_p50"].is_monotonic_increasing
    assert "one per model, runtime, precision, device name, gen len" in sweep_caption(sp)
    # One generated length: lines are the model variants alone.
    gen16 = frame[frame["dim_gen_len"] == 16]
    one = sweep_points(gen16, FrontierView(x="dim_prompt_len", y="tpot_ms_p50"))
    assert len(one.lines) == 4 and "dim_gen_len" not in one.fields


def test_sweep_chart_titles_carry_units() -> None:
    sp = sweep_points(_lm_frame(), FrontierView(x="dim_prompt_len", y="tpot_ms_p50"))
    spec = sweep_chart(sp).to_dict()
    text = str(spec)
    assert "Prompt length (tokens)" in text and "(ms" in text
    assert len(sweep_chart_data(sp)) == len(sp.points)
    gen = sweep_points(_lm_frame(), FrontierView(x="dim_gen_len", y="tpot_ms_p50"))
    assert "Generated length (tokens)" in str(sweep_chart(gen).to_dict())


def test_generation_rows_follow_the_registry_definitions() -> None:
    gen = generation_stats(prompt_len=128, gen_len=32, ttft_ms=10.0, tpot_ms=2.0)
    rows = dict(generation_rows(gen, batch_size=4))
    assert rows["Prompt length"] == "128 tokens" and rows["Generated length"] == "32 tokens"
    assert rows["Decode tokens/s"] == "2000 tokens/s"  # 4 × 1000 / 2
    assert rows["Prefill tokens/s"] == f"{4 * 128 * 1000 / 8.0:.4g} tokens/s"
    assert rows["KV-cache memory"] == "0.25 MB"
    assert rows["Energy per token"] == "unavailable: no NVML on this test host"
    measured = generation_stats(energy_j_per_token=0.0123)
    assert dict(generation_rows(measured, 1))["Energy per token"] == "0.0123 J"


def test_lm_deltas_speed_up_and_perplexity_change() -> None:
    frame = _lm_frame()
    out = lm_deltas(frame, ["small-fp32-32-16", "small-int8-32-16"], "small-fp32-32-16")
    assert out["decode_speedup_x"].tolist() == [1.0, 2.0]
    assert out["perplexity_delta"].iloc[1] == pytest.approx(1.2)
    assert out["perplexity_change_pct"].iloc[1] == pytest.approx(2.0)
    assert out["perplexity_note"].tolist() == ["", ""]


def test_lm_deltas_never_compare_perplexity_across_texts_or_make_up_values() -> None:
    frame = _lm_frame()
    frame.loc[frame["run_id"] == "big-int8-32-16", "dataset_sha256"] = "cd" * 32
    frame.loc[frame["run_id"] == "big-fp32-32-16", "decode_tokens_per_s"] = np.nan
    out = lm_deltas(frame, ["big-int8-32-16", "big-fp32-32-16"], "small-fp32-32-16")
    assert math.isnan(out["perplexity_delta"].iloc[0])
    assert out["perplexity_note"].iloc[0] == PERPLEXITY_NOT_COMPARABLE
    assert math.isnan(out["decode_speedup_x"].iloc[1])
    with pytest.raises(InputError):
        lm_deltas(frame, ["nope"], "small-fp32-32-16")


def test_lm_delta_columns_are_empty_for_classifiers() -> None:
    assert lm_delta_columns(_classifier_frame(), ["b"], "a").empty
    cols = lm_delta_columns(_lm_frame(), ["small-int8-32-16"], "small-fp32-32-16")
    assert "run_id" not in cols.columns and cols["decode_speedup_x"].iloc[0] == 2.0


def test_batch_size_is_a_sweep_axis_and_round_trips_through_the_url() -> None:
    view, notices = FrontierView.from_query({"x": "batch_size", "y": "ttft_ms_p50"})
    assert not notices and view.sweep and view.x == "batch_size" and not view.log_x
    assert view.to_query() == {"x": "batch_size", "y": "ttft_ms_p50"}
    frame = _lm_frame()
    frame = pd.concat([frame, frame.assign(batch_size=4, run_id=frame["run_id"] + "-b4")])
    sp = sweep_points(frame, view)
    assert "batch_size" not in sp.fields  # the x axis never splits a line
    assert {"dim_prompt_len", "dim_gen_len"} <= set(sp.fields)
    assert len(sp.lines) == 2 * 2 * 3 * 2  # models × precisions × prompt lengths × gen lengths
    assert "Batch size" in str(sweep_chart(sp).to_dict())
    bad, notices = FrontierView.from_query({"x": "threads"})
    assert bad.x == "latency_ms_p50" and "batch_size or dim_<name>" in notices[0]


def test_lm_companion_offers_the_lm_frontier_only_where_the_view_leaves_them_out() -> None:
    from paretoscope.analysis.lm import lm_companion

    mixed = pd.concat([_lm_frame(), _classifier_frame()], ignore_index=True)
    assert lm_companion(mixed, FrontierView()) == (
        len(_lm_frame()),
        {"x": "decode_tokens_per_s", "y": "perplexity"},
    )
    assert lm_companion(mixed, FrontierView(x="decode_tokens_per_s", y="perplexity")) is None
    assert lm_companion(mixed, FrontierView(z=("kv_cache_mb",))) is None
    assert lm_companion(_classifier_frame(), FrontierView()) is None


def test_run_detail_header_names_lm_quality_and_counts_predicted_tokens() -> None:
    from paretoscope.analysis.rundetail import header_rows
    from tests.factories import make_lm_record

    rows = dict(header_rows(make_lm_record(perplexity=35.0, next_token_accuracy=0.33)))
    assert rows["Perplexity"] == "35.0000 on 4000 predicted tokens"
    assert rows["Next-token accuracy"].startswith("0.3300 (95% CI ")
    assert not any(k.startswith("Accuracy (") for k in rows)


def test_lm_run_order_fastest_decode_first_and_nothing_for_classifiers() -> None:
    from paretoscope.analysis.lm import lm_run_order

    frame = _lm_frame()
    order = lm_run_order(frame)
    assert set(order) == set(frame["run_id"]) and order[0].startswith("small-int8")
    assert lm_run_order(_classifier_frame()) == []
