"""A zipped Hugging Face causal-LM folder, untrusted: checked entry by entry, then unpacked.

Browser uploads of a causal LM are ``.zip`` files, and ``paretoscope
profile MODEL.zip`` takes the same path. Before a byte is written, every
entry of the zip's central directory is checked: a name with a ``..``
component, an absolute path, a drive letter, a backslash or a NUL byte; a
symbolic link or other special file (the Unix mode in the external
attributes); an encrypted entry; the same name twice (case folded); more
than ``ZipLimits.max_entries`` entries; a declared uncompressed total over
``ZipLimits.max_unpacked_bytes``; and a pickled weight file (``.bin``,
``.pt``…), which is never unpacked. Unpacking then counts the bytes it
writes and stops past the same limit (a zip can declare sizes that are
lies). The folder it yields is then checked as any folder is
(``measure.llm.load.check_folder``: no custom code, no pickles, safetensors
weights). Every refusal is an ``InputError`` naming the zip as the user
knows it; nothing is left behind. Standard library only (the dashboard
imports this module); ``measure.llm.load`` imports neither torch nor
transformers.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paretoscope.core.errors import InputError

__all__ = [
    "LmZipInfo",
    "ZipLimits",
    "check_entries",
    "describe_lm_zip",
    "extract_hf_zip",
    "is_causal_lm_zip",
    "is_zip_source",
    "unpacked_hf_zip",
]

_CHUNK = 1 << 20
_CONFIG_MAX_BYTES = 1 << 20  # a config.json larger than 1 MB is not read for inference
_SAFETENSORS_HEADER_MAX = 100 * (1 << 20)
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ZipLimits:
    """How much a zip may unpack to: entries, and bytes (2^20 per MB in messages)."""

    max_entries: int = 2000
    max_unpacked_bytes: int = 16 * (1 << 30)


def is_zip_source(path: str | Path) -> bool:
    """Whether ``path`` names a file ending in ``.zip`` (the zipped-folder form of a model)."""
    p = Path(path)
    return p.suffix.lower() == ".zip" and p.is_file()


def _mb(n: int) -> str:
    return f"{n / (1 << 20):.1f} MB"


def _entry_path(info: zipfile.ZipInfo, name: str) -> str:
    """The entry's safe relative path (``a/b``), or an ``InputError`` saying what is wrong."""
    raw = info.filename
    shown = repr(raw)
    if "\0" in raw:
        raise InputError(f"refused {name}: the entry {shown} has a NUL byte in its name")
    if "\\" in raw:
        raise InputError(
            f"refused {name}: the entry {shown} has a backslash in its name; zip the folder "
            "with forward slashes (zip -r, or Python's shutil.make_archive)"
        )
    if raw.startswith("/"):
        raise InputError(
            f"refused {name}: the entry {shown} is an absolute path; a zip may only hold paths "
            "inside the folder"
        )
    if _DRIVE.match(raw):
        raise InputError(
            f"refused {name}: the entry {shown} starts with a drive letter; a zip may only hold "
            "paths inside the folder"
        )
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise InputError(
            f"refused {name}: the entry {shown} has a '..' component and would be written "
            "outside the folder it is unpacked into (a path-traversal entry)"
        )
    if not parts:
        raise InputError(f"refused {name}: the entry {shown} has an empty name")
    return "/".join(parts)


def _entry_kind(info: zipfile.ZipInfo, path: str, name: str) -> str:
    """``file`` or ``dir``; an ``InputError`` for a link, a special file or an encrypted entry."""
    mode = (info.external_attr >> 16) & 0xFFFF
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        raise InputError(
            f"refused {name}: the entry {path!r} is a symbolic link; links could point outside "
            "the folder, so a zip may hold only plain files (zip without --symlinks)"
        )
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise InputError(f"refused {name}: the entry {path!r} is not a plain file or folder")
    if info.flag_bits & 0x1:
        raise InputError(f"refused {name}: the entry {path!r} is encrypted")
    return "dir" if info.is_dir() or kind == stat.S_IFDIR else "file"


def check_entries(
    zf: zipfile.ZipFile, name: str, limits: ZipLimits = ZipLimits()
) -> list[tuple[zipfile.ZipInfo, str]]:
    """Every file entry with its safe relative path, after every check of the central directory.

    Raises ``InputError`` (naming ``name``, the zip as its user knows it) for
    each refusal listed in the module docstring. Writes nothing.
    """
    from measure.llm.load import PICKLED_SUFFIXES

    infos = zf.infolist()
    if len(infos) > limits.max_entries:
        raise InputError(
            f"refused {name}: it has {len(infos)} entries, more than the {limits.max_entries} "
            "a model folder may hold"
        )
    seen: set[str] = set()
    files: list[tuple[zipfile.ZipInfo, str]] = []
    declared = 0
    for info in infos:
        path = _entry_path(info, name)
        kind = _entry_kind(info, path, name)
        key = path.casefold()
        if kind == "file":
            if key in seen:
                raise InputError(f"refused {name}: the entry {path!r} appears twice")
            seen.add(key)
            files.append((info, path))
            declared += info.file_size
    if declared > limits.max_unpacked_bytes:
        raise InputError(
            f"refused {name}: its entries declare {_mb(declared)} unpacked, over the limit of "
            f"{_mb(limits.max_unpacked_bytes)} (a zip bomb, or a model too large for this "
            "server: profile it from a folder with `paretoscope profile FOLDER`)"
        )
    pickled = [p for _, p in files if Path(p).suffix.lower() in PICKLED_SUFFIXES]
    if pickled:
        raise InputError(
            f"refused {name}: it holds pickled weights ({', '.join(pickled[:5])}): loading a "
            "pickle can execute code, so Paretoscope refuses it. Save the model with "
            "save_pretrained(..., safe_serialization=True) and zip the folder without the "
            "pickled files."
        )
    return files


def _unpack(zf: zipfile.ZipFile, files: list[tuple[zipfile.ZipInfo, str]], dest: Path,
            name: str, limits: ZipLimits) -> None:  # fmt: skip
    root = dest.resolve()
    total = 0
    for info, path in files:
        target = (dest / path).resolve()
        if not target.is_relative_to(root):  # unreachable after the name checks; kept as a guard
            raise InputError(f"refused {name}: the entry {path!r} leaves the folder")
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with zf.open(info) as src, target.open("xb") as out:
            while block := src.read(_CHUNK):
                written += len(block)
                total += len(block)
                if total > limits.max_unpacked_bytes or written > info.file_size:
                    raise InputError(
                        f"refused {name}: unpacking {path!r} went past "
                        f"{_mb(min(total, limits.max_unpacked_bytes))} (its entries declared "
                        "less): the zip's sizes are false, as in a zip bomb; nothing was kept"
                    )
                out.write(block)


def _hf_root(dest: Path, name: str) -> Path:
    """The folder holding config.json: the zip's top, or its one top-level folder."""
    if (dest / "config.json").is_file():
        return dest
    tops = [p for p in dest.iterdir() if not p.name.startswith("__MACOSX")]
    if len(tops) == 1 and tops[0].is_dir() and (tops[0] / "config.json").is_file():
        return tops[0]
    raise InputError(
        f"refused {name}: no config.json at its top or in its one top-level folder; zip a "
        "folder saved with save_pretrained (config.json, *.safetensors, tokenizer files)"
    )


def extract_hf_zip(
    zip_path: str | Path, dest: str | Path, *, name: str | None = None,
    limits: ZipLimits = ZipLimits(),
) -> Path:  # fmt: skip
    """Check and unpack the zip into ``dest`` (empty or absent); return its checked HF folder.

    ``name`` is the zip as its user knows it (default: its file name). On
    any refusal ``dest`` is removed and ``InputError`` raised; the folder
    returned has passed ``measure.llm.load.check_folder``.
    """
    from measure.llm.load import check_folder

    zip_path, dest = Path(zip_path), Path(dest)
    name = name or zip_path.name
    try:
        dest.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(zip_path) as zf:
            files = check_entries(zf, name, limits)
            _unpack(zf, files, dest, name, limits)
        folder = _hf_root(dest, name)
        try:
            check_folder(folder)
        except InputError as err:
            raise InputError(
                "refused " + str(err).replace(str(folder), name).replace(str(dest), name)
            ) from None
        return folder
    except InputError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError) as err:
        shutil.rmtree(dest, ignore_errors=True)
        raise InputError(f"refused {name}: not a readable zip archive ({err})") from err
    except (OSError, ValueError, RuntimeError) as err:
        shutil.rmtree(dest, ignore_errors=True)
        raise InputError(f"refused {name}: it cannot be unpacked ({err})") from err


@contextlib.contextmanager
def unpacked_hf_zip(
    zip_path: str | Path, *, name: str | None = None, limits: ZipLimits = ZipLimits(),
    parent: str | Path | None = None,
) -> Iterator[Path]:  # fmt: skip
    """The zip's checked HF folder, unpacked into a temporary folder removed on exit."""
    with tempfile.TemporaryDirectory(prefix="paretoscope-hfzip-", dir=parent) as tmp:
        yield extract_hf_zip(zip_path, Path(tmp) / "unpacked", name=name, limits=limits)


def _config_in_zip(zip_path: Path) -> dict[str, Any] | None:
    """config.json at the zip's top or in its one top-level folder, read without unpacking."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            names = [i for i in zf.infolist() if not i.is_dir()]
            found = [i for i in names if i.filename in ("config.json",)]
            if not found:
                found = [i for i in names if re.fullmatch(r"[^/\\]+/config\.json", i.filename)]
            if len(found) != 1 or found[0].file_size > _CONFIG_MAX_BYTES:
                return None
            data = json.loads(zf.read(found[0]).decode("utf-8"))
    except (OSError, ValueError, zipfile.BadZipFile, zlib.error, NotImplementedError):
        return None
    return data if isinstance(data, dict) else None


def _causal_archs(config: dict[str, Any]) -> list[str]:
    archs = config.get("architectures") or []
    return [
        a for a in archs
        if isinstance(a, str) and (a.endswith("ForCausalLM") or a.endswith("LMHeadModel"))
    ]  # fmt: skip


def is_causal_lm_zip(path: str | Path) -> bool:
    """Whether ``path`` is a ``.zip`` whose config.json names a causal-LM architecture.

    The same rule as for a folder (``…ForCausalLM`` or ``…LMHeadModel``);
    reads only config.json from the zip's directory; never raises.
    """
    if not is_zip_source(path):
        return False
    config = _config_in_zip(Path(path))
    return bool(config and _causal_archs(config))


@dataclass(frozen=True)
class LmZipInfo:
    """What a checked zip holds: its architecture, shape and size; the parameter count read
    from the safetensors headers (tensor shapes), never from the weights themselves."""

    architecture: str
    model_type: str
    n_layers: int | None
    width: int | None
    vocab_size: int | None
    max_positions: int | None
    n_files: int
    unpacked_bytes: int
    params: int | None


def _int(config: dict[str, Any], *keys: str) -> int | None:
    for k in keys:
        v = config.get(k)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    return None


def _safetensors_params(path: Path) -> int | None:
    """Elements of every tensor named in a safetensors file's JSON header (None if unreadable)."""
    try:
        with path.open("rb") as fh:
            n = int.from_bytes(fh.read(8), "little")
            if not 0 < n <= _SAFETENSORS_HEADER_MAX:
                return None
            header = json.loads(fh.read(n).decode("utf-8"))
    except (OSError, ValueError):
        return None
    total = 0
    for key, entry in header.items() if isinstance(header, dict) else ():
        if key == "__metadata__" or not isinstance(entry, dict):
            continue
        shape = entry.get("shape")
        if not isinstance(shape, list) or not all(isinstance(d, int) for d in shape):
            return None
        count = 1
        for d in shape:
            count *= d
        total += count
    return total


def describe_lm_zip(
    zip_path: str | Path, *, name: str | None = None, limits: ZipLimits = ZipLimits(),
    parent: str | Path | None = None,
) -> LmZipInfo:  # fmt: skip
    """Check the zip completely (``extract_hf_zip``) and say what it holds; unpacked in a
    temporary folder under ``parent`` that is removed before returning.

    Raises ``InputError`` for every refusal, and when config.json names no
    causal-LM architecture.
    """
    name = name or Path(zip_path).name
    with unpacked_hf_zip(zip_path, name=name, limits=limits, parent=parent) as folder:
        from measure.llm.load import check_folder

        config = check_folder(folder)
        archs = _causal_archs(config)
        if not archs:
            named = ", ".join(str(a) for a in config.get("architectures") or []) or "none"
            raise InputError(
                f"refused {name}: its config.json names the architectures {named}, not a "
                "causal language model (…ForCausalLM or …LMHeadModel); this form takes "
                "zipped causal LMs and ONNX files"
            )
        files = [p for p in folder.rglob("*") if p.is_file()]
        counts = [_safetensors_params(p) for p in files if p.suffix == ".safetensors"]
        return LmZipInfo(
            architecture=archs[0],
            model_type=str(config.get("model_type") or "?"),
            n_layers=_int(config, "num_hidden_layers", "n_layer"),
            width=_int(config, "hidden_size", "n_embd", "d_model"),
            vocab_size=_int(config, "vocab_size"),
            max_positions=_int(config, "max_position_embeddings", "n_positions"),
            n_files=len(files),
            unpacked_bytes=sum(p.stat().st_size for p in files),
            params=None if any(c is None for c in counts) else sum(c or 0 for c in counts),
        )
