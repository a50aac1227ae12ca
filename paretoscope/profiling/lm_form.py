"""The Profile page's causal-LM form as data: a zipped Hugging Face folder, its text, its sweep.

No Streamlit: ``paretoscope.ui.lm_form`` draws the widgets (keys
``profile.lm.*``) and hands their values here by name (``text``,
``prompt_len``, ``gen_len``, ``context``, ``p.fp32``, ``batches``…). The
zip is checked by ``hfzip.describe_lm_zip`` (the same checks as
``paretoscope profile MODEL.zip``), the text by ``measure.llm.text``; the
request is then checked by ``lm_plan.check_lm_request`` and runs, as a job,
through ``run_profile`` like any other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from paretoscope.core.errors import InputError
from paretoscope.profiling.form import QUICK
from paretoscope.profiling.hfzip import LmZipInfo, ZipLimits, describe_lm_zip
from paretoscope.profiling.lm_plan import LM_PRECISIONS, LM_TASK, check_lm_request
from paretoscope.profiling.request import DEFAULT_TIMEOUT_S, ProfileRequest
from paretoscope.profiling.uploads import Upload, as_uploaded, parse_values

__all__ = [
    "LM_BATCH_CHOICES",
    "LM_PRECISIONS",
    "TEXT_CHOICES",
    "TEXT_NONE",
    "TEXT_UPLOAD",
    "UNPACK_FACTOR",
    "check_lm_upload",
    "check_text_upload",
    "is_lm_upload",
    "lm_request_from_answers",
    "zip_facts",
]

TEXT_UPLOAD, TEXT_NONE = (
    "Upload a text (.txt, or .jsonl with a `text` field)",
    "None: efficiency only (random prompts)",
)
TEXT_CHOICES = (TEXT_UPLOAD, TEXT_NONE)
LM_BATCH_CHOICES = (1, 2, 4, 8, 16, 32)


def is_lm_upload(name: str) -> bool:
    """Whether an uploaded file is offered as a zipped causal LM (by its name: ``.zip``)."""
    return name.lower().endswith(".zip")


#: A browser upload may unpack to this many times the server's upload limit (safetensors
#: weights barely compress, so a real model's zip is close to its unpacked size).
UNPACK_FACTOR = 4


def check_lm_upload(saved: Upload, limit_mb: float) -> LmZipInfo:
    """Every check of the uploaded zip, unpacked beside it in its quarantine folder and removed.

    ``limit_mb`` is the server's upload limit; the zip may unpack to
    ``UNPACK_FACTOR`` times it. Raises ``InputError`` naming the file as
    uploaded; the caller removes the upload then (nothing else was written).
    """
    limits = ZipLimits(max_unpacked_bytes=int(UNPACK_FACTOR * limit_mb * (1 << 20)))
    return describe_lm_zip(
        saved.path, name=saved.original_name, parent=saved.path.parent, limits=limits
    )


def check_text_upload(saved: Upload) -> None:
    """Refuse an evaluation text ``measure.llm.text`` cannot read, naming it as uploaded."""
    from measure.llm.text import read_text_file

    try:
        read_text_file(saved.path)
    except InputError as err:
        raise InputError(as_uploaded(str(err), saved.path, saved.original_name)) from None


def zip_facts(info: LmZipInfo) -> list[tuple[str, str]]:
    """(label, value) pairs to show of a checked zip; a value unknown from config.json says so."""

    def num(v: int | None) -> str:
        return f"{v:,}" if v is not None else "not in config.json"

    params = f"{info.params:,}" if info.params is not None else "unreadable header"
    return [
        ("Architecture", info.architecture),
        ("Parameters", params),
        ("Layers", num(info.n_layers)),
        ("Width", num(info.width)),
        ("Vocabulary", num(info.vocab_size)),
        ("Max positions", num(info.max_positions)),
        ("Files", str(info.n_files)),
        ("Unpacked", f"{info.unpacked_bytes / 1e6:.2f} MB"),
    ]


def lm_request_from_answers(model: Upload, answers: Mapping[str, Any]) -> ProfileRequest:
    """The LM form's answers (by widget name, without ``profile.lm.``) as a checked request.

    ``answers["text_saved"]`` is the uploaded text (an ``Upload``) when there
    is one. Raises ``InputError`` for a bad value (``check_lm_request``).
    """
    text = answers.get("text_saved") if answers.get("text") == TEXT_UPLOAD else None
    if answers.get("text") == TEXT_UPLOAD and text is None:
        raise InputError("upload an evaluation text, or choose efficiency only")
    context = int(answers.get("context") or 0)
    budget = answers.get("budget") or ""
    request = ProfileRequest(
        model_path=str(model.path),
        data_path=str(text.path) if text else None,
        task=LM_TASK,
        runtimes=("torch",),
        precisions=tuple(p for p in LM_PRECISIONS if answers.get(f"p.{p}")),
        devices=tuple(answers.get("devices") or ("cpu",)),
        batches=tuple(sorted(answers.get("batches") or ())),
        threads=tuple(sorted(answers.get("threads") or (1,))),
        dims={
            "prompt_len": parse_values(answers.get("prompt_len") or "", "prompt lengths"),
            "gen_len": parse_values(answers.get("gen_len") or "", "generated lengths"),
            "context": (context,),
        },
        source="upload",
        name=model.original_name.rsplit(".", 1)[0] or "model",
        budget=QUICK if budget.startswith("quick") else ProfileRequest("").budget,
        repeats=1,
        timeout_s=float(answers.get("timeout_s", DEFAULT_TIMEOUT_S)),
        data_name=text.original_name if text else None,
    )
    if not request.precisions:
        raise InputError("choose at least one precision")
    if not request.batches:
        raise InputError("choose at least one batch size")
    check_lm_request(request)
    return request
