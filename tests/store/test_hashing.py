"""paretoscope.core.hashing.file_sha256 on real files, a DuckDB store among them."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

import store
from paretoscope.core.hashing import file_sha256
from store import Store
from tests.factories import make_record


def test_hash_of_a_real_duckdb_file_is_the_sha256_of_its_bytes(tmp_path: Path) -> None:
    db = Store(tmp_path / "s.duckdb")
    db.ingest(make_record())
    data = db.path.read_bytes()
    assert len(data) > 1 << 16  # several chunks at the small chunk size below
    expected = hashlib.sha256(data).hexdigest()
    assert file_sha256(db.path) == expected
    assert file_sha256(str(db.path)) == expected  # a str path too
    assert file_sha256(db.path, chunk_bytes=4096) == expected  # chunking changes nothing


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1])
def test_chunk_boundaries(tmp_path: Path, size: int) -> None:
    path = tmp_path / "blob.bin"
    data = bytes(i % 251 for i in range(size))
    path.write_bytes(data)
    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        file_sha256(tmp_path / "absent")


def test_store_uses_the_one_function(tmp_path: Path) -> None:
    assert store.file_sha256 is file_sha256
    src = tmp_path / "model.onnx"
    src.write_bytes(b"not really onnx")
    digest, target = Store(tmp_path / "s.duckdb").put_file(src, "artifacts", ".onnx")
    assert digest == file_sha256(src) == file_sha256(target)
    assert target.name == f"{digest}.onnx"
