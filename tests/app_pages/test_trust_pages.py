"""No silent pooling on the pages (issue 11): hosts named alike, two data sets, sweeps, origins."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from paretoscope import cli
from store import Store
from tests.app_pages.conftest import RunApp
from tests.app_pages.hostile import shown
from tests.trust_records import CANCER, trust_record, trust_records, with_items


def _text(at: AppTest) -> str:
    kinds = ("title", "caption", "info", "warning", "error", "success", "markdown", "subheader")
    return shown("\n".join(str(e.value) for kind in kinds for e in getattr(at, kind)))


def _frontier_models(at: AppTest) -> list[str]:
    tables = [d.value for d in at.dataframe if "Run" in d.value.columns]
    return sorted(str(m) for m in tables[-1]["Model"])


@pytest.fixture(scope="module")
def trust_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    store = Store(Path(tmp_path_factory.mktemp("trust")) / "trust.duckdb")
    for rec in trust_records():
        store.ingest(rec)
    return store


def test_default_frontier_never_pools_devices_or_data_sets(
    trust_store: Store, run_app: RunApp
) -> None:
    at = run_app(trust_store)
    text = _text(at)
    assert "never on one frontier" in text
    assert "one frontier per batch size · device name · data set" in text
    assert "1 of the store's runs were imported" in text
    # Pooled, fast-a on digits would dominate every other run; separated, the imported
    # EPYC run and fast-a on breast-cancer head frontiers of their own.
    assert _frontier_models(at) == ["fast-a", "fast-a", "imported-b"]
    assert "3 groups by batch size · device name · data set" in text
    assert "from 2 hosts" in text  # both called vm, two fingerprints


def test_origin_and_host_filters_keep_hosts_named_alike_apart(
    trust_store: Store, run_app: RunApp
) -> None:
    at = run_app(trust_store, query={"orig": "measured"})
    assert "imported-b" not in _frontier_models(at)
    host = at.multiselect(key="frontier.host_id")
    assert sorted(host.options) == ["vm (aaaa11)", "vm (bbbb22)"]
    at = run_app(trust_store, query={"host": "bbbb2222"})
    assert _frontier_models(at) == ["imported-b"]
    assert at.multiselect(key="frontier.host_id").value == ["bbbb2222"]


def test_grouping_by_host_id_gives_two_hosts(trust_store: Store, run_app: RunApp) -> None:
    at = run_app(trust_store, query={"by": "host_id"})
    assert at.selectbox(key="frontier.by").value == "host_id"
    assert "3 groups by host id · device name · data set" in _text(at)


def test_a_dimension_is_a_filter_a_grouping_and_an_axis(
    trust_store: Store, run_app: RunApp
) -> None:
    at = run_app(trust_store, query={"dim": "seq:128"})
    assert at.multiselect(key="frontier.dim_seq").value == [128]
    assert _frontier_models(at) == ["seq-model"]
    at = run_app(trust_store, query={"by": "dim_seq"})
    assert at.selectbox(key="frontier.by").value == "dim_seq"
    at = run_app(trust_store, query={"x": "dim_seq", "y": "latency_ms_p50"})
    assert at.selectbox(key="frontier.x").value == "dim_seq"
    assert dict(at.query_params) == {"x": "dim_seq", "y": "latency_ms_p50"}
    assert "Latency p50 against seq: 2 runs, 1 line" in shown(_text(at))
    table = at.dataframe[0].value
    assert sorted(table["seq (dimension)"].tolist()) == [32, 128]


def test_choosing_a_dimension_as_x_writes_the_url(trust_store: Store, run_app: RunApp) -> None:
    at = run_app(trust_store, query={"y": "latency_ms_p50", "x": "accuracy"})
    at.selectbox(key="frontier.x").set_value("dim_seq").run()
    assert not at.exception
    assert dict(at.query_params) == {"x": "dim_seq", "y": "latency_ms_p50"}


def test_hostile_dimension_links_give_notices(trust_store: Store, run_app: RunApp) -> None:
    at = run_app(trust_store, query={"x": "dim_<script>", "dim": "seq:**1**", "by": "dim_"})
    warning = shown(at.warning[0].value)  # escaped in the Markdown, as typed on screen
    assert "\\<script\\>" in at.warning[0].value
    assert "x='dim_<script>'" in warning and "dim='seq:**1**'" in warning


def test_runs_page_counts_hosts_by_id(trust_store: Store, run_app: RunApp) -> None:
    at = run_app(trust_store, page="runs")
    assert "from 2 hosts" in _text(at)
    at = run_app(trust_store, page="runs", query={"orig": "imported"})
    assert "1 of 6 runs shown" in _text(at) and "from 1 host" in _text(at)


def test_compare_pairs_accuracy_by_item_and_refuses_other_data_sets(
    tmp_path: Path, run_app: RunApp
) -> None:
    store = Store(tmp_path / "paired.duckdb")
    base = "1" * 440 + "0" * 10
    mine = "0" * 3 + "1" * 437 + "0" * 10  # three items lost
    fp32 = with_items(trust_record("fp32", run_id="r-fp32", accuracy=440 / 450), base)
    int8 = with_items(trust_record("int8", run_id="r-int8", accuracy=437 / 450), mine)
    other = trust_record("cancer", run_id="r-cancer", dataset=CANCER, accuracy=0.9)
    for rec in (fp32, int8, other):
        store.ingest(rec)
    at = run_app(store, page="compare", query={"run": ["r-fp32", "r-int8", "r-cancer"]})
    text = _text(at)
    assert "int8 vs fp32: 3 items changed" in text.replace("\\", "")
    assert "difference not significant" in text.replace("\\", "")
    assert "cancer vs fp32: scored on different data sets" in text.replace("\\", "")
    table = at.dataframe[0].value.set_index("Run")
    assert table.loc["r-int8", "Δ accuracy (points)"] == pytest.approx(-3 / 450 * 100)
    assert pd.isna(table["Δ accuracy (points)"]["r-cancer"])
    assert "not comparable" in str(table["Accuracy note"]["r-cancer"])


def _cli_models(capsys: pytest.CaptureFixture[str], store: Store, *args: str) -> list[str]:
    assert cli.main(["frontier", *args, "--store", str(store.path), "--format", "json"]) == 0
    return sorted(row["model"] for row in json.loads(capsys.readouterr().out))


def test_cli_frontier_never_pools_and_groups_by_host_id_and_dimension(
    trust_store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    xy = ("--x", "latency_ms_p50", "--y", "accuracy")
    # Without --by: one frontier per device name and data set, as on the page.
    assert _cli_models(capsys, trust_store, *xy) == ["fast-a", "fast-a", "imported-b"]
    assert _cli_models(capsys, trust_store, *xy, "--by", "host_id") == [
        "fast-a",
        "fast-a",
        "imported-b",
    ]
    by_seq = _cli_models(capsys, trust_store, *xy, "--by", "dim_seq")
    assert by_seq == ["fast-a", "fast-a", "imported-b", "seq-model", "seq-model"]


def test_compare_shift_across_a_dimension(trust_store: Store, run_app: RunApp) -> None:
    at = run_app(trust_store, page="compare", query={"sf": "dim_seq", "y": "latency_ms_p50",
                                                     "x": "peak_mem_mb"})  # fmt: skip
    assert at.selectbox(key="compare.sf").value == "dim_seq"
    assert sorted(at.selectbox(key="compare.sa").options) == ["128", "32"]


def test_a_hostile_filter_value_is_named_but_never_rendered(
    trust_store: Store, run_app: RunApp
) -> None:
    at = run_app(trust_store, query={"dn": "**bold** [x](javascript:y)"})
    (notice,) = [i.value for i in at.info if "bold" in i.value]
    assert "\\*\\*bold\\*\\*" in notice and "\\[x\\]" in notice
