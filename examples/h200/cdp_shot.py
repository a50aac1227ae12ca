"""Screenshot pages of a running dashboard through a headless Chromium's DevTools port.

``chromium --headless --remote-debugging-port=9222`` must already run (``page.sh``
starts it); no Playwright on the lent GPU machine, so this speaks the DevTools
protocol over the ``websockets`` package Streamlit already needs. Usage:

    python cdp_shot.py http://127.0.0.1:8765 OUT_DIR profile runs
"""

from __future__ import annotations

import base64
import json
import sys
import time
import urllib.request
from pathlib import Path

from websockets.sync.client import connect


def main(base: str, out: Path, pages: list[str]) -> None:
    with urllib.request.urlopen("http://127.0.0.1:9222/json") as r:
        target = next(t for t in json.load(r) if t.get("type") == "page")
    with connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
        n = 0

        def call(method: str, **params: object) -> dict[str, object]:
            nonlocal n
            n += 1
            ws.send(json.dumps({"id": n, "method": method, "params": params}))
            while True:
                msg = json.loads(ws.recv())
                if msg.get("id") == n:
                    return dict(msg.get("result") or {})

        call("Emulation.setDeviceMetricsOverride", width=1400, height=2000,
             deviceScaleFactor=1, mobile=False)  # fmt: skip
        for page in pages:
            call("Page.navigate", url=f"{base}/{page}")
            time.sleep(15)  # the app's websocket, the rerun and the charts
            shot = call("Page.captureScreenshot", format="png")
            path = out / f"h200-{page}.png"
            path.write_bytes(base64.b64decode(str(shot["data"])))
            print("wrote", path)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), sys.argv[3:])
