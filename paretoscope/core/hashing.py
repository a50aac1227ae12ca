"""Content hashes of files: the one sha256 that names artifacts, data sets and cached copies."""

from __future__ import annotations

import hashlib
import os

__all__ = ["file_sha256"]

_CHUNK_BYTES = 1 << 20


def file_sha256(path: str | os.PathLike[str], chunk_bytes: int = _CHUNK_BYTES) -> str:
    """Hex sha256 of the bytes of the file at ``path``, read ``chunk_bytes`` at a time.

    Memory stays at one chunk whatever the file's size. Raises ``OSError``
    (e.g. ``FileNotFoundError``) when the file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk_bytes):
            digest.update(block)
    return digest.hexdigest()
