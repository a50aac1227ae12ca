"""Take the README's screenshot of the Frontier page: ``python docs/screenshot.py``.

Starts the dashboard (``streamlit run`` of this checkout's ``paretoscope/webapp``)
on a store, opens a page in Debian's Chromium through Playwright at 1280×720
and writes a PNG of what a newcomer sees without scrolling. Without ``--store``
it fills a fresh store from the committed example bundle (``paretoscope demo
--example h100``: no measuring, seconds). Playwright never downloads a browser
here: it drives ``--chromium`` (default /usr/bin/chromium).

    python docs/screenshot.py                               # -> docs/frontier.png
    python docs/screenshot.py --store my.duckdb --path '/?x=model_size_mb' --out /tmp/a.png
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WEBAPP = REPO / "paretoscope" / "webapp"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _demo_store(folder: Path) -> Path:
    store = folder / "demo.duckdb"
    subprocess.run(
        [sys.executable, "-m", "paretoscope", "demo", "--example", "h100", "--store", str(store)],
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    return store


def _serve(store: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    sys.path.insert(0, str(REPO / "benchmarks"))
    import dashboard  # the one dashboard starter of the scripts (benchmarks/dashboard.py)

    return dashboard.start(store, log, timeout_s=60)


def shoot(url: str, out: Path, *, width: int, height: int, chromium: str, full: bool) -> None:
    """Open ``url``, wait for the chart (or the page's first alert), and save a PNG."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(url)
        page.wait_for_selector(
            "[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg, "
            "[data-testid='stAlert']",
            timeout=60_000,
        )
        page.wait_for_timeout(1500)  # let Vega finish drawing and the status widget settle
        out.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out), full_page=full)
        browser.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python docs/screenshot.py", description=__doc__)
    p.add_argument("--store", type=Path, help="store to show (default: a fresh example store)")
    p.add_argument("--path", default="/", help="page and query, e.g. '/?by=device' (default /)")
    p.add_argument("--out", type=Path, default=REPO / "docs" / "frontier.png")
    p.add_argument("--width", type=int, default=1280)
    p.add_argument("--height", type=int, default=720)
    p.add_argument("--full-page", action="store_true", help="the whole page, not the first screen")
    p.add_argument(
        "--chromium", default=os.environ.get("PARETOSCOPE_CHROMIUM", "/usr/bin/chromium")
    )
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="paretoscope-shot-") as tmp:
        store = args.store or _demo_store(Path(tmp))
        proc, url = _serve(store, Path(tmp) / "streamlit.log")
        try:
            shoot(url + args.path, args.out, width=args.width, height=args.height,
                  chromium=args.chromium, full=args.full_page)  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
