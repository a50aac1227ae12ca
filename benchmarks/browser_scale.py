"""Browser scale benchmark (issue 13): the dashboard over a 100 000-run store, as a user feels it.

Starts the dashboard (``streamlit run paretoscope/webapp/app.py -- --store
STORE``, this checkout on ``PYTHONPATH``) over a store of ``--runs`` synthetic
runs (built with ``benchmarks/scale.py``'s builder when short of them), drives
Debian's chromium headless through Playwright, and measures:

- ``filter_change_s``: from the click that changes a run filter (the
  *Runtime* multiselect: pick a value, then take it off again, alternately)
  to the changed chart. The signal is the chart's drawing (``CHART_SIGNATURE``):
  an SVG chart's number of point marks, or, for a chart on a canvas (the
  Frontier draws on one from 500 drawn runs), a hash of the canvas's pixels
  (of a copy scaled down 4x: reading back the full canvas on every animation
  frame slowed the page being measured);
  taken just before the click, the clock stops when it differs (and the
  chart is drawn, not blank), polled on every animation frame. That is the
  moment the user sees the new chart. The clock is the page's own
  (``performance.now()``): it starts at the first ``pointerdown`` or
  ``keydown`` the page sees (the user's click or key press) and stops on the
  animation frame that shows the changed chart, so Playwright's own steps
  before the click (actionability checks, round trips) are not counted; the
  Python clock around the whole Playwright call is kept beside it
  (``filter_change_python_clock_s``) and was the figure before 2026-12-05.
  (The SVG's markup, used before, also
  changes when Streamlit re-mounts the old chart, which it did before the
  new chart's message had even arrived; a re-mounted canvas has the same
  pixels as before, so the pixels do not have that fault.) It does not depend
  on captions or layout, which other work moves around. Median (and all values) of
  ``--repeats``; the first change is the first time its filter state is
  drawn (later ones alternate between two states, which Streamlit's message
  cache has seen);
- ``fresh_session_s``: from opening the Frontier page in a new browser
  context to the first drawn chart marks;
- ``largest_message_bytes``: every websocket frame the browser receives is
  recorded (``page.on("websocket")`` -> ``framereceived``); per page
  (Frontier, Runs, Compare, Run detail, Methodology, Data) the largest;
- ``rss_peak_bytes``: the server's resident memory, summed over its process
  tree (``/proc/<pid>/status`` VmRSS), sampled after each of ``--sessions``
  sessions (a new context that opens the Frontier and the Runs page, then
  closes) and once more after all have closed (``rss_after_bytes``).

Writes a JSON result (``--json``) and exits 1 when a bar is missed: filter
change median under 0.5 s, no message over 5 MB, peak RSS under 1 GB.

Run from the repository root (the first run builds the store, minutes):
    PYTHONPATH=. python benchmarks/browser_scale.py --store /tmp/scale100k.duckdb --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
if str(HERE) not in sys.path:  # loaded by path (tests) as well as run as a script
    sys.path.insert(0, str(HERE))
import dashboard  # noqa: E402 - this folder's module, after the path is set

WEBAPP = REPO / "paretoscope" / "webapp"
CHROMIUM = os.environ.get("PARETOSCOPE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]  # fmt: skip
BARS = {"filter_change_s": 0.5, "largest_message_bytes": 5_000_000, "rss_peak_bytes": 1 << 30}
PAGES = {
    "Frontier": "/",
    "Runs": "/runs",
    "Compare": "/compare",
    "Run detail": "/run?run={run_id}",
    "Methodology": "/methodology",
    "Data": "/data",
}
MARKS = ".vega-embed svg .mark-symbol path, .vega-embed svg .mark-point path"
# What the user sees of the chart, as a string ('' while nothing is drawn): an SVG
# chart's number of point marks, else a hash of the first chart canvas's pixels.
CHART_SIGNATURE = (
    "(() => { const n = document.querySelectorAll(MARKS_SELECTOR).length;"
    " if (n > 0) return 'svg:' + n;"
    " const c = document.querySelector('.vega-embed canvas');"
    " if (!c || !c.width || !c.height) return '';"
    # A 4x smaller copy: reading back every pixel of the full canvas on each animation
    # frame cost the page itself 10-50 ms per frame, which the clock then counted.
    " const sw = Math.ceil(c.width / 4), sh = Math.ceil(c.height / 4);"
    " const s = window.__small || (window.__small = document.createElement('canvas'));"
    " s.width = sw; s.height = sh; const x = s.getContext('2d', {willReadFrequently: true});"
    " x.clearRect(0, 0, sw, sh); x.drawImage(c, 0, 0, sw, sh);"
    " const d = new Uint32Array(x.getImageData(0, 0, sw, sh).data.buffer);"
    " let h = 0, ink = 0;"
    " for (let i = 0; i < d.length; i++) { const v = d[i]; if (v) ink++;"
    " h = (Math.imul(h, 31) + v) | 0; }"
    " return ink > 25 ? 'canvas:' + c.width + 'x' + c.height + ':' + h : ''; })()"
).replace("MARKS_SELECTOR", repr(MARKS))


# -- the server ---------------------------------------------------------------------------


@contextmanager
def serve(store: Path, log: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """The dashboard on a free port over ``store``; stopped (terminate, then kill) on exit."""
    with dashboard.serving(store, log) as running:
        yield running


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and every live process below it (from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(
                    (entry / "stat").read_text().rsplit(")", 1)[-1].split()[1]
                )
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {pid}, {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - tree
        tree |= frontier
    total = 0
    for p in tree:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            continue
    return total


# -- the browser --------------------------------------------------------------------------


class Frames:
    """Sizes of the websocket frames a page receives, by the label of what is open."""

    def __init__(self, page: Any) -> None:
        self.label = "start"
        self.sizes: dict[str, list[int]] = {}
        self.last = time.monotonic()
        # (perf_counter, bytes) of every frame: where a filter change's time went.
        self.log: list[tuple[float, int]] = []
        self.split: list[tuple[float, float]] = []
        self.timeline: list[list[tuple[float, int]]] = []
        # Per change, Python's clock from just before Playwright's click to the changed
        # chart: the in-page clock plus Playwright's own steps (actionability, round trips).
        self.python_clock: list[float] = []
        page.on("websocket", self._socket)

    def _socket(self, ws: Any) -> None:
        ws.on("framereceived", self._frame)

    def _frame(self, payload: Any) -> None:
        size = len(payload.encode("utf-8") if isinstance(payload, str) else payload)
        self.sizes.setdefault(self.label, []).append(size)
        self.last = time.monotonic()
        self.log.append((time.perf_counter(), size))

    def settle(self, page: Any, quiet_s: float = 1.0, timeout_s: float = 180.0) -> None:
        """Wait for this label's first frame, then until none arrived for ``quiet_s``.

        That is when the page has sent what it draws (the script run has ended).
        """
        start = time.monotonic()
        deadline = start + timeout_s
        while time.monotonic() < deadline:
            seen = bool(self.sizes.get(self.label))
            if seen and time.monotonic() - max(self.last, start) >= quiet_s and idle(page):
                return
            page.wait_for_timeout(100)


def idle(page: Any) -> bool:
    """Whether the app's script has finished its run (Streamlit marks its root element)."""
    state = page.evaluate(
        "(() => { const a = document.querySelector('[data-testid=\"stApp\"]');"
        " return a ? a.getAttribute('data-test-script-state') : null; })()"
    )
    return state not in (None, "initial", "running")


def _wait_chart(page: Any, timeout_ms: int = 120_000) -> None:
    page.wait_for_function(f"{CHART_SIGNATURE} !== ''", timeout=timeout_ms)


def _runtime_box(page: Any) -> Any:
    """The *Runtime* filter's multiselect, opening the expander that holds it if needed.

    Only the expander whose title names the filters is clicked (opening the
    share panel would make its fingerprint, which a filter change never does).
    """
    box = page.locator('[data-testid="stMultiSelect"]').filter(has_text="Runtime").first
    if not box.is_visible():
        summaries = page.locator('[data-testid="stExpander"] summary').filter(has_text="Filters")
        summaries.first.click()
        box.wait_for(state="visible", timeout=60_000)
    return box


# The page's own clock: the first pointerdown or keydown after ``__arm`` (the user's
# click or key press), and the animation frame on which the chart is seen changed.
ARM_INPUT_CLOCK = (
    "() => { window.__t0 = null; window.__t1 = null; window.__chart = CHART;"
    " if (!window.__armed) { window.__armed = true;"
    " const h = () => { if (window.__t0 === null) window.__t0 = performance.now(); };"
    " document.addEventListener('pointerdown', h, {capture: true});"
    " document.addEventListener('keydown', h, {capture: true}); } }"
).replace("CHART", CHART_SIGNATURE)
CHART_CHANGED = (
    "(() => { const s = CHART; if (s === '' || s === window.__chart) return false;"
    " if (window.__t1 === null) window.__t1 = performance.now(); return true; })()"
).replace("CHART", CHART_SIGNATURE)


def filter_changes(page: Any, repeats: int, frames: Frames | None = None) -> list[float]:
    """Seconds from each filter click to the changed chart (see the module's docstring).

    With ``frames``, also ``frames.split``: per change, seconds from the click to
    the last websocket frame before the chart changed (the server's whole
    rerun and its transfer: Streamlit's script-finished message), and from
    that frame to the changed chart (the browser's work: Vega's drawing). The
    chart's own message is not always large: Streamlit sends a message the
    browser already holds (a filter state seen before) as a reference.
    """
    out = []
    split: list[tuple[float, float]] = []
    for i in range(repeats):
        box = _runtime_box(page)
        box.locator("input").click()
        page.evaluate(ARM_INPUT_CLOCK)
        if i % 2 == 0:  # pick the first runtime offered (not "Select all", which changes nothing)
            option = page.locator('[role="option"]').filter(has_not_text="Select all").first
            option.wait_for(timeout=30_000)
            t0 = time.perf_counter()
            option.click()
        else:  # take it off again
            t0 = time.perf_counter()
            page.keyboard.press("Backspace")
        page.wait_for_function(CHART_CHANGED, polling="raf", timeout=120_000)
        t1 = time.perf_counter()
        in_page = page.evaluate("() => [window.__t0, window.__t1]")
        if in_page[0] is not None and in_page[1] is not None:
            out.append((in_page[1] - in_page[0]) / 1000)
        else:  # no input event seen: the clock in Python, which includes Playwright's steps
            out.append(t1 - t0)
        if frames is not None:
            frames.python_clock.append(t1 - t0)
        if frames is not None:
            during = [(t, n) for t, n in frames.log if t0 <= t <= t1]
            frames.timeline.append([(round(t - t0, 3), n) for t, n in during])
            if during:
                t_done = during[-1][0]  # the script-finished message: the rerun is sent
                split.append((t_done - t0, t1 - t_done))
        page.keyboard.press("Escape")
        deadline = time.monotonic() + 120  # let the rerun finish before the next click
        while not idle(page) and time.monotonic() < deadline:
            page.wait_for_timeout(100)
        page.wait_for_timeout(500)
    if frames is not None:
        frames.split = split
    return out


def _run_id(store: Path) -> str:
    sys.path.insert(0, str(REPO))
    from store import Store

    frame = Store(store).runs_frame()
    return str(frame["run_id"].iloc[0])


def measure(url: str, proc: subprocess.Popen[bytes], store: Path, args: Any) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {}
    run_id = _run_id(store)
    rss: list[int] = [tree_rss(proc.pid)]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            # A fresh session: open, time to the first chart marks.
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            page = ctx.new_page()
            frames = Frames(page)
            frames.label = "Frontier"
            t0 = time.perf_counter()
            page.goto(url + "/", wait_until="domcontentloaded")
            _wait_chart(page)
            out["fresh_session_s"] = time.perf_counter() - t0
            frames.settle(page)
            changes = filter_changes(page, args.repeats, frames)
            out["filter_change_s"] = statistics.median(changes)
            out["filter_change_all_s"] = changes
            out["filter_change_python_clock_s"] = [round(t, 3) for t in frames.python_clock]
            if frames.python_clock:
                out["filter_change_python_clock_median_s"] = statistics.median(frames.python_clock)
            if frames.split:
                out["filter_change_server_s"] = [round(a, 3) for a, _ in frames.split]
                out["filter_change_browser_s"] = [round(b, 3) for _, b in frames.split]
                # Every frame between each click and the changed chart: (seconds, bytes).
                out["filter_change_frames"] = frames.timeline
            # Every page's largest message, in the same session.
            for name, path in PAGES.items():
                frames.label = name
                page.goto(url + path.format(run_id=run_id), wait_until="domcontentloaded")
                frames.settle(page)
            out["largest_message_by_page"] = {
                name: max(frames.sizes.get(name, [0])) for name in PAGES
            }
            out["largest_message_bytes"] = max(out["largest_message_by_page"].values())
            ctx.close()
            rss.append(tree_rss(proc.pid))
            # Sessions, one after another: Frontier then Runs, then close.
            for _ in range(args.sessions):
                ctx = browser.new_context(viewport={"width": 1280, "height": 900})
                page = ctx.new_page()
                page.goto(url + "/", wait_until="domcontentloaded")
                _wait_chart(page)
                page.goto(url + "/runs", wait_until="domcontentloaded")
                page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=120_000)
                rss.append(tree_rss(proc.pid))
                ctx.close()
        finally:
            browser.close()
    time.sleep(2)
    rss.append(tree_rss(proc.pid))
    out["rss_samples_bytes"] = rss
    out["rss_peak_bytes"] = max(rss)
    out["rss_after_bytes"] = rss[-1]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=100_000)
    ap.add_argument("--store", help="reuse this store (built when it has fewer runs)")
    ap.add_argument("--repeats", type=int, default=5, help="filter changes (median)")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--log", help="keep the dashboard's output here (default: a temporary file)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(REPO))
    from scale import build_store

    out: dict[str, Any] = {
        "host_cpus": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0],
        "runs": args.runs,
    }
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.store) if args.store else Path(tmp) / "scale.duckdb"
        store, took = build_store(path, args.runs)
        out["n_runs"] = store.run_count()
        del store  # the server opens it
        if took is not None:
            out["bulk_ingest_s"] = took
        log = Path(args.log) if args.log else Path(tmp) / "streamlit.log"
        with serve(path, log) as (url, proc):
            out.update(measure(url, proc, path, args))
    out["bars"] = BARS
    out["bars_met"] = all(out[k] < v for k, v in BARS.items())
    text = json.dumps(out, indent=1)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0 if out["bars_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
