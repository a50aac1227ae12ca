"""Run detail shows a run's operator profile: a table and bars, operator names as plain data."""

from __future__ import annotations

import dataclasses
import math

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from paretoscope.core.records import OpProfile, OpTime, RunRecord
from store import Store
from tests.app_pages.conftest import RunApp
from tests.app_pages.hostile import hostile, live_in, markdown_bodies
from tests.factories import make_record
from tests.opprofile_records import profiled_records

EVIL_OP = hostile("op")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    root = tmp_path_factory.mktemp("opprof-page")
    fp32, int8 = profiled_records(root / "models")
    evil = make_record(
        model="evil-ops",
        op_profile=OpProfile(
            profiler=hostile("profiler"),
            iterations=10,
            ops=(OpTime(EVIL_OP, 10, 2.0, 0.8), OpTime("Relu", 10, 0.5, 0.2)),
        ),
    )
    asked = make_record(model="asked-but-none")
    asked = dataclasses.replace(asked, spec=dataclasses.replace(asked.spec, op_profile=True))
    s = Store(root / "s.duckdb")
    s.ingest_many([fp32, int8, evil, asked])
    return s


def _run_id(store: Store, model: str) -> str:
    return str(store.runs_frame().query("model == @model")["run_id"].iloc[0])


def _op_frame(at: AppTest) -> pd.DataFrame:
    frames = [d.value for d in at.dataframe if "Operator" in d.value.columns]
    assert len(frames) == 1, [list(d.value.columns) for d in at.dataframe]
    return frames[0]


@pytest.mark.parametrize("model", ["opprof-mlp", "opprof-mlp-int8"])
def test_run_detail_shows_the_op_table_and_bars(store: Store, run_app: RunApp, model: str) -> None:
    rec = store.get_record(_run_id(store, model))
    assert isinstance(rec, RunRecord) and rec.op_profile is not None
    at = run_app(store, page="run_detail", query={"run": rec.run_id})
    assert "Operator profile" in [h.value for h in at.subheader]
    table = _op_frame(at)
    assert list(table["Operator"]) == [op.op for op in rec.op_profile.ops]
    assert math.isclose(float(table["Share (%)"].sum()), 100.0, rel_tol=1e-9)
    assert list(table["Rank"]) == list(range(1, len(table) + 1))
    assert len(at.get("vega_lite_chart")) == 2  # the latency distribution and the op bars
    captions = " ".join(c.value for c in at.caption)
    assert "onnxruntime profiler" in captions and "after the timed window" in captions
    if model.endswith("int8"):
        assert set(table["Operator"]) & {"DynamicQuantizeMatMul", "MatMulInteger"}


def test_operator_names_from_the_model_stay_text(store: Store, run_app: RunApp) -> None:
    at = run_app(store, page="run_detail", query={"run": _run_id(store, "evil-ops")})
    assert list(_op_frame(at)["Operator"]) == [EVIL_OP, "Relu"]
    assert live_in(markdown_bodies(at)) == []


def test_a_run_without_a_profile_shows_none_and_says_why_when_one_was_asked(
    store: Store, run_app: RunApp
) -> None:
    at = run_app(store, page="run_detail", query={"run": _run_id(store, "asked-but-none")})
    assert "Operator profile" not in [h.value for h in at.subheader]
    assert any("operator profile was asked for" in c.value for c in at.caption)
