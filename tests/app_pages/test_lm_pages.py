"""The pages over language-model runs (issue 15): Frontier axes, the prompt-length sweep,
Run detail's prefill and decode, Compare of an int8 variant against its fp32 parent.

The store is real (DuckDB, ``tests.lm_store``); its records are synthetic fixtures.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from store import Store
from tests.app_pages.conftest import RunApp
from tests.app_pages.hostile import live_in, markdown_bodies, shown
from tests.factories import make_lm_record, make_record
from tests.lm_store import HOSTILE_LM, PROMPT_LENS, build_lm_store, run_of


@pytest.fixture
def lm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Store, list[Any]]:
    return build_lm_store(tmp_path / "lm.duckdb", monkeypatch)


def _text(at: AppTest) -> str:
    kinds = ("title", "caption", "info", "warning", "error", "success", "markdown", "subheader")
    return shown("\n".join(str(e.value) for kind in kinds for e in getattr(at, kind)))


def _specs(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]


def _walk(node: Any) -> Any:
    """Every node of an AppTest tree in page order."""
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def _no_live_markup(at: AppTest) -> None:
    assert not live_in(markdown_bodies(at)), live_in(markdown_bodies(at))


def test_frontier_of_lm_only_store_draws_perplexity_against_decode_tokens_per_s(
    lm: tuple[Store, list[Any]], run_app: RunApp
) -> None:
    store, records = lm
    at = run_app(store)
    assert dict(at.query_params) == {"x": "decode_tokens_per_s", "y": "perplexity"}
    assert at.selectbox(key="frontier.x").value == "decode_tokens_per_s"
    assert at.selectbox(key="frontier.y").value == "perplexity"
    (spec,) = _specs(at)
    assert "Decode tokens/s (tokens/s" in json.dumps(spec) and "Perplexity" in json.dumps(spec)
    assert f"{len(records)} runs plotted" in _text(at)
    assert "no run in this store has an accuracy" in _text(at).lower()
    assert not at.warning and not at.exception
    _no_live_markup(at)


def test_lm_axes_on_either_side_and_a_named_axis_is_kept(
    lm: tuple[Store, list[Any]], run_app: RunApp
) -> None:
    store, _ = lm
    at = run_app(store, query={"x": "perplexity", "y": "ttft_ms_p50"})
    assert dict(at.query_params) == {"x": "perplexity", "y": "ttft_ms_p50"}
    assert _specs(at) and not at.warning
    # A link naming only y keeps its default x (latency), which no LM run has: said clearly.
    at = run_app(store, query={"y": "perplexity"})
    assert at.selectbox(key="frontier.x").value == "latency_ms_p50"
    assert "No run in this store has Latency p50" in shown(at.warning[0].value)


def test_classifier_store_offers_lm_metrics_and_explains_an_empty_axis(
    tmp_path: Path, run_app: RunApp
) -> None:
    store = Store(tmp_path / "cls.duckdb")
    store.ingest_many([make_record(model=f"mlp-{i}", latency_ms=1.0 + i) for i in range(3)])
    at = run_app(store)
    assert dict(at.query_params) == {}  # the default view, unchanged
    assert "Perplexity" in at.selectbox(key="frontier.y").options  # labels, as shown
    assert "Decode tokens/s (tokens/s)" in at.selectbox(key="frontier.x").options
    at = run_app(store, query={"x": "decode_tokens_per_s", "y": "perplexity"})
    (warning,) = at.warning
    text = shown(warning.value)
    assert "No run in this store has Decode tokens/s, Perplexity" in text
    assert "--task causal-lm" in text
    assert not _specs(at)


def test_prompt_length_sweep_one_line_per_model_variant(
    lm: tuple[Store, list[Any]], run_app: RunApp
) -> None:
    store, _ = lm
    at = run_app(store, query={"x": "dim_prompt_len", "y": "ttft_ms_p50"})
    assert at.selectbox(key="frontier.x").value == "dim_prompt_len"
    (spec,) = _specs(at)
    text = json.dumps(spec, ensure_ascii=False)
    assert "Prompt length (tokens)" in text and "TTFT p50 (ms" in text
    caption = _text(at)
    assert f"{4 * len(PROMPT_LENS)} runs, 4 lines" in caption  # 3 models + the int8 variant
    assert "one per model, runtime, precision, device name" in caption
    assert "model · runtime · precision · device name" in text  # the colour legend's title
    table = next(d.value for d in at.dataframe if "Prompt length (tokens)" in d.value.columns)
    assert sorted(set(table["Prompt length (tokens)"])) == list(PROMPT_LENS)
    assert "Latency p50 (ms)" not in table.columns  # no empty per-batch latency column
    assert "TTFT p50 against prompt length (tokens, dimension)" in _text(at)
    _no_live_markup(at)
    at = run_app(store, query={"x": "dim_prompt_len", "y": "perplexity"})
    assert _specs(at)


def test_run_detail_of_an_lm_run_shows_prefill_and_decode_apart(
    lm: tuple[Store, list[Any]], run_app: RunApp
) -> None:
    store, records = lm
    rec = run_of(records, model=HOSTILE_LM, prompt_len=128)
    at = run_app(store, page="run_detail", query={"run": rec.run_id})
    assert not at.error
    specs = _specs(at)
    titles = json.dumps(specs)
    assert len(specs) == 2  # no per-batch latency for a generating run: TTFT and TPOT only
    assert "No latency was measured" not in _text(at)  # its phases are the latency
    assert "Prompt submitted to the first new token (ms)" in titles
    assert "One decode step, a new token per sequence (ms)" in titles
    gen = rec.generation
    assert gen is not None
    labels = {m.label: m.value for m in at.metric}
    assert labels["TTFT p50 (ms)"] == f"{gen.ttft.p50_ms:.4g}"
    assert labels["TPOT p50 (ms)"] == f"{gen.tpot.p50_ms:.4g}"
    assert labels["Decode steps"] == f"{gen.tpot.n_iter:,}"
    figures = next(d.value for d in at.dataframe if "Prompt length" in set(d.value["What"]))
    rows = dict(zip(figures["What"], figures["Value"], strict=True))
    assert rows["Prompt length"] == "128 tokens" and rows["Generated length"] == "16 tokens"
    assert rows["Energy per token"].startswith("unavailable: ")
    assert rows["Decode tokens/s"].endswith("tokens/s") and rows["KV-cache memory"] == "0.25 MB"
    _no_live_markup(at)


def test_compare_int8_variant_against_its_fp32_parent(
    lm: tuple[Store, list[Any]], run_app: RunApp
) -> None:
    store, records = lm
    parent = run_of(records, model="gpt2-w64-d2", precision="fp32", prompt_len=128)
    child = run_of(records, model="gpt2-w64-d2", precision="int8", prompt_len=128)
    assert child.spec.model.parent_model_id == parent.spec.model.model_id
    at = run_app(store, page="compare")  # the picker offers language models too
    offered = at.multiselect(key="compare.runs").options
    assert len(offered) == len(records)
    at = run_app(store, page="compare", query={"run": [parent.run_id, child.run_id]})
    table = next(d.value for d in at.dataframe if "Decode speed-up (×)" in d.value.columns)
    row = table[table["Run"] == child.run_id].iloc[0]
    assert parent.generation is not None and child.generation is not None
    p_tps = 1000 / parent.generation.tpot.p50_ms
    c_tps = 1000 / child.generation.tpot.p50_ms
    assert row["Decode speed-up (×)"] == pytest.approx(c_tps / p_tps)
    assert row["Δ perplexity"] == pytest.approx(61.5 - 60.0)
    assert row["Δ perplexity (%)"] == pytest.approx(2.5)
    assert "decode speed-up is run ÷ baseline decode tokens/s" in _text(at)


def test_compare_of_classifiers_keeps_its_columns(tmp_path: Path, run_app: RunApp) -> None:
    store = Store(tmp_path / "cls.duckdb")
    a, b = make_record(model="a"), make_record(model="b", latency_ms=2.0)
    store.ingest_many([a, b])
    at = run_app(store, page="compare", query={"run": [a.run_id, b.run_id]})
    assert not any("Decode speed-up (×)" in d.value.columns for d in at.dataframe)


def test_ttft_against_batch_size_one_line_per_variant_and_prompt_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_app: RunApp
) -> None:
    extra = [
        make_lm_record(model="gpt2-w64-d2", batch_size=b, prompt_len=n, ttft_ms=1 + 0.01 * b * n)
        for b in (1, 4, 16)
        for n in (32, 128)
    ]
    store, _ = build_lm_store(tmp_path / "lm.duckdb", monkeypatch, extra=extra, base=False)
    at = run_app(store)
    assert "Batch size" in at.selectbox(key="frontier.x").options
    at.selectbox(key="frontier.x").set_value("batch_size").run()
    assert at.query_params["x"] == "batch_size"
    at = run_app(store, query={"x": "batch_size", "y": "ttft_ms_p50"})
    (spec,) = _specs(at)
    assert "Batch size (sequences or items per call)" in json.dumps(spec)
    assert "6 runs, 2 lines" in _text(at)  # one line per prompt length
    assert not at.warning


def test_store_of_classifiers_and_lms_links_to_the_lm_frontier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, run_app: RunApp
) -> None:
    classifiers = [make_record(model=f"mlp-{i}", latency_ms=1.0 + i) for i in range(3)]
    store, records = build_lm_store(tmp_path / "mixed.duckdb", monkeypatch, extra=classifiers)
    at = run_app(store)
    assert dict(at.query_params) == {}  # the classifiers' default view, as before
    assert "3 runs plotted" in _text(at)
    links = [e.proto for e in at.get("page_link")]
    lm_link = next(p for p in links if "Language models" in p.label)
    assert "x=decode_tokens_per_s" in lm_link.query_string
    assert "y=perplexity" in lm_link.query_string
    assert f"{len(records) - 3} runs of language models" in _text(at)
    # Reachable at once: the link comes before the chart, under the axis pickers.
    order = [
        "lm-link" if n.type == "page_link" and "Language models" in n.proto.label else n.type
        for n in _walk(at.main)
        if n.type in ("page_link", "vega_lite_chart")
    ]
    assert order.index("lm-link") < order.index("vega_lite_chart"), order
    at = run_app(store, query={"x": "decode_tokens_per_s", "y": "perplexity"})
    assert f"{len(records) - 3} runs plotted" in _text(at)
    assert not any("Language models" in e.proto.label for e in at.get("page_link"))
