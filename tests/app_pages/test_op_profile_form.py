"""The Profile page's operator-profile checkbox: off by default, and on it reaches the job."""

from __future__ import annotations

from pathlib import Path

import pytest

from paretoscope.jobs import queue as jobs
from paretoscope.jobs import runner as jobrunner
from store import Store
from tests.app_pages.test_profile_page import open_page, tiny_onnx, upload_model

__all__ = ["tiny_onnx"]  # the fixture, used by name below (launches: conftest)


def test_the_op_profile_checkbox_reaches_the_queued_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_onnx: bytes, launches: list[Store]
) -> None:
    store = Store(tmp_path / "p.duckdb")
    at = upload_model(open_page(store, monkeypatch), "mlp.onnx", tiny_onnx)
    at.radio(key="profile.eval").set_value("None: efficiency only").run()
    box = at.checkbox(key="profile.op_profile")
    assert box.value is False and "Operator profile" in box.label
    at.button(key="profile.submit").click().run()
    (plain,) = jobs.list_jobs(store)
    assert plain.request["op_profile"] is False and "op profile" not in plain.title
    at.checkbox(key="profile.op_profile").check().run()
    at.button(key="profile.submit").click().run()
    newest = jobs.list_jobs(store)[0]
    assert newest.request["op_profile"] is True and "op profile" in newest.title
    assert jobrunner.profile_request(newest).op_profile is True
