"""The Profile page's causal-LM form as data: its uploads' roles and the request it makes."""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path
from typing import Any

import pytest

from paretoscope.core.errors import InputError
from paretoscope.profiling import lm_form, uploads
from store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "form.duckdb")


def _upload(store: Store, name: str, data: bytes, role: str) -> uploads.Upload:
    return uploads.save_upload(store, name, io.BytesIO(data), role=role, limit_mb=10.0)


def _quarantined(store: Store) -> list[Path]:
    return list((store.files_dir / uploads.QUARANTINE).glob("*/*"))


def test_the_lm_role_takes_a_zip_and_nothing_else(store: Store) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("config.json", "{}")
    saved = _upload(store, "my model.zip", buf.getvalue(), "lm")
    assert saved.path.name == "lm.zip" and saved.original_name == "my model.zip"
    with pytest.raises(InputError, match=r"refused fake\.zip: it is .*, not a zip archive"):
        _upload(store, "fake.zip", b"just some bytes", "lm")
    with pytest.raises(InputError, match=r"refused w\.zip: it is a Python pickle"):
        _upload(store, "w.zip", pickle.dumps([1], protocol=4), "lm")
    assert _quarantined(store) == [saved.path]


def test_the_text_role_takes_text_and_refuses_a_pickle(store: Store) -> None:
    saved = _upload(store, "eval.txt", b"some text\n", "text")
    lm_form.check_text_upload(saved)  # read by measure.llm.text: fine
    with pytest.raises(InputError, match="Python pickle"):
        _upload(store, "eval.txt", pickle.dumps("text", protocol=4), "text")
    bad = _upload(store, "held out.jsonl", b'{"not_text": 1}\n', "text")
    with pytest.raises(InputError, match=r"held out\.jsonl") as err:
        lm_form.check_text_upload(bad)
    assert "text.jsonl" not in str(err.value)


def _answers(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "text": lm_form.TEXT_NONE,
        "prompt_len": "32, 8 32",
        "gen_len": "4",
        "context": 64,
        "p.fp32": True,
        "p.int8": True,
        "batches": [4, 1],
        "threads": [1],
        "budget": "quick: up to 0.2 s",
        "timeout_s": 60.0,
    }
    return {**base, **over}


MODEL = uploads.Upload(Path("/q/abc/lm.zip"), "tiny gpt2.zip", 100)


def test_answers_make_a_causal_lm_request() -> None:
    req = lm_form.lm_request_from_answers(MODEL, _answers())
    assert (req.task, req.runtimes, req.source, req.name) == (
        "causal-lm", ("torch",), "upload", "tiny gpt2"
    )  # fmt: skip
    assert req.precisions == ("fp32", "int8") and req.batches == (1, 4)
    assert req.dims == {"prompt_len": (32, 8), "gen_len": (4,), "context": (64,)}
    assert req.repeats == 1 and req.data_path is None and req.budget.max_time_s == 0.2
    text = uploads.Upload(Path("/q/def/text.txt"), "eval.txt", 10)
    req = lm_form.lm_request_from_answers(
        MODEL, _answers(text=lm_form.TEXT_UPLOAD, text_saved=text)
    )
    assert req.data_path == "/q/def/text.txt" and req.data_name == "eval.txt"


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"gen_len": "1"}, "--gen-len values must be >= 2"),
        ({"prompt_len": "8, x"}, "'x' is not a whole number"),
        ({"context": 1}, "--context must be >= 2"),
        ({"p.fp32": False, "p.int8": False}, "choose at least one precision"),
        ({"batches": []}, "choose at least one batch size"),
        ({"text": lm_form.TEXT_UPLOAD}, "upload an evaluation text"),
    ],
)
def test_bad_answers_are_refused_with_a_reason(over: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        lm_form.lm_request_from_answers(MODEL, _answers(**over))
