"""Load a causal language model safely: a Hugging Face folder, or trusted ``module:function``.

A folder is loaded with ``transformers`` offline (``local_files_only``) and
built-in architectures only: ``trust_remote_code`` is never set, a config
that names custom code (``auto_map``) is refused, and so is any pickled
weight file, because unpickling runs code. ``check_folder`` makes every
refusal without importing torch or transformers, so the parent process can
refuse a folder before anything is stored.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from paretoscope.core.errors import InputError

__all__ = [
    "PICKLED_SUFFIXES",
    "check_folder",
    "is_causal_lm_folder",
    "load_causal_lm",
    "load_from_builder",
    "load_from_folder",
]

#: Weight files that are pickles (loading one can execute code): refused in a folder.
PICKLED_SUFFIXES: tuple[str, ...] = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
# Config keys that ask transformers to import code shipped with the model.
_CUSTOM_CODE_KEYS: tuple[str, ...] = ("auto_map", "custom_pipelines")


def _read_config(folder: Path) -> dict[str, Any]:
    path = folder / "config.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{folder} has no config.json: give a folder saved with save_pretrained"
        ) from None
    except (OSError, ValueError) as err:
        raise InputError(f"cannot read {path}: {err}") from err
    if not isinstance(data, dict):
        raise InputError(f"{path} is not a JSON object")
    return data


def is_causal_lm_folder(path: str | Path) -> bool:
    """Whether ``path`` is a folder whose config.json names a causal-LM architecture.

    An architecture ending in ``ForCausalLM`` or ``LMHeadModel`` (GPT-2's
    name) counts. Reads only config.json; never raises.
    """
    folder = Path(path)
    if not (folder / "config.json").is_file():
        return False
    try:
        config = _read_config(folder)
    except InputError:
        return False
    archs = config.get("architectures") or []
    return any(
        isinstance(a, str) and (a.endswith("ForCausalLM") or a.endswith("LMHeadModel"))
        for a in archs
    )


def check_folder(path: str | Path) -> dict[str, Any]:
    """Every refusal of a Hugging Face folder, before anything is loaded; returns its config.

    Raises ``InputError`` naming what to do for: a path that is not a
    folder, no config.json, a config naming custom code (``auto_map``), a
    pickled weight file anywhere in the folder, or no ``*.safetensors``
    weights. Imports neither torch nor transformers.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputError(f"{folder} is not a folder; a causal LM is a Hugging Face folder")
    config = _read_config(folder)
    custom = [k for k in _CUSTOM_CODE_KEYS if config.get(k)]
    if custom:
        raise InputError(
            f"{folder}/config.json names custom code ({', '.join(custom)}): Paretoscope loads "
            "built-in transformers architectures only and never runs code shipped with a "
            "model. Save the model with a built-in architecture, or give a trusted "
            "module:function that returns (model, tokenizer)."
        )
    pickled = sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.suffix.lower() in PICKLED_SUFFIXES
    )
    if pickled:
        raise InputError(
            f"{folder} holds pickled weights ({', '.join(pickled[:5])}): loading a pickle can "
            "execute code, so Paretoscope refuses it. Save the model with "
            "save_pretrained(..., safe_serialization=True) and remove the pickled files."
        )
    if not any(folder.glob("*.safetensors")):
        raise InputError(
            f"{folder} has no *.safetensors weights; save the model with "
            "save_pretrained(..., safe_serialization=True)"
        )
    return config


def load_from_folder(path: str | Path, *, dtype: Any = None) -> tuple[Any, Any]:
    """``(model, tokenizer)`` from a checked folder, offline, built-in code only, in eval mode.

    Raises ``InputError`` for every ``check_folder`` refusal and when
    transformers cannot build the model or its tokenizer from the folder.
    """
    folder = Path(path)
    check_folder(folder)
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs: dict[str, Any] = {"local_files_only": True, "use_safetensors": True}
    if dtype is not None:
        kwargs["dtype"] = dtype
    try:
        model = AutoModelForCausalLM.from_pretrained(str(folder), **kwargs)
        tokenizer = AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    except (OSError, ValueError, KeyError) as err:
        raise InputError(f"transformers cannot load the causal LM in {folder}: {err}") from err
    model.eval()
    return model, tokenizer


def load_from_builder(target: str) -> tuple[Any, Any]:
    """``(model, tokenizer)`` from ``module:function`` (trusted code the user names).

    Raises ``InputError`` when the name is malformed, the module or function
    is missing, or the function does not return a pair.
    """
    module_name, sep, func_name = target.partition(":")
    if not sep or not module_name or not func_name:
        raise InputError(f"expected module:function, got {target!r}")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise InputError(f"cannot import {module_name!r}: {err}") from err
    func = getattr(module, func_name, None)
    if not callable(func):
        raise InputError(f"{module_name!r} has no function {func_name!r}")
    out = func()
    if not (isinstance(out, tuple) and len(out) == 2):
        raise InputError(f"{target} must return (model, tokenizer), got {type(out).__name__}")
    model, tokenizer = out
    model.eval()
    return model, tokenizer


def load_causal_lm(source: str, *, builder: str | None = None) -> tuple[Any, Any]:
    """``(model, tokenizer)``: from ``builder`` (``module:function``) when given, else a folder."""
    if builder:
        return load_from_builder(builder)
    return load_from_folder(source)
