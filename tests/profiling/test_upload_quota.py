"""The upload quota is checked where uploads are accepted, before the file is kept."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest

from paretoscope.core.access import PROFILER, Quota
from paretoscope.core.errors import AccessError
from paretoscope.profiling import uploads
from store import Store

QUOTA = Quota(role=PROFILER, upload_mb=1, where="/srv/access.toml ($PARETOSCOPE_ACCESS)")


@pytest.mark.parametrize("declared", [True, False])
def test_upload_over_the_role_limit_is_refused_and_removed(tmp_path: Path, declared: bool) -> None:
    store = Store(tmp_path / "u.duckdb")
    data = b"\x08" * (2 * 2**20)
    size = len(data) if declared else None  # streamed: counted while written
    with pytest.raises(AccessError) as info:
        uploads.save_upload(
            store, "big.onnx", io.BytesIO(data), role="model", limit_mb=500, size_bytes=size,
            quota=QUOTA,
        )  # fmt: skip
    msg = str(info.value)
    assert "big.onnx" in msg and "upload_mb = 1" in msg and "/srv/access.toml" in msg
    assert "server.maxUploadSize" not in msg  # the role's limit, not the server's, was hit
    quarantine = store.files_dir / uploads.QUARANTINE
    assert not quarantine.exists() or not any(quarantine.iterdir())


def test_upload_within_the_role_limit_is_kept(tmp_path: Path) -> None:
    store = Store(tmp_path / "u.duckdb")
    buf = io.BytesIO()
    np.savez(buf, x=np.zeros((4, 2), dtype=np.float32), labels=np.zeros(4, dtype=np.int64))
    buf.seek(0)
    saved = uploads.save_upload(store, "d.npz", buf, role="data", limit_mb=500, quota=QUOTA)
    assert saved.path.is_file()
