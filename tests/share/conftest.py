"""Fixtures of the sharing tests: the app run through AppTest on any page, over a given store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from store import Store
from tests.factories import make_record

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app.py"

OpenPage = Callable[..., AppTest]


def all_pages() -> list[str]:
    """Every page script of the app (``app_pages/*.py``), as paths relative to the repo."""
    return sorted(f"app_pages/{p.name}" for p in (REPO / "app_pages").glob("*.py"))


@pytest.fixture
def small_store(tmp_path: Path) -> Store:
    """A writable store of a few runs on two runtimes, one failed."""
    s = Store(tmp_path / "share.duckdb")
    s.ingest_many(
        [
            make_record(model="mlp-a", latency_ms=1.0, accuracy=0.90),
            make_record(model="mlp-b", latency_ms=2.0, accuracy=0.95, runtime="torch"),
            make_record(model="cnn-a", family="cnn", latency_ms=3.0, accuracy=0.97),
            make_record(
                model="cnn-int8", family="cnn", precision="int8", latency_ms=0.8, accuracy=0.93
            ),
            make_record(model="oom", status="failed", error="worker ran out of memory"),
        ]
    )
    return s


@pytest.fixture
def open_page(monkeypatch: pytest.MonkeyPatch) -> OpenPage:
    """A fresh AppTest session of the app on ``page`` with ``query`` in the URL, run once."""

    def run(
        store: Store, page: str = "app_pages/frontier.py", query: dict[str, Any] | None = None
    ) -> AppTest:
        monkeypatch.setenv("PARETOSCOPE_STORE", str(store.path))
        at = AppTest.from_file(str(APP), default_timeout=60)
        if page != "app_pages/frontier.py":
            at.run()
            at.switch_page(page)
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.run()
        return at

    return run
