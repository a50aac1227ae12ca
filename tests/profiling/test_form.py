"""The Profile form as data: repeats in the request, and job titles that show the sweep."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from paretoscope.core.errors import InputError
from paretoscope.core.modelinfo import ModelInfo, TensorInfo
from paretoscope.core.records import from_dict, to_dict
from paretoscope.profiling import form
from paretoscope.profiling.request import (
    DEFAULT_REPEATS,
    MAX_REPEATS,
    ProfileRequest,
    sweep_text,
    validate_options,
)
from paretoscope.profiling.uploads import Upload


def _info() -> ModelInfo:
    inputs = (TensorInfo("ids", "int64", ("batch", "seq")),)
    return ModelInfo(
        path="m.onnx",
        sha256="0" * 64,
        size_bytes=10,
        inputs=inputs,
        outputs=(TensorInfo("logits", "float32", ("batch", 2)),),
        opsets={"": 18},
        ir_version=9,
        producer="test",
        params=None,
    )


def _answers(**extra: object) -> dict[str, object]:
    answers: dict[str, object] = {
        "eval": form.DATA_NONE,
        "task": "classification",
        "budget": form.BUDGETS[0],
        "batches": [1],
        "threads": [1],
        "dim.seq": "32, 128",
        **{f"p.{p}": p == "fp32" for p in ("fp32", "fp16", "int8", "int8-static")},
    }
    answers.update(extra)
    return answers


def _upload(tmp_path: Path) -> Upload:
    return Upload(path=tmp_path / "model.onnx", original_name="tokens.onnx", size_bytes=10)


def test_the_form_asks_for_repeats_and_they_survive_the_jobs_json(tmp_path: Path) -> None:
    request = form.request_from_answers(_upload(tmp_path), _info(), _answers(repeats=5))
    assert request.repeats == 5
    again = from_dict(ProfileRequest, json.loads(json.dumps(to_dict(request))))
    assert again.repeats == 5 and again.budget == request.budget
    default = form.request_from_answers(_upload(tmp_path), _info(), _answers())
    assert default.repeats == DEFAULT_REPEATS == 3


def test_the_job_title_shows_every_swept_value_and_the_repeats(tmp_path: Path) -> None:
    request = form.request_from_answers(_upload(tmp_path), _info(), _answers(repeats=3))
    assert form.job_title("tokens.onnx", request) == (
        "tokens.onnx: fp32 · batch 1 · seq=32,128 · 3 repeats · 2 run(s)"
    )
    one = dataclasses.replace(request, repeats=1, threads=(1, 2), batches=(1, 8))
    assert form.job_title("tokens.onnx", one) == (
        "tokens.onnx: fp32 · batch 1, 8 · threads 1, 2 · seq=32,128 · 8 run(s)"
    )


def test_sweep_text_orders_dimensions_by_name() -> None:
    request = ProfileRequest(model_path="m.onnx", dims={"seq": (32,), "beam": (1, 4)}, repeats=1)
    assert sweep_text(request) == "fp32 · batch 1 · beam=1,4 · seq=32"


@pytest.mark.parametrize("repeats", [0, -1, MAX_REPEATS + 1])
def test_repeats_out_of_range_are_refused(repeats: int) -> None:
    with pytest.raises(InputError, match="repeats must be from 1 to"):
        validate_options(ProfileRequest(model_path="m.onnx", repeats=repeats))


def test_the_form_sets_the_time_limit_within_the_operators_maximum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paretoscope.profiling import max_run_seconds, validate_options

    default = form.request_from_answers(_upload(tmp_path), _info(), _answers())
    assert default.timeout_s == form.DEFAULT_TIMEOUT_S == 300.0
    asked = form.request_from_answers(_upload(tmp_path), _info(), _answers(timeout_s=900.0))
    assert asked.timeout_s == 900.0
    monkeypatch.delenv("PARETOSCOPE_MAX_RUN_SECONDS", raising=False)
    assert max_run_seconds() == 1800.0
    monkeypatch.setenv("PARETOSCOPE_MAX_RUN_SECONDS", "600")
    with pytest.raises(InputError, match=r"at most 600 s.*PARETOSCOPE_MAX_RUN_SECONDS"):
        validate_options(asked)
    validate_options(dataclasses.replace(asked, source="cli"))  # the operator's own command line
    monkeypatch.setenv("PARETOSCOPE_MAX_RUN_SECONDS", "soon")
    with pytest.raises(InputError, match="not a positive number"):
        max_run_seconds()
