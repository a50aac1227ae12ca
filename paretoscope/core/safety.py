"""What a file really is, read from its first bytes and zip directory, without ever loading it.

Uploaded files are untrusted. ``sniff`` looks at magic bytes, a zip
archive's member names and the extension, and never unpickles, imports or
parses a model; ``refuse_untrusted`` turns a kind that is not allowed into
an ``InputError`` that says why and what to upload instead. A pickle is
recognised under any name: by the protocol-2..5 opcode header, by a zip
archive holding ``data.pkl`` (``torch.save`` and TorchScript), and by the
``.pt``/``.pth``/``.pkl``/``.pickle``/``.joblib`` extensions. This module
imports only the standard library.
"""

from __future__ import annotations

import zipfile
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from paretoscope.core.errors import InputError

__all__ = [
    "PICKLE_SUFFIXES",
    "FileKind",
    "Kind",
    "refuse_untrusted",
    "sniff",
]

Kind = Literal[
    "onnx-candidate",  # not anything else we know; may be ONNX protobuf (parse to be sure)
    "pickle",  # a Python pickle, bare or inside a torch zip archive
    "torchscript",  # a TorchScript zip (holds pickles and code)
    "pt2",  # a torch.export archive (trusted local use only)
    "npz",  # a NumPy zip of .npy arrays
    "zip",  # some other zip archive
    "parquet",
    "csv",
    "empty",
]

PICKLE_SUFFIXES: tuple[str, ...] = (".pt", ".pth", ".pkl", ".pickle", ".joblib", ".ckpt")
_PICKLE_PROTOCOLS = (2, 3, 4, 5)
_ZIP_MAGIC = b"PK\x03\x04"
_PARQUET_MAGIC = b"PAR1"
_TORCH_PICKLE_MEMBERS = ("data.pkl", "constants.pkl")
_KIND_NAMES = {
    "onnx-candidate": "an ONNX model",
    "npz": "a .npz file",
    "csv": "a .csv file",
    "parquet": "a .parquet file",
    "pt2": "a .pt2 file",
    "zip": "a zip archive",
}
_TRUST_ADVICE = (
    "Export the model to ONNX (torch.onnx.export) and upload the .onnx file, or profile "
    "a trusted local PyTorch model on the command line (paretoscope profile model.pt2)."
)
# What to do instead when the refused pickle was meant as evaluation data.
_DATA_KINDS = frozenset({"npz", "csv", "parquet"})
_DATA_ADVICE = (
    "Save the evaluation data as plain numeric arrays in a .npz file (numpy.savez, one "
    "array per model input plus labels), or as a .csv or .parquet table, and upload that."
)


@dataclass(frozen=True)
class FileKind:
    """What ``sniff`` found: the ``kind`` and the evidence for it, in words."""

    kind: Kind
    evidence: str
    size_bytes: int

    @property
    def is_pickle(self) -> bool:
        """True for anything whose loading would unpickle (bare pickle, torch zip, TorchScript)."""
        return self.kind in ("pickle", "torchscript")


def _zip_kind(path: Path) -> tuple[Kind, str]:
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        return "zip", f"a damaged zip archive ({err})"
    pickles = [n for n in names if n.rsplit("/", 1)[-1] in _TORCH_PICKLE_MEMBERS]
    if any("/code/" in f"/{n}" for n in names) and pickles:
        return "torchscript", f"a TorchScript archive (holds {pickles[0]} and code/)"
    if any(n.endswith("archive_format") for n in names) and any(
        n.endswith("models/model.json") for n in names
    ):
        return "pt2", "a torch.export (.pt2) archive"
    if pickles:
        return "pickle", f"a torch.save zip archive holding the pickle {pickles[0]}"
    if names and all(n.endswith(".npy") for n in names):
        return "npz", "a NumPy .npz archive"
    return "zip", f"a zip archive of {len(names)} file(s)"


def sniff(path: str | Path) -> FileKind:
    """What the file at ``path`` is, from its first bytes, zip member names and extension.

    Never unpickles or parses a model. Raises ``InputError`` when the file
    is missing or unreadable.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            head = fh.read(8)
    except OSError as err:
        raise InputError(f"cannot read {path.name}: {err.strerror or err}") from err
    if size == 0:
        return FileKind("empty", "the file is empty (0 bytes)", 0)
    if len(head) >= 2 and head[0] == 0x80 and head[1] in _PICKLE_PROTOCOLS:
        return FileKind("pickle", f"starts with a pickle protocol-{head[1]} header", size)
    if head.startswith(_ZIP_MAGIC):
        kind, evidence = _zip_kind(path)
        return FileKind(kind, evidence, size)
    suffix = path.suffix.lower()
    if suffix in PICKLE_SUFFIXES:
        return FileKind("pickle", f"its extension {suffix} is a PyTorch/pickle format", size)
    if head.startswith(_PARQUET_MAGIC):
        return FileKind("parquet", "a Parquet file", size)
    if suffix in (".csv", ".tsv", ".txt"):
        return FileKind("csv", f"a text table ({suffix})", size)
    return FileKind("onnx-candidate", "no other known format matched", size)


def _refusal(path: Path, found: FileKind, allowed: Collection[str]) -> str:
    name = path.name
    if found.is_pickle:
        return (
            f"refused {name}: it is a Python pickle ({found.evidence}). Loading a pickle can "
            f"run arbitrary code, so Paretoscope never opens one, whatever its name. "
            + (_DATA_ADVICE if _DATA_KINDS & set(allowed) else _TRUST_ADVICE)
        )
    if found.kind == "pt2":
        return (
            f"refused {name}: it is a torch.export (.pt2) archive; loading one can run code, "
            "so it is accepted only from the command line (paretoscope profile) or on a server "
            "started with PARETOSCOPE_ALLOW_TORCH_UPLOADS=1. Upload an ONNX export instead."
        )
    if found.kind == "empty":
        return f"refused {name}: the file is empty (0 bytes)"
    wanted = " or ".join(sorted({_KIND_NAMES.get(k, k) for k in allowed}))
    return f"refused {name}: it is {found.evidence}, not {wanted}"


def refuse_untrusted(path: str | Path, allowed: Collection[str]) -> FileKind:
    """``sniff(path)``, raising ``InputError`` unless its kind is in ``allowed``.

    ``allowed`` holds ``Kind`` values (e.g. ``{"onnx-candidate"}`` for a model
    upload, ``{"npz", "csv", "parquet"}`` for data). Pickles are refused
    with a message that names the risk and the safe alternative even if
    ``allowed`` lists them, because nothing here may load one.
    """
    path = Path(path)
    found = sniff(path)
    if found.is_pickle or found.kind not in allowed:
        raise InputError(_refusal(path, found, allowed))
    return found
