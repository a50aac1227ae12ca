"""The Profile page under AppTest: empty state, upload, inspection, refusals, submit, jobs."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from paretoscope.core.errors import InputError
from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from paretoscope.profiling import uploads
from store import Store
from tests.app_pages.conftest import APP
from tests.app_pages.hostile import shown

PAGE = "app_pages/profile.py"


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    from measure.testing import export_onnx, tiny_mlp

    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    export_onnx(tiny_mlp(), path, np.zeros((2, 64), dtype=np.float32))
    return path.read_bytes()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "profile.duckdb")


def open_page(store: Store, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("PARETOSCOPE_STORE", str(store.path))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page(PAGE)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def text(at: AppTest) -> str:
    kinds = ("title", "caption", "info", "warning", "error", "success", "markdown", "subheader")
    return shown("\n".join(str(e.value) for kind in kinds for e in getattr(at, kind)))


def upload_model(at: AppTest, name: str, data: bytes) -> AppTest:
    at.file_uploader(key="profile.model").set_value((name, data, "application/octet-stream"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_empty_state(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    at = open_page(store, monkeypatch)
    assert at.title[0].value == "Profile a model"
    assert "No jobs yet" in text(at)
    # AppTest runs in the repo root, so Streamlit's default applies here; `serve` runs in
    # paretoscope/webapp, whose config sets 500 MB (the test below reads that file).
    limit = float(st.get_option("server.maxUploadSize"))
    assert "server.maxUploadSize" in text(at) and f"{limit:g} MB" in text(at)
    assert "PARETOSCOPE_ALLOW_TORCH_UPLOADS=1" in text(at)
    assert not at.error
    assert [b.label for b in at.button] == []


def test_an_upload_is_inspected_and_can_be_submitted(
    store: Store, monkeypatch: pytest.MonkeyPatch, tiny_onnx: bytes, launches: list[Store]
) -> None:
    at = upload_model(open_page(store, monkeypatch), "my model.onnx", tiny_onnx)
    assert not at.error, [e.value for e in at.error]
    (table,) = [d.value for d in at.dataframe if "Shape" in d.value.columns]
    inputs = table[table[""] == "input"]
    assert list(inputs["Name"]) == ["x"] and list(inputs["Type"]) == ["float32"]
    assert list(inputs["Shape"]) == ["[batch, 64]"]
    assert {m.label for m in at.metric} == {"File size", "Parameters", "Opset", "Nodes"}
    assert "Symbolic dimensions: batch" in text(at)
    # The file lies in quarantine under a name chosen by Paretoscope.
    saved = list((store.files_dir / uploads.QUARANTINE).glob("*/*"))
    assert [p.name for p in saved] == ["model.onnx"]

    at.radio(key="profile.eval").set_value("None: efficiency only").run()
    assert "efficiency-only" in text(at)
    at.checkbox(key="profile.p.int8").check()
    at.multiselect(key="profile.batches").set_value([1, 8])
    at.button(key="profile.submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Submitted" in text(at)
    (job,) = jobs.list_jobs(store)
    assert job.status == "queued" and len(launches) == 1
    assert job.request["precisions"] == ["fp32", "int8"] and job.request["batches"] == [1, 8]
    assert job.request["source"] == "upload" and job.request["name"] == "my model"
    assert uploads.in_quarantine(store, job.request["model_path"])
    assert job.request["data_path"] is None and job.request["reported_accuracy"] is None
    assert "4 run(s)" in job.title
    # Three fresh processes per run unless the form says otherwise.
    assert job.request["repeats"] == 3 and "3 repeats" in job.title

    # A second submit while the first waits is queued behind it, not lost.
    at.button(key="profile.submit").click().run()
    assert "Queued behind 1 job(s)" in text(at)
    assert [j.status for j in jobs.list_jobs(store)] == ["queued", "queued"]

    # The runner removes a finished job's quarantine copy; the page saves the upload again.
    uploads.remove_upload(store, job.request["model_path"])
    at.button(key="profile.submit").click().run()
    newest = jobs.list_jobs(store)[0]
    assert newest.request["model_path"] != job.request["model_path"]
    assert Path(newest.request["model_path"]).exists()


def test_a_reported_accuracy_is_labelled_reported(
    store: Store, monkeypatch: pytest.MonkeyPatch, tiny_onnx: bytes, launches: list[Store]
) -> None:
    at = upload_model(open_page(store, monkeypatch), "m.onnx", tiny_onnx)
    at.radio(key="profile.eval").set_value("Type an accuracy measured elsewhere").run()
    assert "**reported**" in text(at)
    at.number_input(key="profile.reported").set_value(0.81)
    at.button(key="profile.submit").click().run()
    (job,) = jobs.list_jobs(store)
    assert job.request["reported_accuracy"] == pytest.approx(0.81)


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("random.onnx", bytes(range(256)) * 40, "not a valid ONNX"),
        ("weights.onnx", pickle.dumps({"w": [1, 2]}, protocol=4), "pickle"),
        ("model.pkl", b"anything at all", "pickle"),
        ("empty.onnx", b"", "empty"),
    ],
)
def test_bad_files_get_a_specific_message_and_leave_nothing(
    store: Store, monkeypatch: pytest.MonkeyPatch, name: str, data: bytes, expected: str
) -> None:
    at = upload_model(open_page(store, monkeypatch), name, data)
    assert len(at.error) == 1 and expected in shown(at.error[0].value), at.error[0].value
    assert name in shown(at.error[0].value)
    assert not list((store.files_dir / uploads.QUARANTINE).glob("*/*")), "refused file removed"
    assert not at.dataframe and jobs.list_jobs(store) == []


def _job_in(store: Store, status: str) -> jobs.Job:
    job = jobs.submit_job(store, {"model_path": "x"}, title=f"{status} job")
    if status == "queued":
        return job
    claimed = jobs.claim_next_job(store)
    assert claimed is not None and claimed.job_id == job.job_id
    if status == "running":
        jobs.report_progress(store, job.job_id, 2, 5, "ort int8 · batch 8", 12.0)
    elif status == "interrupted":
        jobs.interrupt_job(store, claimed, "Interrupted: the job runner stopped.")
    else:
        jobs.finish_job(store, job.job_id, status, f"{status} message", runs_ok=3)
    return job


def test_the_jobs_list_shows_every_status(
    store: Store, monkeypatch: pytest.MonkeyPatch, launches: list[Store]
) -> None:
    for status in ("done", "failed", "cancelled", "interrupted", "running"):
        _job_in(store, status)
    _job_in(store, "queued")  # claimed last: the runner above is this live process
    at = open_page(store, monkeypatch)
    page = text(at)
    for status in jobs.JOB_STATUSES:
        assert f"**{status} job** — {status}" in page
    assert [b.label for b in at.button if b.label == "Cancel"] == ["Cancel", "Cancel"]
    (bar,) = at.get("progress")
    assert "2/5 — ort int8 · batch 8, about 0:12 left" in bar.proto.text
    errors = [e.value for e in at.error]
    assert "failed message" in errors and any("Interrupted" in e for e in errors)
    # No runner holds this store's lock: the queued job says so and offers to start one.
    assert "1 job(s) are queued but no job runner is running" in page
    at.button(key="profile.start_runner").click().run()
    assert len(launches) == 1

    queued = next(j for j in jobs.list_jobs(store) if j.status == "queued")
    at.button(key=f"profile.cancel.{queued.job_id}").click().run()
    after = jobs.get_job(store, queued.job_id)
    assert after is not None and after.status == "cancelled"


def test_a_dead_runners_job_is_shown_interrupted(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = jobs.submit_job(store, {}, title="orphan")
    claimed = jobs.claim_next_job(store, pid=2**22 + 12345)  # no such process
    assert claimed is not None
    at = open_page(store, monkeypatch)
    assert "**orphan** — interrupted" in text(at)
    stored = jobs.get_job(store, job.job_id)
    assert stored is not None and stored.status == "interrupted"


def test_uploads_over_the_limit_are_refused(store: Store) -> None:
    import io

    with pytest.raises(InputError, match=r"over this server's upload limit of 1 MB"):
        uploads.save_upload(
            store, "big.onnx", io.BytesIO(b"x" * (2 << 20)), role="model", limit_mb=1
        )
    with pytest.raises(InputError, match=r"server\.maxUploadSize"):
        uploads.save_upload(
            store, "big.onnx", io.BytesIO(b""), role="model", limit_mb=1, size_bytes=5 << 20
        )
    assert not list((store.files_dir / uploads.QUARANTINE).glob("*/*"))


def test_data_uploads_must_be_data(store: Store) -> None:
    import io

    with pytest.raises(InputError, match="pickle"):
        uploads.save_upload(
            store, "eval.npz", io.BytesIO(pickle.dumps([1], protocol=4)), role="data", limit_mb=5
        )
    ok = uploads.save_upload(store, "d.csv", io.BytesIO(b"a,label\n1,0\n"), role="data", limit_mb=5)
    assert ok.path.name == "data.csv" and uploads.in_quarantine(store, ok.path)
    uploads.remove_upload(store, ok.path)
    assert not ok.path.exists()


def test_parse_values() -> None:
    assert uploads.parse_values("1, 8 8,32", "batch") == (1, 8, 32)
    for bad in ("", "0", "a", "-1", "1.5"):
        with pytest.raises(InputError):
            uploads.parse_values(bad, "seq")


def test_the_config_sets_a_documented_upload_limit() -> None:
    import tomllib

    config = tomllib.loads((APP.parent / ".streamlit" / "config.toml").read_text())
    assert config["server"]["maxUploadSize"] == 500


def test_an_interrupted_job_can_run_again(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, launches: list[Store]
) -> None:
    model = tmp_path / "kept.onnx"
    model.write_bytes(b"onnx")
    job = jobs.submit_job(store, {"model_path": str(model)}, title="stopped")
    claimed = jobs.claim_next_job(store)
    assert claimed is not None
    jobs.interrupt_job(store, claimed, "Interrupted: the job runner stopped.")
    gone = jobs.submit_job(store, {"model_path": str(tmp_path / "gone.onnx")}, title="no file")
    jobs.cancel_job(store, gone.job_id)
    at = open_page(store, monkeypatch)
    assert [b.key for b in at.button if b.label == "Run again"] == [f"profile.again.{job.job_id}"]
    at.button(key=f"profile.again.{job.job_id}").click().run()
    newest = jobs.list_jobs(store)[0]
    assert newest.status == "queued" and len(launches) == 1
    assert newest.request == {**job.request, "skip_points": [], "resumes": job.job_id}
    assert at.session_state["profile.polling"] is True, "the list follows the new job by itself"
    assert any("did not store" in i.value or "stored no run" in i.value for i in at.info), [
        i.value for i in at.info
    ]


def _token_model() -> bytes:
    """An ONNX model over int64 token ids of shape [batch, seq] (both symbolic)."""
    from onnx import TensorProto, helper

    ids = helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "seq"])
    out = helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", "seq"])
    graph = helper.make_graph(
        [helper.make_node("Cast", ["ids"], ["scores"], to=TensorProto.FLOAT)], "g", [ids], [out]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def test_every_symbolic_dimension_besides_the_batch_gets_values(
    store: Store, monkeypatch: pytest.MonkeyPatch, launches: list[Store]
) -> None:
    at = upload_model(open_page(store, monkeypatch), "tokens.onnx", _token_model())
    assert not at.error, [e.value for e in at.error]
    (table,) = [d.value for d in at.dataframe if "Shape" in d.value.columns]
    assert list(table["Type"]) == ["int64", "float32"]
    assert list(table["Shape"]) == ["[batch, seq]", "[batch, seq]"]
    assert [t.label for t in at.text_input] == ["Values of seq (comma-separated; each is a run)"]
    at.radio(key="profile.eval").set_value("None: efficiency only").run()
    at.button(key="profile.submit").click().run()
    assert any("give at least one value for `seq`" in shown(e.value) for e in at.error)
    assert jobs.list_jobs(store) == []
    at.text_input(key="profile.dim.seq").input("16, 32")
    at.number_input(key="profile.repeats").set_value(5)
    at.button(key="profile.submit").click().run()
    (job,) = jobs.list_jobs(store)
    assert job.request["dims"] == {"seq": [16, 32]} and "2 run(s)" in job.title
    # The sweep's values and the repeats are in the title; the repeats survive the job's JSON.
    assert "seq=16,32" in job.title and "5 repeats" in job.title
    assert job.request["repeats"] == 5 and jobrunner.profile_request(job).repeats == 5


def test_the_time_limit_per_run_is_set_within_the_operators_maximum(
    store: Store, monkeypatch: pytest.MonkeyPatch, launches: list[Store]
) -> None:
    monkeypatch.setenv("PARETOSCOPE_MAX_RUN_SECONDS", "600")
    at = upload_model(open_page(store, monkeypatch), "tokens.onnx", _token_model())
    limit = at.number_input(key="profile.timeout_s")
    assert limit.value == 300.0 and limit.max == 600.0
    assert "at most 600 s" in limit.help and "PARETOSCOPE_MAX_RUN_SECONDS" in limit.help
    at.radio(key="profile.eval").set_value("None: efficiency only").run()
    at.text_input(key="profile.dim.seq").input("16")
    at.number_input(key="profile.timeout_s").set_value(45.0)
    at.button(key="profile.submit").click().run()
    (job,) = jobs.list_jobs(store)
    assert job.request["timeout_s"] == 45.0
    assert jobrunner.profile_request(job).timeout_s == 45.0


def test_only_built_in_sets_that_fit_are_offered(
    store: Store, monkeypatch: pytest.MonkeyPatch, tiny_onnx: bytes, launches: list[Store]
) -> None:
    at = upload_model(open_page(store, monkeypatch), "m.onnx", tiny_onnx)
    at.radio(key="profile.eval").set_value("A built-in data set").run()
    assert at.selectbox(key="profile.builtin").options == [
        "scikit-learn digits: 8×8 grey images in [0, 1], 10 classes; fits inputs of 64 features "
        "or 1×8×8 / 8×8 images"
    ]
    at.checkbox(key="profile.p.int8-static").check()
    at.button(key="profile.submit").click().run()
    (job,) = jobs.list_jobs(store)
    assert job.request["builtin_data"] == "digits" and job.request["data_path"] is None
    assert job.request["precisions"] == ["fp32", "int8-static"]
