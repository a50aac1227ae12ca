"""Issue 11's "Done when", over this host's runs and the imported GPU example bundle.

The memory frontier compares device memory with device memory, every GPU run
names its memory source or why it has none, Methodology's text and tables are
true for every run, Run detail shows what each number rests on, and two hosts
named alike are two hosts.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from paretoscope.analysis.selection import frontier_points
from paretoscope.core.intervals import paired_test
from paretoscope.core.legacy import HOST_MEMORY_SOURCES, NOT_DEVICE_MEMORY
from paretoscope.core.records import (
    MEMORY_SOURCES,
    AccuracyResult,
    DeviceInfo,
    HostInfo,
    RepeatLatency,
    RunRecord,
)
from paretoscope.present.charts import frontier_chart
from paretoscope.present.display import IMPORTED, MISSING
from paretoscope.present.tables import runs_table
from paretoscope.profiling.examples import import_example
from paretoscope.views import FrontierView, RunFilters
from store import Store
from tests.app_pages.conftest import MakeStore, OpenPage, RunApp
from tests.app_pages.hostile import shown
from tests.factories import make_record

OTHER_VM = HostInfo("hostvm02", "vm", "Linux", "Other CPU", 4, 4, 16000.0, "3.12.3")


def _scored(rec: RunRecord, correct: str) -> RunRecord:
    acc = AccuracyResult(
        "top1",
        correct.count("1") / len(correct),
        "digits-test",
        len(correct),
        item_correct=correct,
        items=f"0:{len(correct)}",
    )
    return dataclasses.replace(rec, accuracy=(acc,))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The imported H100 example, runs measured here, and a second host also named vm."""
    s = Store(tmp_path_factory.mktemp("trust") / "trust.duckdb")
    import_example(s, "h100")
    parent = _scored(make_record(model="here-fp32", latency_ms=0.3), "1" * 40 + "0" * 10)
    child = _scored(
        make_record(
            model="here-int8",
            precision="int8",
            latency_ms=0.2,
            parent_model_id=parent.spec.model.model_id,
        ),
        "1" * 37 + "0" * 3 + "1" * 2 + "0" * 8,
    )
    other = make_record(
        model="on-the-other-vm",
        latency_ms=0.5,
        host=OTHER_VM,
        device=DeviceInfo("hostvm02:cpu", "hostvm02", "cpu", "Other CPU (4 cores)"),
    )
    s.ingest_many([parent, child, other])
    return s


def _gpu(runs: pd.DataFrame) -> pd.DataFrame:
    return runs[runs["device"] != "cpu"]


def _texts(at: AppTest) -> str:
    kinds = ("title", "caption", "info", "warning", "markdown", "subheader", "text")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def test_the_store_holds_both_kinds_of_gpu_memory_figures(store: Store) -> None:
    gpu = _gpu(store.runs_frame())
    assert len(gpu) == 80
    no_device = gpu["peak_mem_mb"].isna()
    # ONNX Runtime's CUDA runs stored host RSS; the migration moved it, with a reason.
    assert set(gpu.loc[no_device, "runtime"]) == {"ort"} and no_device.sum() == 32
    assert gpu.loc[no_device, "peak_host_mem_mb"].notna().all()


def test_the_memory_frontier_compares_device_memory_with_device_memory(store: Store) -> None:
    runs = store.runs_frame()
    view = FrontierView(x="peak_mem_mb", by=None, filters=RunFilters(device=("cuda:0",)))
    fp = frontier_points(runs, view)
    # Only runs whose figure is device memory are placed; none is a host resident set.
    sources = set(fp.points["peak_mem_source"])
    assert sources and not sources & HOST_MEMORY_SOURCES
    assert sources <= set(MEMORY_SOURCES)
    assert set(fp.points["runtime"]) == {"torch"}
    assert fp.excluded == (f"32 runs without Peak memory ({NOT_DEVICE_MEMORY})",)
    rows = next(iter(frontier_chart(fp).to_dict()["datasets"].values()))
    assert {r["mem_source"].split(":")[0] for r in rows if "run_id" in r} == sources


def test_every_gpu_run_names_its_memory_source_or_why_it_has_none(store: Store) -> None:
    table = runs_table(_gpu(store.runs_frame()))
    source = table["Memory source"]
    assert (source != MISSING).all() and source.notna().all()
    no_device = table["Peak memory (MB)"].isna()
    assert source[no_device].str.startswith("unavailable: device memory was not measured").all()
    assert source[~no_device].str.startswith("torch-allocator: ").all()
    assert (table["Origin"] == IMPORTED).all()


def test_the_runs_page_says_why_gpu_runs_have_no_device_memory(
    store: Store, run_app: RunApp
) -> None:
    at = run_app(store, page="runs", query={"dev": "cuda:0"})
    table = at.dataframe[0].value
    missing = table[table["Peak memory (MB)"].isna()]
    assert len(missing) == 32
    assert missing["Memory source"].str.contains("host process's resident set").all()


def test_the_frontier_page_on_memory_places_no_host_memory_on_a_gpu(
    store: Store, run_app: RunApp
) -> None:
    at = run_app(store, query={"x": "peak_mem_mb", "dev": "cuda:0", "by": "none"})
    assert "32 runs without Peak memory" in _texts(at)
    table = at.dataframe[-1].value  # the frontier runs
    assert len(table) and table["Memory source"].str.startswith("torch-allocator").all()


def test_methodology_is_true_for_every_run(store: Store, run_app: RunApp) -> None:
    at = run_app(store, page="methodology")
    runs = store.runs_frame()
    text = " ".join(_texts(at).split())
    assert "On a GPU it is peak allocated device memory" not in text
    assert f"{len(runs)} runs ({len(runs) - 144} measured here, 144 imported) on 3 hosts" in text
    tables = [d.value for d in at.dataframe]
    memory = next(t for t in tables if "Peak memory" in t.columns).set_index("Peak memory")
    # Every source named is one present, with its meaning and its true count.
    for key, row in memory.iterrows():
        if key == "unavailable":
            assert row["Runs"] == int(runs["peak_mem_mb"].isna().sum())
            assert runs.loc[runs["peak_mem_mb"].isna(), "device"].ne("cpu").all()
        else:
            assert row["What it measures"] == MEMORY_SOURCES[str(key)]
            assert row["Runs"] == int((runs["peak_mem_source"] == key).sum())
    assert int(memory["Runs"].sum()) == len(runs)
    # "A GPU run whose device memory was not measured has none, with the reason": so it is.
    assert "A GPU run whose device memory was not measured has none, with the reason" in text
    assert runs.loc[runs["peak_mem_mb"].isna(), "peak_mem_unavailable_reason"].notna().all()
    # Every run's own budget, stopping reason, repeats and memory source, from its record.
    facts = next(t for t in tables if "Max time (s)" in t.columns and "Run" in t.columns)
    facts = facts.set_index("Run")
    assert set(facts.index) == set(runs["run_id"])
    for rec in store.records():
        fact = facts.loc[rec.run_id].to_dict()
        assert rec.latency is not None and rec.memory is not None
        assert fact["Max time (s)"] == f"{rec.spec.budget.max_time_s:g}"
        assert fact["Target CI (± of the median)"] == f"{rec.spec.budget.target_ci_rel:.1%}"
        assert fact["Timing stopped by"] == rec.latency.stop_reason
        assert fact["Repeats"] == str(rec.spec.repeats)
        want = rec.memory.source or f"unavailable: {rec.memory.unavailable_reason}"
        assert str(fact["Memory source"]).startswith(want)
        assert fact["Latency CI scope"] == "within one process"
    data_sets = next(t for t in tables if "sha256" in t.columns)
    assert set(data_sets["sha256"]) == set(runs["dataset_sha256"])


def test_run_detail_of_an_ort_cuda_run_says_why_it_has_no_device_memory(
    store: Store, run_app: RunApp
) -> None:
    runs = store.runs_frame()
    ort_gpu = _gpu(runs)[lambda r: r["runtime"] == "ort"].iloc[0]
    at = run_app(store, page="run_detail", query={"run": ort_gpu["run_id"]})
    header = dict(zip(at.dataframe[0].value["What"], at.dataframe[0].value["Value"], strict=True))
    assert header["Memory source"].startswith("unavailable: device memory was not measured")
    assert header["Peak host memory (MB)"] == f"{ort_gpu['peak_host_mem_mb']:.4g}"
    assert header["Latency CI scope"] == "within one process"
    assert header["Origin"] == "imported (measured elsewhere)"
    assert header["Accuracy (top1)"].startswith(f"{ort_gpu['accuracy']:.4f} (95% CI ")
    assert any(m.label == "95% CI of p50, within one process" for m in at.metric)
    assert any("imported" in i.value for i in at.info)


def test_run_detail_tests_a_variant_against_its_parent(store: Store, run_app: RunApp) -> None:
    runs = store.runs_frame()
    child = runs[runs["model"] == "here-int8"]["run_id"].iloc[0]
    at = run_app(store, page="run_detail", query={"run": child})
    want = paired_test("1" * 37 + "0" * 3 + "1" * 2 + "0" * 8, "1" * 40 + "0" * 10)
    assert want.sentence("here-int8", "here-fp32") in [t.value for t in at.text]
    assert want.only_a == 2 and want.only_b == 3


def test_the_import_page_counts_hosts_by_fingerprint(store: Store, open_page: OpenPage) -> None:
    at = open_page(store, "app_pages/data.py")
    assert any("measured on 3 hosts" in c.value for c in at.caption)
    hosts = next(d.value for d in at.dataframe if "Host id" in d.value.columns)
    vms = hosts[hosts["Host"].str.startswith("vm (")]
    assert len(vms) == 2 and vms["Host id"].nunique() == 2
    assert int(hosts["Runs"].sum()) == len(store.runs_frame(status=None))
    assert np.all(hosts.loc[hosts["Host id"] == "hostvm02", "Imported"] == 0)


def test_hostile_names_are_text_on_run_detail(tmp_path: Path, run_app: RunApp) -> None:
    s = Store(tmp_path / "hostile.duckdb")
    rec = make_record(model="<b>bold</b> **x** [link](http://e.x)")
    s.ingest(rec)
    at = run_app(s, page="run_detail", query={"run": rec.run_id})
    title = at.subheader[0].value
    assert "\\*\\*x\\*\\*" in title and "\\<b\\>" in title and "\\[link\\]" in title


def test_run_detail_of_a_repeated_run_shows_each_repeat(tmp_path: Path, run_app: RunApp) -> None:
    rec = make_record(latency_ms=1.0)
    assert rec.latency is not None
    reps = tuple(RepeatLatency(p, p, p, p, 300, 0.5, "ci_target") for p in (1.0, 1.1, 0.95))
    lat = dataclasses.replace(rec.latency, repeats=reps, ci_scope="between-repeats")
    rec = dataclasses.replace(rec, latency=lat, spec=dataclasses.replace(rec.spec, repeats=3))
    s = Store(tmp_path / "repeats.duckdb")
    s.ingest(rec)
    at = run_app(s, page="run_detail", query={"run": rec.run_id})
    assert any(m.label == "95% CI of p50, between 3 repeats" for m in at.metric)
    table = next(d.value for d in at.dataframe if "Repeat" in d.value.columns)
    assert list(table["p50 (ms)"]) == [1.0, 1.1, 0.95]


def test_run_detail_title_and_header_show_the_sweep_values(tmp_path: Path, run_app: RunApp) -> None:
    rec = make_record()
    rec = dataclasses.replace(rec, spec=dataclasses.replace(rec.spec, dims={"seq": 128}))
    s = Store(tmp_path / "sweep.duckdb")
    s.ingest(rec)
    at = run_app(s, page="run_detail", query={"run": rec.run_id})
    assert shown(at.subheader[0].value).endswith("seq=128")  # as read: data is escaped text
    header = at.dataframe[0].value
    assert header.loc[header["What"] == "Sweep values", "Value"].tolist() == ["seq=128"]


@pytest.mark.parametrize("name", ["failed_only", "nan_metrics", "reported_accuracy"])
def test_run_detail_of_every_awkward_run(name: str, make_store: MakeStore, run_app: RunApp) -> None:
    store = make_store(name)
    for run_id in store.runs_frame(status=None)["run_id"]:
        at = run_app(store, page="run_detail", query={"run": run_id})
        header = dict(
            zip(at.dataframe[0].value["What"], at.dataframe[0].value["Value"], strict=True)
        )
        assert header["Repeats"] == "1" and "Memory source" in header
