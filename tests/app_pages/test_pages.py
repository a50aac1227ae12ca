"""Every page over every catalogue store, and behaviour driven through the URL and widgets."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from paretoscope.analysis.frontier import pareto_mask_bruteforce
from paretoscope.core.metrics import METRICS
from paretoscope.jobs import background
from paretoscope.present.display import REPORTED
from tests.app_pages.catalogue import CATALOGUE
from tests.app_pages.conftest import APP, PAGES, REPO, MakeStore, RunApp
from tests.app_pages.hostile import shown


def _text(at: AppTest) -> str:
    parts = [e.value for kind in ("title", "caption", "info", "warning", "error", "success",
                                  "markdown", "subheader") for e in getattr(at, kind)]  # fmt: skip
    return shown("\n".join(str(p) for p in parts))  # as read on screen: escapes undone


def _chart_spec(at: AppTest) -> dict[str, Any] | None:
    charts = at.get("vega_lite_chart")
    return json.loads(charts[0].proto.spec) if charts else None


def _frontier_rows(at: AppTest) -> int:
    (table,) = [d for d in at.dataframe if "Model" in d.value.columns and "Status" not in d.value]
    return len(table.value)


@pytest.mark.parametrize("page", list(PAGES))
@pytest.mark.parametrize("name", list(CATALOGUE))
def test_every_page_renders_over_every_store(
    make_store: MakeStore, run_app: RunApp, name: str, page: str
) -> None:
    at = run_app(make_store(name), page=page)
    assert at.title, "every page has a title"
    assert not at.error


# "huge" is checked against the fast frontier in test_explore_pages.py (brute force is O(n²)).
@pytest.mark.parametrize(
    "name", [n for n in CATALOGUE if n not in ("empty", "failed_only", "huge")]
)
def test_frontier_table_matches_the_bruteforce_frontier(
    make_store: MakeStore, run_app: RunApp, name: str
) -> None:
    store = make_store(name)
    at = run_app(store)
    runs = store.runs_frame()
    # One frontier per batch size (the page's default grouping), device name and data set.
    expected = 0
    for _, group in runs.groupby(["batch_size", "device_name", "dataset"], dropna=False):
        pts = group[["latency_ms_p50", "accuracy"]].to_numpy(dtype=float)
        finite = np.isfinite(pts).all(axis=1)
        expected += int(pareto_mask_bruteforce(pts[finite], [1, -1]).sum())
    assert _frontier_rows(at) == expected
    assert _chart_spec(at) is not None


def test_empty_store_says_what_to_do_and_offers_the_demo(
    make_store: MakeStore, run_app: RunApp
) -> None:
    at = run_app(make_store("empty"))
    assert "No runs yet" in _text(at)
    assert "paretoscope profile" in _text(at)
    assert [b.label for b in at.button] == ["Run the demo"]
    assert _chart_spec(at) is None


def test_failed_only_store_points_to_the_reasons(make_store: MakeStore, run_app: RunApp) -> None:
    store = make_store("failed_only")
    at = run_app(store)
    assert "All 2 runs in the store failed" in _text(at)
    assert [b.label for b in at.button] == ["Run the demo"]
    runs = run_app(store, page="runs")
    codes = [c.value for c in runs.code]
    assert "worker exceeded its 2048 MB memory limit" in codes
    assert "onnxruntime: unsupported op QLinearConv" in codes


def test_query_params_drive_the_view(make_store: MakeStore, run_app: RunApp) -> None:
    at = run_app(make_store("mixed"), query={"x": "peak_mem_mb", "rt": "torch", "dom": "0"})
    assert at.selectbox(key="frontier.x").value == "peak_mem_mb"
    assert at.multiselect(key="frontier.runtime").value == ["torch"]
    assert at.toggle(key="frontier.dom").value is False
    assert not at.toggle(key="frontier.xlog").value  # peak memory is linear by default
    table = at.dataframe[0].value
    assert "Peak memory (MB)" in table.columns
    assert set(table["Runtime"]) == {"torch"}
    spec = _chart_spec(at)
    assert spec is not None
    # Accuracy's error bars, the frontier line and points, then the invisible click target.
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks[:3] == ["rule", "line", "point"]
    assert spec["layer"][0]["encoding"]["y2"]["field"] == "y_ci_high"
    assert "3 hidden by the filters" in _text(at)


def test_invalid_query_params_give_a_notice_and_defaults(
    make_store: MakeStore, run_app: RunApp
) -> None:
    at = run_app(make_store("mixed"), query={"x": "bogus", "bs": "zero", "wat": "1"})
    (warning,) = at.warning
    text = shown(warning.value)  # the link's values are escaped, to read as typed
    assert "x='bogus'" in text and "bs='zero'" in text
    assert "unknown parameter 'wat'" in text
    assert at.selectbox(key="frontier.x").value == "latency_ms_p50"
    assert dict(at.query_params) == {}  # the link is rewritten to the canonical one


def test_a_stale_filter_value_is_named(make_store: MakeStore, run_app: RunApp) -> None:
    at = run_app(make_store("mixed"), query={"prec": "int4"})
    assert any("precision 'int4'" in shown(i.value) for i in at.info)
    assert "No run has both metrics" in _text(at)


def test_widgets_write_the_view_into_the_url(make_store: MakeStore, run_app: RunApp) -> None:
    at = run_app(make_store("mixed"))
    at.selectbox(key="frontier.x").set_value("throughput_per_s").run()
    assert dict(at.query_params) == {"x": "throughput_per_s"}
    at.multiselect(key="frontier.batch_size").set_value([32]).run()
    at.toggle(key="frontier.xlog").set_value(False).run()
    assert dict(at.query_params) == {"x": "throughput_per_s", "xlog": "0", "bs": "32"}
    # A new x metric drops the scale override that belonged to the old one.
    at.selectbox(key="frontier.x").set_value("model_size_mb").run()
    assert dict(at.query_params) == {"x": "model_size_mb", "bs": "32"}
    assert at.toggle(key="frontier.xlog").value is METRICS["model_size_mb"].log_scale_default


def test_missing_metrics_are_counted_with_their_reason(
    make_store: MakeStore, run_app: RunApp
) -> None:
    store = make_store("nan_metrics")
    at = run_app(store)
    assert "1 run without Accuracy" in _text(at) and "1 run without Latency p50" in _text(at)
    energy = run_app(store, query={"x": "energy_j_per_item"})
    reason = "without Energy per item (no RAPL powercap interface on this test host)"
    assert f"3 runs {reason}" in _text(energy)
    assert f"1 run {reason} and without Accuracy" in _text(energy)


def test_reported_accuracy_is_labelled(make_store: MakeStore, run_app: RunApp) -> None:
    at = run_app(make_store("reported_accuracy"))
    table = at.dataframe[0].value
    assert REPORTED in set(table["Accuracy origin"])
    assert "measured" in set(table["Accuracy origin"])


def test_ties_all_stay_on_the_frontier(make_store: MakeStore, run_app: RunApp) -> None:
    at = run_app(make_store("ties"))
    assert sorted(at.dataframe[0].value["Model"]) == ["twin-0", "twin-1", "twin-2"]


def test_runs_page_filters_by_status_from_the_url(make_store: MakeStore, run_app: RunApp) -> None:
    at = run_app(make_store("mixed"), page="runs", query={"status": "failed"})
    table = at.dataframe[0].value
    assert list(table["Status"]) == ["failed"]
    assert list(table["Error"]) == ["worker hung past 300 s"]
    assert at.multiselect(key="runs.status").value == ["failed"]


def test_runs_page_shows_why_energy_is_missing(make_store: MakeStore, run_app: RunApp) -> None:
    at = run_app(make_store("mixed"), page="runs", query={"status": "ok"})
    table = at.dataframe[0].value
    reasons = table["Energy unavailable because"].dropna()
    assert len(reasons) == 3 and reasons.str.contains("RAPL").all()
    assert table["Energy per item (J)"].notna().sum() == 3


def test_methodology_covers_every_metric(make_store: MakeStore, run_app: RunApp) -> None:
    at = run_app(make_store("empty"), page="methodology")
    text = _text(at)
    for m in METRICS.values():
        assert f"`{m.key}`" in text
    for phrase in ("Warm-up", "95% confidence interval of the median", "VmHWM", "RAPL"):
        assert phrase in text


def test_sidebar_shows_the_store_and_its_counts(make_store: MakeStore, run_app: RunApp) -> None:
    store = make_store("mixed")
    at = run_app(store)
    sidebar = "\n".join(c.value for c in at.sidebar.caption)
    assert str(store.path) in sidebar and "6 successful runs, 1 failed" in sidebar


def test_a_file_that_is_not_a_store_is_an_error_not_a_crash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = tmp_path / "not-a-store.duckdb"
    bad.write_text("hello")
    monkeypatch.setenv("PARETOSCOPE_STORE", str(bad))
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    assert "Cannot open the store" in at.error[0].value


# -- the demo button, with stand-ins for `paretoscope demo` ---------------

FAKE_DEMO = """
import json, sys
sys.path.insert(0, {repo!r})
from store import Store
from tests.factories import make_record
store, progress = sys.argv[-3], sys.argv[-1]
with open(progress, "a") as fh:
    fh.write(json.dumps({{"done": 0, "total": 1, "label": "demo-mlp", "elapsed_s": 0.0,
                         "eta_s": 1.0}}) + "\\n")
    fh.flush()
    Store(store).ingest(make_record(model="demo-mlp"))
    fh.write(json.dumps({{"finished": True, "ok": True, "message": "1 run measured"}}) + "\\n")
"""


def _fake_demo(script: str) -> Callable[[Path, Path], list[str]]:
    def command(store_path: Path, progress_file: Path) -> list[str]:
        return [
            sys.executable,
            "-c",
            script,
            str(store_path),
            "--progress-file",
            str(progress_file),
        ]

    return command


def _wait_until_done(files_dir: Path) -> background.JobState:
    job = background.current_job(files_dir)
    assert job is not None
    deadline = time.monotonic() + 30
    while (state := background.job_state(job)).status == "running":
        assert time.monotonic() < deadline, "the stand-in demo did not finish"
        time.sleep(0.05)
    return state


def test_run_the_demo_button_starts_it_in_the_background_and_shows_the_frontier(
    make_store: MakeStore, run_app: RunApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(background, "demo_command", _fake_demo(FAKE_DEMO.format(repo=str(REPO))))
    store = make_store("empty", fresh=True)
    at = run_app(store)
    at.button(key="paretoscope.run_demo").click().run()
    assert not at.exception
    assert _wait_until_done(store.files_dir).status == "succeeded"
    at.run()
    assert not at.exception
    assert _frontier_rows(at) == 1
    assert _chart_spec(at) is not None


def test_a_demo_that_crashes_is_reported_with_its_log(
    make_store: MakeStore, run_app: RunApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    crash = "import sys; print('ImportError: no module named torch_thing'); sys.exit(7)"
    monkeypatch.setattr(background, "demo_command", _fake_demo(crash))
    store = make_store("empty", fresh=True)
    at = run_app(store)
    at.button(key="paretoscope.run_demo").click().run()
    assert _wait_until_done(store.files_dir).status == "failed"
    at.run()
    assert not at.exception
    error = shown("\n".join(e.value for e in at.error))
    assert "exited with status 7" in error and "no module named torch_thing" in error
    assert [b.label for b in at.button] == ["Run the demo"]  # it can be tried again


def test_a_running_demo_shows_progress_and_no_second_button(
    make_store: MakeStore, run_app: RunApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = (
        "import json, sys, time\n"
        "open(sys.argv[-1], 'a').write(json.dumps({'done': 2, 'total': 8, 'label': 'cnn-small',"
        " 'elapsed_s': 30.0, 'eta_s': 90.0}) + '\\n')\n"
        "time.sleep(30)\n"
    )
    monkeypatch.setattr(background, "demo_command", _fake_demo(slow))
    store = make_store("empty", fresh=True)
    job = background.launch_demo(store.path, store.files_dir)
    try:
        deadline = time.monotonic() + 10
        while background.read_progress(job.progress_file) is None:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        at = run_app(store)  # a new session finds the demo through the pid file
        assert not at.button
        (bar,) = at.get("progress")
        assert "2/8" in bar.proto.text and "cnn-small" in shown(bar.proto.text)
    finally:
        import os
        import signal

        os.kill(job.pid, signal.SIGKILL)  # our own stand-in child


# -- the server never loads torch ----------------------------------------


def test_the_dashboard_never_imports_torch_or_measure(make_store: MakeStore) -> None:
    store = make_store("mixed")
    code = f"""
import os, sys
os.environ["PARETOSCOPE_STORE"] = {str(store.path)!r}
from streamlit.testing.v1 import AppTest
for page in {list(PAGES.values())!r}:
    at = AppTest.from_file({str(APP)!r}, default_timeout=60).run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "onnxruntime", "measure"))
print(",".join(bad))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""
