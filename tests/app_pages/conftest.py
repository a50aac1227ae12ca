"""AppTest fixtures: a catalogue store per test, and the app run over it with query params."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from paretoscope.jobs import runner as jobrunner
from store import Store
from tests.app_pages.catalogue import build_store
from tests.factories import make_record

REPO = Path(__file__).resolve().parents[2]
WEBAPP = REPO / "paretoscope" / "webapp"
APP = WEBAPP / "app.py"
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


# The sharing tests' fixtures: any page over a given store, and a small store.
OpenPage = Callable[..., AppTest]


def all_pages() -> list[str]:
    """Every page script of the app (``app_pages/*.py``), as paths relative to app.py."""
    return sorted(f"app_pages/{p.name}" for p in (WEBAPP / "app_pages").glob("*.py"))


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
        store: Store,
        page: str = "app_pages/frontier.py",
        query: dict[str, Any] | None = None,
        *,
        timeout_s: float = 60,
    ) -> AppTest:
        monkeypatch.setenv("PARETOSCOPE_STORE", str(store.path))
        at = AppTest.from_file(str(APP), default_timeout=timeout_s)
        if page != "app_pages/frontier.py":
            at.run()
            at.switch_page(page)
        for key, value in (query or {}).items():
            at.query_params[key] = value
        at.run()
        return at

    return run


@pytest.fixture
def launches(monkeypatch: pytest.MonkeyPatch) -> list[Store]:
    """Record runner launches instead of starting a real runner (a test runs the job itself)."""
    calls: list[Store] = []

    def fake(store: Store, **_: Any) -> int:
        calls.append(store)
        return 0

    monkeypatch.setattr(jobrunner, "ensure_runner", fake)
    return calls
