"""AppTest fixtures: a catalogue store per test, and the app run over it with query params."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from store import Store
from tests.app.catalogue import build_store

REPO = Path(__file__).resolve().parents[2]
APP = REPO / "app.py"
PAGES = {
    "frontier": "app_pages/frontier.py",
    "runs": "app_pages/runs.py",
    "methodology": "app_pages/methodology.py",
    "compare": "app_pages/compare.py",
    "run_detail": "app_pages/run_detail.py",
}

RunApp = Callable[..., AppTest]
MakeStore = Callable[..., Store]


_SHARED: dict[str, Store] = {}


@pytest.fixture
def make_store(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> MakeStore:
    """Catalogue entry ``name`` as a store, built once per session and shared read-only.

    Pass ``fresh=True`` for a private copy a test may write to (the demo tests).
    """

    def make(name: str, *, fresh: bool = False) -> Store:
        if fresh:
            return build_store(tmp_path / f"{name}.duckdb", name)
        if name not in _SHARED:
            folder = tmp_path_factory.mktemp(f"catalogue-{name}")
            _SHARED[name] = build_store(folder / f"{name}.duckdb", name)
        return _SHARED[name]

    return make


@pytest.fixture
def run_app(monkeypatch: pytest.MonkeyPatch) -> RunApp:
    """Run the app on ``store`` at ``page`` with ``query`` in the URL; return the AppTest."""

    def run(store: Store, page: str = "frontier", query: dict[str, Any] | None = None) -> AppTest:
        # app.py takes --store from sys.argv first; pytest's own argv has none.
        monkeypatch.setenv("PARETOSCOPE_STORE", str(store.path))
        at = AppTest.from_file(str(APP), default_timeout=60)
        if page != "frontier":
            at.run()
            at.switch_page(PAGES[page])
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return run
