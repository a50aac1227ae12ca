"""Browser uploads for the Profile page: quarantine, refusal, and turning the form into a request.

An uploaded file is untrusted. It is written under a fresh folder of
``<store>.files/quarantine/`` with a name chosen here (never the uploader's),
sniffed (``paretoscope.safety``: pickles are refused under any name, unread)
and, for a model, parsed only in a child process
(``profiling.inspect_in_worker``). A refused file is deleted at once. An
accepted one stays in quarantine until its job has run: the engine then
stores it content-addressed (sha256) and the runner removes the quarantine
folder. Folders that no job names are swept after a day.

Imports neither torch nor onnxruntime (the dashboard imports this module).
"""

from __future__ import annotations

import math
import re
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from paretoscope.core.access import Quota, check_upload
from paretoscope.core.errors import InputError
from paretoscope.core.safety import refuse_untrusted

if TYPE_CHECKING:
    from paretoscope.core.modelinfo import BuiltinDataset, ModelInfo
    from store import Store

__all__ = [
    "DATA_KINDS",
    "QUARANTINE",
    "Upload",
    "as_uploaded",
    "fitting_builtins",
    "in_quarantine",
    "inputs_present",
    "parse_values",
    "remove_upload",
    "save_upload",
    "sweep_quarantine",
]

QUARANTINE = "quarantine"
DATA_KINDS = frozenset({"npz", "csv", "parquet"})
# What each role may be, by ``core.safety.sniff`` (pickles never): a causal LM is a zip of
# its folder (``hfzip`` checks it); an evaluation text sniffs as a text table or as nothing.
_ALLOWED: dict[str, frozenset[str]] = {
    "model": frozenset({"onnx-candidate"}),
    "lm": frozenset({"zip"}),
    "text": frozenset({"csv", "onnx-candidate"}),
}
_STALE_S = 24 * 3600.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Upload:
    """A file received from a browser: where it now lies, and the name it was sent under."""

    path: Path
    original_name: str
    size_bytes: int


def _suffix(name: str) -> str:
    suffix = Path(name).suffix.lower()
    # The extension is kept (it is evidence: ``.pkl`` is refused as a pickle) when it is
    # a plain one; the rest of the name is ours, never the uploader's.
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,12}", suffix) else ".bin"


def save_upload(
    store: Store,
    name: str,
    data: BinaryIO,
    *,
    role: str,
    limit_mb: float,
    size_bytes: int | None = None,
    quota: Quota | None = None,
) -> Upload:
    """Write an uploaded stream into a new quarantine folder and refuse what may not be used.

    ``role`` is ``model``, ``data``, ``lm`` (a zipped causal LM) or ``text``.
    ``limit_mb`` is the server's upload limit (MB of 2^20 bytes, as
    Streamlit's ``server.maxUploadSize``).
    Raises ``InputError`` for a file over the limit, an empty file, a pickle
    (under any name), for data anything but ``.npz``/``.csv``/``.parquet``, for
    ``lm`` anything but a zip;
    the refused file is removed before raising. ``quota``, when given, is the
    uploader's role's limits: a file over its ``upload_mb`` raises
    ``AccessError`` naming that limit and how to raise it.
    """
    limit_bytes = int(limit_mb * 1024 * 1024)
    if quota is not None and size_bytes is not None:
        check_upload(quota, name, size_bytes)
    if size_bytes is not None and size_bytes > limit_bytes:
        raise InputError(_too_big(name, size_bytes, limit_mb))
    folder = store.files_dir / QUARANTINE / uuid.uuid4().hex
    folder.mkdir(parents=True)
    target = folder / f"{role}{_suffix(name)}"
    written = 0
    try:
        with target.open("wb") as out:
            while block := data.read(_CHUNK):
                written += len(block)
                if quota is not None:
                    check_upload(quota, name, written)
                if written > limit_bytes:
                    raise InputError(_too_big(name, written, limit_mb))
                out.write(block)
        refuse_untrusted(target, _ALLOWED.get(role, DATA_KINDS))
    except InputError as err:
        shutil.rmtree(folder, ignore_errors=True)
        raise type(err)(as_uploaded(str(err), target, name)) from None
    except OSError as err:
        shutil.rmtree(folder, ignore_errors=True)
        raise InputError(f"could not save the upload {name}: {err.strerror or err}") from err
    return Upload(target, name, written)


def as_uploaded(message: str, path: str | Path, name: str) -> str:
    """``message`` about the quarantine copy at ``path``, naming the file as uploaded (``name``).

    The copy's name is ours (``data.npz``, ``model.onnx``); the user knows theirs.
    """
    return message.replace(Path(path).name, name)


def _too_big(name: str, size_bytes: int, limit_mb: float) -> str:
    return (
        f"refused {name}: it is {size_bytes / 2**20:.0f} MB (or more), over this server's "
        f"upload limit of {limit_mb:g} MB. The limit is the server setting "
        "server.maxUploadSize (in .streamlit/config.toml); for larger models use "
        "`paretoscope profile MODEL` on the command line."
    )


def in_quarantine(store: Store, path: str | Path) -> bool:
    """Whether ``path`` lies in a quarantine folder of ``store``."""
    root = (store.files_dir / QUARANTINE).resolve()
    try:
        return Path(path).resolve().is_relative_to(root)
    except OSError:
        return False


def remove_upload(store: Store, path: str | Path) -> None:
    """Delete the quarantine folder holding ``path`` (nothing outside quarantine is touched)."""
    if in_quarantine(store, path):
        shutil.rmtree(Path(path).resolve().parent, ignore_errors=True)


def sweep_quarantine(
    store: Store, keep: Iterable[str | Path], *, older_than_s: float = _STALE_S
) -> int:
    """Remove quarantine folders older than ``older_than_s`` that hold none of ``keep``."""
    root = store.files_dir / QUARANTINE
    if not root.is_dir():
        return 0
    kept = {Path(p).resolve().parent for p in keep}
    now = time.time()
    removed = 0
    for folder in root.iterdir():
        try:
            stale = now - folder.stat().st_mtime > older_than_s
        except OSError:
            continue
        if folder.is_dir() and stale and folder.resolve() not in kept:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def inputs_present(request: Mapping[str, Any]) -> bool:
    """Whether the files a profile job's request names still exist (so it can be run again)."""
    paths = [request.get(k) for k in ("model_path", "data_path")]
    return bool(paths[0]) and all(Path(p).is_file() for p in paths if isinstance(p, str))


def parse_values(text: str, what: str) -> tuple[int, ...]:
    """``"1, 8 32"`` → ``(1, 8, 32)``: positive integers, in order, without repeats.

    Raises ``InputError`` naming ``what`` for anything else.
    """
    parts = [p for p in re.split(r"[,\s]+", text.strip()) if p]
    if not parts:
        raise InputError(f"give at least one value for {what}")
    out: dict[int, None] = {}
    for p in parts:
        if not p.isdigit() or int(p) < 1:
            raise InputError(f"{what}: {p!r} is not a whole number ≥ 1")
        out.setdefault(int(p), None)
    return tuple(out)


def fitting_builtins(info: ModelInfo, datasets: Iterable[BuiltinDataset]) -> list[BuiltinDataset]:
    """The built-in sets whose items fit the model's single input (features per item match).

    A model with several inputs, or with symbolic dimensions besides the
    batch, fits none: a built-in set has one array of fixed width.
    """
    if len(info.inputs) != 1 or info.other_dims:
        return []
    shape = info.inputs[0].shape[1:]
    if not shape or not all(isinstance(d, int) for d in shape):
        return []
    width = math.prod(int(d) for d in shape if isinstance(d, int))
    return [d for d in datasets if d.n_features == width]
