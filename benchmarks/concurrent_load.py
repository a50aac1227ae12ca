"""Concurrent load (issue 12): N browser sessions re-render the Frontier page while a CLI profiles.

Set-up: a store of ``--runs`` synthetic runs (100 000 by default, written once
with ``store.bulk.bulk_ingest`` and kept at ``--store``), the dashboard served
from it (``streamlit run`` of the packaged app, as the browser tests start it),
and a writer: ``paretoscope profile`` of a tiny ONNX MLP with a few variants,
started again and again into the same store for the whole run.

Each of ``--sessions`` browser sessions (headless Debian Chromium driven by
Playwright; Playwright never downloads a browser here) loads the Frontier
page with one filter after another from its query string (``?rt=ort``,
``?prec=int8``, ``?bs=1`` …), each load a fresh script run of the page. A
render's time runs from the navigation until Streamlit says the script is idle
(``data-test-script-state="notRunning"`` on the app root) and the chart is drawn
(``.vega-embed svg``). The first render of each session (it fills the
server's cache) is reported apart. After each render the page is searched for
exception boxes (``stException``) and for alerts that mention a lock.

Reported: renders, p50/p95/max render time per session and over all, the first
renders, timeouts, exception boxes, lock messages shown, and the writer's runs,
exits and lock messages.

Run from the repository root:
    PYTHONPATH=. python benchmarks/concurrent_load.py --sessions 4 --duration-s 60 \
        --store /tmp/load100k.duckdb --json load.json
Exits 1 when a page showed an exception box or a lock message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO / "benchmarks") not in sys.path:  # loaded by path (tests) as well as run
    sys.path.insert(0, str(REPO / "benchmarks"))
import dashboard  # noqa: E402 - this folder's module, after the path is set

CHROMIUM = os.environ.get("PARETOSCOPE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Query strings of the Frontier page, visited in turn (docs/url.md); each is a new filter.
QUERIES = [
    "",
    "rt=ort",
    "prec=int8",
    "bs=1",
    "rt=torch",
    "dev=cpu&bs=8",
    "x=peak_mem_mb",
    "prec=fp32&prec=int8&dom=0",
]
IDLE_JS = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  // The chart, or, for a view with no chart, an alert saying why (or an exception).
  return document.querySelector('.vega-embed svg') !== null
      || document.querySelector('[data-testid="stException"]') !== null
      || document.querySelector('[data-testid="stAlert"]') !== null;
}"""
ISSUES_JS = """() => {
  const ex = document.querySelectorAll('[data-testid="stException"]').length;
  const boxes = '[data-testid="stAlert"], [data-testid="stException"]';
  const texts = Array.from(document.querySelectorAll(boxes)).map(e => e.innerText);
  return [ex, texts.filter(t => /lock/i.test(t)).length, texts.slice(0, 3)];
}"""


@dataclass
class Session:
    """What one browser session saw."""

    first_s: float | None = None
    render_s: list[float] = field(default_factory=list)
    timeouts: int = 0
    exceptions: int = 0
    lock_messages: int = 0
    samples: list[str] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # renders that timed out or failed


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by linear interpolation; None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = q * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env.update(extra)
    return env


def build_store(path: Path, runs: int) -> float:
    """Make ``path`` hold at least ``runs`` synthetic runs; seconds spent (0 if it did)."""
    from store import Store
    from store.bulk import bulk_ingest
    from tests.synthetic import synthetic_records

    store = Store(path)
    if store.run_count() >= runs:
        return 0.0
    t0 = time.perf_counter()
    bulk_ingest(store, synthetic_records(runs, seed=0))
    return time.perf_counter() - t0


def _app_file() -> Path:
    for candidate in (REPO / "paretoscope" / "webapp" / "app.py", REPO / "app.py"):
        if candidate.exists():
            return candidate
    raise SystemExit("no app.py found")


def start_server(store: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """The dashboard of the checkout under test (``_app_file``), in its own process group."""
    try:
        return dashboard.start(
            store, log, app=_app_file(), env=_env(PARETOSCOPE_STORE=str(store)), new_session=True
        )
    except RuntimeError as err:
        raise SystemExit(str(err)) from err


def _stop(proc: subprocess.Popen[bytes]) -> None:
    dashboard.stop(proc)


@dataclass
class Writer:
    """The CLI profile jobs run during the load."""

    jobs: int = 0
    failed_jobs: int = 0
    runs_ok: int = 0
    lock_messages: int = 0
    last_error: str = ""


def run_writer(store: Path, model: Path, work: Path, stop_at: float, w: Writer) -> None:
    """Profile ``model`` into ``store`` again and again until ``stop_at`` (monotonic)."""
    import re

    while time.monotonic() < stop_at:
        log = work / f"writer-{w.jobs:03d}.log"
        cmd = [
            sys.executable, "-m", "paretoscope", "profile", str(model), "--quick",
            "--repeats", "1", "--precision", "fp32,int8", "--batch", "1,4",
            "--name", f"load-writer-{w.jobs:03d}", "--store", str(store),
        ]  # fmt: skip
        with log.open("wb") as fh:
            proc = subprocess.Popen(
                cmd, stdout=fh, stderr=subprocess.STDOUT, env=_env(), start_new_session=True
            )
            while proc.poll() is None and time.monotonic() < stop_at + 300:
                time.sleep(0.5)
            if proc.poll() is None:
                _stop(proc)
        w.jobs += 1
        text = log.read_text(errors="replace")
        w.lock_messages += len(re.findall(r"lock", text, flags=re.IGNORECASE))
        m = re.search(r"(\d+) of (\d+) run\(s\) ok", text)
        w.runs_ok += int(m.group(1)) if m else 0
        if proc.returncode != 0:
            w.failed_jobs += 1
            w.last_error = text.strip().splitlines()[-1][:200] if text.strip() else ""


async def drive(
    url: str, sessions: int, duration_s: float, timeout_s: float, on_warm: Callable[[float], None]
) -> list[Session]:
    """Warm every session with one render, call ``on_warm(stop_at)``, then re-render until then."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        out = [Session() for _ in range(sessions)]
        pages = []
        for _ in out:
            context = await browser.new_context(viewport={"width": 1400, "height": 1000})
            pages.append(await context.new_page())

        async def render(page: Any, s: Session, query: str) -> float | None:
            t0 = time.perf_counter()
            try:
                await page.goto(f"{url}/?{query}", wait_until="domcontentloaded")
                await page.wait_for_function(IDLE_JS, timeout=timeout_s * 1000, polling=50)
            except Exception as err:  # playwright's TimeoutError and navigation errors alike
                s.timeouts += 1
                s.failures.append(f"{type(err).__name__} after {time.perf_counter() - t0:.0f} s")
                return None
            dt = time.perf_counter() - t0
            ex, locks, texts = await page.evaluate(ISSUES_JS)
            s.exceptions += int(ex)
            s.lock_messages += int(locks)
            if (ex or locks) and len(s.samples) < 3:
                s.samples.extend(str(t)[:200] for t in texts)
            return dt

        async def first(i: int) -> None:
            out[i].first_s = await render(pages[i], out[i], QUERIES[i % len(QUERIES)])

        await asyncio.gather(*(first(i) for i in range(sessions)))
        stop_at = time.monotonic() + duration_s
        on_warm(stop_at)

        async def loop(i: int) -> None:
            k = i + 1  # sessions start at different filters
            while time.monotonic() < stop_at:
                dt = await render(pages[i], out[i], QUERIES[k % len(QUERIES)])
                k += 1
                if dt is not None:
                    out[i].render_s.append(dt)

        await asyncio.gather(*(loop(i) for i in range(sessions)))
        await browser.close()
        return out


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=4, help="browser sessions (default 4)")
    ap.add_argument("--duration-s", type=float, default=60.0, help="length of the load (s)")
    ap.add_argument("--runs", type=int, default=100_000, help="runs in the store")
    ap.add_argument("--store", help="keep the store here between invocations (built if short)")
    ap.add_argument("--no-writer", action="store_true", help="no CLI profile during the load")
    ap.add_argument("--render-timeout-s", type=float, default=120.0)
    ap.add_argument("--workdir", help="logs and the tiny model (default: a temporary folder)")
    ap.add_argument("--json", metavar="FILE", help="also write the summary here")
    args = ap.parse_args(argv)
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"no chromium at {CHROMIUM}; apt-get install -y chromium")

    work = Path(args.workdir or tempfile.mkdtemp(prefix="paretoscope-load-"))
    work.mkdir(parents=True, exist_ok=True)
    store = Path(args.store) if args.store else work / "load.duckdb"
    build_s = build_store(store, args.runs)
    import numpy as np

    from measure.testing import export_onnx, tiny_mlp

    model = work / "tiny.onnx"
    if not model.exists():
        export_onnx(tiny_mlp(), model, np.zeros((1, 64), dtype=np.float32))

    server, url = start_server(store, work / "streamlit.log")
    writer = Writer()
    try:
        # One warm render per session first (it fills the server's cache); then the load,
        # with the writer started at the same moment.
        threads: list[threading.Thread] = []

        def on_warm(stop_at: float) -> None:
            if not args.no_writer:
                t = threading.Thread(
                    target=run_writer, args=(store, model, work, stop_at, writer), daemon=True
                )
                t.start()
                threads.append(t)

        sessions = asyncio.run(
            drive(url, args.sessions, args.duration_s, args.render_timeout_s, on_warm)
        )
        for t in threads:
            t.join(timeout=600)
    finally:
        _stop(server)
    log_text = (work / "streamlit.log").read_text(errors="replace")

    every = [x for s in sessions for x in s.render_s]
    print("| session | renders | first (s) | p50 (s) | p95 (s) | max (s) | timeouts | "
          "exception boxes | lock messages |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for i, s in enumerate(sessions):
        print(
            f"| {i} | {len(s.render_s)} | {_fmt(s.first_s)} | {_fmt(percentile(s.render_s, 0.5))} "
            f"| {_fmt(percentile(s.render_s, 0.95))} | {_fmt(max(s.render_s, default=None))} "
            f"| {s.timeouts} | {s.exceptions} | {s.lock_messages} |"
        )
    print(
        f"| all | {len(every)} | - | {_fmt(percentile(every, 0.5))} | "
        f"{_fmt(percentile(every, 0.95))} | {_fmt(max(every, default=None))} | "
        f"{sum(s.timeouts for s in sessions)} | {sum(s.exceptions for s in sessions)} | "
        f"{sum(s.lock_messages for s in sessions)} |"
    )
    summary: dict[str, Any] = {
        "benchmark": "concurrent_load",
        "sessions": args.sessions,
        "duration_s": args.duration_s,
        "runs_in_store_at_start": args.runs,
        "store_build_s": round(build_s, 1),
        "renders": len(every),
        "render_p50_s": percentile(every, 0.5),
        "render_p95_s": percentile(every, 0.95),
        "render_max_s": max(every, default=None),
        "per_session_p50_s": [percentile(s.render_s, 0.5) for s in sessions],
        "per_session_p95_s": [percentile(s.render_s, 0.95) for s in sessions],
        "first_render_s": [s.first_s for s in sessions],
        "timeouts": sum(s.timeouts for s in sessions),
        "exception_boxes": sum(s.exceptions for s in sessions),
        "lock_messages_shown": sum(s.lock_messages for s in sessions),
        "samples": [t for s in sessions for t in s.samples][:5],
        "failures": [t for s in sessions for t in s.failures][:10],
        "writer_jobs": writer.jobs,
        "writer_failed_jobs": writer.failed_jobs,
        "writer_runs_ok": writer.runs_ok,
        "writer_lock_messages": writer.lock_messages,
        "writer_last_error": writer.last_error,
        "server_tracebacks": log_text.count("Traceback (most recent call last)"),
    }
    line = json.dumps(summary)
    print(line)
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")
    return 1 if summary["exception_boxes"] or summary["lock_messages_shown"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
