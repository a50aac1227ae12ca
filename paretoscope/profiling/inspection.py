"""Inspect a model file in a child process: a hostile file that crashes the parser is refused."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paretoscope.core.errors import InputError
from paretoscope.core.records import (
    from_dict,
)

if TYPE_CHECKING:
    pass

from paretoscope.core.modelinfo import ModelInfo

# Parsing plus an onnxruntime session; generous because a busy host is slow to import.
_INSPECT_TIMEOUT_S = 60.0


_REPO_ROOT = Path(__file__).resolve().parents[2]


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    if _REPO_ROOT.name not in ("site-packages", "dist-packages"):
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(_REPO_ROOT), env.get("PYTHONPATH", "")) if p
        )
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run_inspector(
    args: list[str], timeout_s: float, what: str, python: str, crash_prefix: str
) -> dict[str, Any]:
    """Run ``python -m measure.inspect ARGS --result FILE``; its JSON answer, errors mapped."""
    with tempfile.TemporaryDirectory(prefix="paretoscope-inspect-") as tmp:
        result = Path(tmp) / "info.json"
        stderr_path = Path(tmp) / "stderr.txt"
        with stderr_path.open("wb") as err:
            proc = subprocess.Popen(
                [python, "-m", "measure.inspect", *args, "--result", str(result)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=_child_env(),
                start_new_session=True,
            )
            try:
                rc = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                _kill(proc)
                raise InputError(
                    f"inspecting {what} took longer than {timeout_s:g} s; the file may be "
                    "hostile or far larger than it looks"
                ) from None
        data: Any = None
        if result.exists():
            try:
                data = json.loads(result.read_text())
            except (OSError, ValueError):
                data = None
        if isinstance(data, dict) and "error" in data:
            raise InputError(str(data["error"]))
        if isinstance(data, dict) and rc == 0:
            return data
        tail = stderr_path.read_text(errors="replace").strip().splitlines()
        why = f"exit status {rc}" if rc >= 0 else f"signal {-rc}"
        last = f": {tail[-1][:300]}" if tail else ""
        raise InputError(f"{crash_prefix}{what} crashed the inspector ({why}{last})")


def inspect_in_worker(
    path: str | Path, timeout_s: float = _INSPECT_TIMEOUT_S, *, python: str = sys.executable
) -> ModelInfo:
    """Inspect the ONNX file at ``path`` in a child ``python -m measure.inspect`` process.

    Pickles are refused before the child starts (``paretoscope.safety``),
    without reading more than the file's header. Raises ``InputError`` with
    a specific message for a file that is not a valid ONNX model, whose
    external data points outside its folder, that crashes or hangs the
    parser past ``timeout_s`` seconds.
    """
    from paretoscope.core.safety import refuse_untrusted

    path = Path(path)
    refuse_untrusted(path, {"onnx-candidate"})
    data = _run_inspector([str(path)], timeout_s, path.name, python, "not a valid ONNX model: ")
    return from_dict(ModelInfo, data)


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


def _kill(proc: subprocess.Popen[bytes]) -> None:
    import contextlib
    import signal

    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
