"""The Profile page takes a zipped causal LM: checked, its options offered, a job that runs.

AppTest drives the page; the zip is the real tiny GPT-2 of ``tests.llm``
(a locally trained tokenizer, safetensors), and the job runs for real
through ``jobrunner.run_job``, the background runner's own path.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from paretoscope.profiling import uploads
from store import Store
from tests.app_pages.conftest import APP
from tests.app_pages.hostile import hostile, live_markup, shown
from tests.llm.conftest import _text, build_tiny_gpt2

PAGE = "app_pages/profile.py"


def _zip(
    folder: Path, extra: dict[str, bytes] | None = None, config: dict[str, Any] | None = None
) -> bytes:
    """The folder zipped under ``tiny-gpt2/``, with ``extra`` entries; ``config`` replaces
    config.json (then ``extra`` must not name it)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.iterdir()):
            if config is not None and p.name == "config.json":
                zf.writestr("tiny-gpt2/config.json", json.dumps(config))
            else:
                zf.write(p, f"tiny-gpt2/{p.name}")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_gpt2(tmp_path_factory.mktemp("lm") / "tiny-gpt2")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "profile.duckdb")


def upload(store: Store, monkeypatch: pytest.MonkeyPatch, name: str, data: bytes) -> AppTest:
    monkeypatch.setenv("PARETOSCOPE_STORE", str(store.path))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.switch_page(PAGE).run()
    at.file_uploader(key="profile.model").set_value((name, data, "application/zip"))
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.slow
def test_a_zipped_lm_is_checked_offered_its_options_and_run_as_a_job(
    store: Store, monkeypatch: pytest.MonkeyPatch, tiny_folder: Path, launches: list[Store]
) -> None:
    at = upload(store, monkeypatch, "tiny gpt2.zip", _zip(tiny_folder))
    assert not at.error, [e.value for e in at.error]
    metrics = {m.label: m.value for m in at.metric}
    page = shown("\n".join(str(m.value) for m in at.markdown))
    assert "A causal language model: **GPT2LMHeadModel** (model type gpt2)" in page
    assert metrics["Layers"] == "2"
    assert metrics["Parameters"] == "51,456" and metrics["Vocabulary"] == "300"
    # The LM options, not the ONNX ones: lengths, context, the LM precisions.
    assert {"profile.lm.prompt_len", "profile.lm.gen_len"} <= {t.key for t in at.text_input}
    assert {c.label for c in at.checkbox} >= {"fp32", "fp16", "bf16", "int8"}
    assert not at.dataframe  # no ONNX input/output table
    at.radio(key="profile.lm.text").set_value(at.radio(key="profile.lm.text").options[0]).run()
    text = _text()[100_000:101_500].encode()
    at.file_uploader(key="profile.lm.textfile").set_value(("eval.txt", text, "text/plain")).run()
    assert not at.error, [e.value for e in at.error]
    at.text_input(key="profile.lm.prompt_len").set_value("4, 8")
    at.text_input(key="profile.lm.gen_len").set_value("2")
    at.number_input(key="profile.lm.context").set_value(16)
    at.checkbox(key="profile.lm.p.int8").check()
    at.radio(key="profile.lm.budget").set_value(at.radio(key="profile.lm.budget").options[1])
    at.button(key="profile.lm.submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Submitted" in shown("\n".join(str(s.value) for s in at.success))
    (job,) = jobs.list_jobs(store)
    assert len(launches) == 1 and job.status == "queued"
    req = job.request
    assert req["task"] == "causal-lm" and req["runtimes"] == ["torch"]
    assert req["precisions"] == ["fp32", "int8"] and req["name"] == "tiny gpt2"
    assert req["dims"] == {"prompt_len": [4, 8], "gen_len": [2], "context": [16]}
    assert req["data_name"] == "eval.txt" and uploads.in_quarantine(store, req["model_path"])
    assert job.title.startswith("tiny gpt2.zip: fp32, int8 · batch 1") and "4 run(s)" in job.title

    # The background runner's path: plan (unzip, check, store), measure, store.
    claimed = jobs.claim_next_job(store)
    assert claimed is not None
    done = jobrunner.run_job(store, claimed)
    assert done is not None and done.status == "done", done.message if done else None
    runs = store.runs_frame(status=None)
    assert len(runs) == 4 and set(runs["status"]) == {"ok"}
    assert set(runs["dim_prompt_len"]) == {4, 8} and (runs["perplexity"] > 1).all()
    assert set(runs["dataset"].str.split(" ").str[0]) == {"eval.txt"}
    int8 = runs[runs["precision"] == "int8"]
    assert set(int8["parent_model_id"]) == set(runs[runs["precision"] == "fp32"]["model_id"])
    # The uploads left quarantine with the finished job.
    assert not Path(req["model_path"]).exists() and not Path(req["data_path"]).exists()


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"tiny-gpt2/../../evil.txt": b"x"}, "has a '..' component"),
        ({"tiny-gpt2/pytorch_model.bin": b"\x80\x04N."}, "holds pickled weights"),
    ],
)
def test_a_hostile_zip_is_refused_with_its_reason_and_nothing_stored(
    store: Store,
    monkeypatch: pytest.MonkeyPatch,
    tiny_folder: Path,
    extra: dict[str, bytes],
    expected: str,
) -> None:
    at = upload(store, monkeypatch, "bad.zip", _zip(tiny_folder, extra))
    (error,) = [shown(e.value) for e in at.error]
    assert error.startswith("refused bad.zip") and expected in error
    assert not list((store.files_dir / uploads.QUARANTINE).glob("*/*")), "refused zip removed"
    assert [b for b in at.button if b.key == "profile.lm.submit"] == []
    assert jobs.list_jobs(store) == [] and store.runs_frame(status=None).empty
    assert not (store.files_dir / "artifacts").exists() or not any(
        (store.files_dir / "artifacts").iterdir()
    )


def test_a_zip_of_something_else_is_refused(
    store: Store, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", '{"architectures": ["BertForMaskedLM"]}')
        zf.writestr("model.safetensors", b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    at = upload(store, monkeypatch, "bert.zip", buf.getvalue())
    (error,) = [shown(e.value) for e in at.error]
    assert "names the architectures BertForMaskedLM, not a causal language model" in error


def test_hostile_names_in_config_are_shown_as_text(
    store: Store, monkeypatch: pytest.MonkeyPatch, tiny_folder: Path
) -> None:
    config = json.loads((tiny_folder / "config.json").read_text())
    config["architectures"] = [hostile("arch") + "ForCausalLM"]
    config["model_type"] = hostile("type")
    at = upload(store, monkeypatch, "m.zip", _zip(tiny_folder, config=config))
    assert not at.error, [e.value for e in at.error]
    body = "\n".join(str(m.value) for m in at.markdown)
    assert "A causal language model" in body and live_markup(body) == []
