"""Inspect a model file in a child process: a hostile file that crashes the parser is refused."""

from __future__ import annotations

import re
import sys
import threading
from pathlib import Path
from typing import Any

from paretoscope.core.errors import InputError
from paretoscope.core.hashing import file_sha256
from paretoscope.core.launcher import last_line, run_child
from paretoscope.core.modelinfo import ModelInfo
from paretoscope.core.records import from_dict

# Parsing plus an onnxruntime session; generous because a busy host is slow to import.
_INSPECT_TIMEOUT_S = 60.0


def _run_inspector(
    args: list[str], timeout_s: float, what: str, python: str, crash_prefix: str
) -> dict[str, Any]:
    """Run ``python -m measure.inspect ARGS --result FILE``; its JSON answer, errors mapped."""
    outcome = run_child("measure.inspect", args, timeout_s=timeout_s, python=python)
    if outcome.killed == "timeout":
        raise InputError(
            f"inspecting {what} took longer than {timeout_s:g} s; the file may be "
            "hostile or far larger than it looks"
        )
    data = outcome.result
    if isinstance(data, dict) and "error" in data:
        raise InputError(str(data["error"]))
    if isinstance(data, dict) and outcome.returncode == 0:
        return data
    rc = outcome.returncode
    why = f"exit status {rc}" if rc >= 0 else f"signal {-rc}"
    last = last_line(outcome.stderr_tail, 300)
    raise InputError(
        f"{crash_prefix}{what} crashed the inspector ({why}{': ' + last if last else ''})"
    )


# Inspections of this process, by (sha256 of the file, its resolved path): the same bytes at the
# same place inspect the same, so a sweep or a re-opened form does not start another child.
_CACHE: dict[tuple[str, str], ModelInfo] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 256


def _external_size(path: Path, info: ModelInfo) -> int | None:
    """The size ``info`` would report for ``path`` now (its external files may have changed)."""
    try:
        return path.stat().st_size + sum(
            (path.parent / n).stat().st_size for n in info.external_data
        )
    except OSError:
        return None


def _cached(key: tuple[str, str], path: Path) -> ModelInfo | None:
    with _CACHE_LOCK:
        info = _CACHE.get(key)
    if info is None or info.sha256 != key[0] or _external_size(path, info) != info.size_bytes:
        return None
    return info


def clear_inspection_cache() -> None:
    """Forget every inspection this process made (tests; a changed onnxruntime)."""
    with _CACHE_LOCK:
        _CACHE.clear()


def inspect_in_worker(
    path: str | Path, timeout_s: float = _INSPECT_TIMEOUT_S, *, python: str = sys.executable
) -> ModelInfo:
    """Inspect the ONNX file at ``path`` in a child ``python -m measure.inspect`` process.

    Pickles are refused before the child starts (``paretoscope.safety``),
    without reading more than the file's header. An inspection is reused for
    the same bytes (sha256) at the same path while its external data files
    keep their sizes; only successful inspections are kept (in this process).
    Raises ``InputError`` with a specific message for a file that is not a
    valid ONNX model, whose external data points outside its folder, that
    crashes or hangs the parser past ``timeout_s`` seconds.
    """
    from paretoscope.core.safety import refuse_untrusted

    path = Path(path)
    refuse_untrusted(path, {"onnx-candidate"})
    key = (file_sha256(path), str(path.resolve()))
    info = _cached(key, path)
    if info is not None:
        return info
    data = _run_inspector([str(path)], timeout_s, path.name, python, "not a valid ONNX model: ")
    info = from_dict(ModelInfo, data)
    if info.sha256 == key[0]:  # the file did not change while it was inspected
        with _CACHE_LOCK:
            if len(_CACHE) >= _CACHE_MAX:
                _CACHE.pop(next(iter(_CACHE)))
            _CACHE[key] = info
    return info


def is_torch_target(model: str) -> bool:
    """Whether ``model`` names a PyTorch model: a ``.pt2`` file or ``module:function``."""
    from paretoscope.core.safety import sniff

    path = Path(model)
    if path.is_file():
        return path.suffix.lower() == ".pt2" or sniff(path).kind == "pt2"
    return re.fullmatch(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*", model) is not None


def inspect_torch_in_worker(
    target: str,
    out_dir: Path,
    *,
    onnx_export: bool,
    timeout_s: float = 300.0,
    python: str = sys.executable,
) -> tuple[ModelInfo, Path | None, tuple[str, ...]]:
    """Load a trusted PyTorch model in a child process: its ``ModelInfo``, ONNX export, notes.

    Runs ``measure.inspect.export_torch``; a ``module:function`` target is
    exported to ``out_dir/model.pt2`` (and with ``onnx_export`` to
    ``out_dir/model.onnx``). The child imports the module from the current
    directory. Raises ``InputError`` with the reason when loading, building
    or exporting fails, crashes or exceeds ``timeout_s`` seconds.
    """
    args = [target, "--torch", str(out_dir)] + (["--onnx"] if onnx_export else [])
    data = _run_inspector(args, timeout_s, target, python, "")
    onnx_path = Path(data["onnx"]) if data.get("onnx") else None
    return from_dict(ModelInfo, data["info"]), onnx_path, tuple(data.get("notes", ()))
