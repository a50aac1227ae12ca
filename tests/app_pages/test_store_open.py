"""The dashboard over a store it cannot use: one st.error with the message, no exception."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from store import Store
from tests.app_pages.conftest import APP
from tests.app_pages.hostile import shown
from tests.factories import make_record
from tests.store.test_filekind import foreign_duckdb, truncated_store


def _app(monkeypatch: pytest.MonkeyPatch, path: Path) -> AppTest:
    monkeypatch.setenv("PARETOSCOPE_STORE", str(path))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()
    return at


def test_a_truncated_store_is_one_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = truncated_store(tmp_path / "s.duckdb")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    at = _app(monkeypatch, path)
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1
    assert "is damaged" in errors[0] and "Nothing was changed" in errors[0]
    assert "paretoscope import" in errors[0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_foreign_duckdb_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = foreign_duckdb(tmp_path / "other.duckdb")
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    at = _app(monkeypatch, path)
    assert not at.exception, [e.value for e in at.exception]
    errors = [shown(e.value) for e in at.error]  # as read: the message is escaped text
    assert len(errors) == 1 and "another application (tables: a, b)" in errors[0]
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_a_spooled_run_shows_on_the_next_page_run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = Store(tmp_path / "s.duckdb")
    at = _app(monkeypatch, store.path)
    assert not at.exception
    store.spool.put(make_record())  # a writer killed before it drained
    at.run()
    assert not at.exception
    assert len(store.spool) == 0
    assert store.run_count() == 1
