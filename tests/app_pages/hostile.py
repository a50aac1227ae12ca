"""A store whose every text field is hostile, built through the real paths, and a live-markup check.

The runs reach the store as a result bundle (export from one store, import into
another, under a hostile bundle name); the saved view through ``save_view``;
the upload through ``save_upload`` (quarantine) and a job titled as the Profile
page titles it; the job's progress and failure through the queue. Test
fixtures only, never shown to users as measurements.
"""

from __future__ import annotations

import dataclasses
import io
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

from paretoscope.core.records import EnergyStats, RunRecord
from paretoscope.jobs import queue as jobs
from paretoscope.profiling import form, uploads
from paretoscope.profiling.request import ProfileRequest
from store import Store
from store.bundle import bundle_bytes, import_bundle
from store.saved_views import save_view
from tests.factories import make_record

EVIL = "evil.example"
PAYLOADS = (
    f"![x](http://{EVIL}/x.png)",
    "[click](javascript:alert(1))",
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "**bold**",
    ":red[x]",
    "$x$",
    ":material/home:",
)
# What a payload looks like when it is live: raw, with no backslash before its
# first character. An escaped payload (``\!\[x\]…``) never contains these.
LIVE = (
    "![x](",
    "[click](",
    "<img",
    "</script",
    "<script",
    "**bold**",
    ":red[x]",  # the app's own status icons are :red[:material/error:] and the like
    "$x$",
    ":material/home:",
    f"http://{EVIL}",
)


def hostile(text: str = "") -> str:
    """All payloads in one string (with ``text`` in front, to tell fields apart)."""
    return f"{text} " + " ".join(PAYLOADS)


def shown(body: str) -> str:
    """The text a Markdown ``body`` made by ``markdown_text`` reads as: escapes and joiners gone."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", body).replace("\u2060", "")


def live_markup(body: str) -> list[str]:
    """The live payload fragments in a Markdown ``body`` (each not preceded by a backslash)."""
    found = []
    for frag in LIVE:
        for m in re.finditer(re.escape(frag), body):
            if m.start() == 0 or body[m.start() - 1] != "\\":
                found.append(frag)
    return found


def _records(payload: str) -> list[RunRecord]:
    out = []
    for i in range(3):
        rec = make_record(
            model=hostile(f"model{i}") if not payload else f"m{i} {payload}",
            family=payload or hostile("family"),
            latency_ms=1.0 + i,
            accuracy=0.9 + i / 100,
        )
        text = payload or hostile("field")
        spec, ds, host, device = rec.spec, rec.spec.dataset, rec.host, rec.device
        assert ds is not None and host is not None and device is not None
        rec = dataclasses.replace(
            rec,
            spec=dataclasses.replace(spec, dataset=dataclasses.replace(ds, name=text, split=text)),
            host=dataclasses.replace(host, hostname=text, cpu_model=text),
            device=dataclasses.replace(device, name=text),
            energy=EnergyStats.unavailable(text),
        )
        out.append(rec)
    failed = make_record(model=payload or hostile("failed"), status="failed", error=None)
    out.append(dataclasses.replace(failed, error=(payload or hostile("error")) + "\n" + hostile()))
    return out


def build_hostile_store(path: Path, payload: str = "") -> Store:
    """A store at ``path`` whose every text field holds ``payload`` (all payloads by default)."""
    text = payload or hostile()
    source = Store(path.with_name(path.stem + "-source.duckdb"))
    source.ingest_many(_records(payload))
    data, _ = bundle_bytes(source)
    store = Store(path)
    import_bundle(store, data, name=text + ".parquet")
    save_view(store, name=text[:100], description=text + "\n" + text, page="", query={})
    save_view(store, name=("runs " + text)[:100], description=text, page="runs", query={})
    # An upload under a hostile name, and the jobs the Profile page would queue for it.
    upload = uploads.save_upload(
        store, text + ".onnx", io.BytesIO(b"not a real model"), role="model", limit_mb=1.0
    )
    request = ProfileRequest(model_path=str(upload.path), name=text, source="upload")
    title = form.job_title(upload.original_name, request)
    for status in ("failed", "running"):
        job = jobs.submit_job(store, {"model_path": str(upload.path)}, title=title)
        claimed = jobs.claim_next_job(store, pid=os.getpid())
        assert claimed is not None and claimed.job_id == job.job_id
        jobs.report_progress(store, job.job_id, 1, 3, label=text)
        if status == "failed":
            jobs.finish_job(store, job.job_id, "failed", text + "\n" + text, error=text)
    return store


_TEXT_KINDS = (
    "markdown",
    "caption",
    "title",
    "header",
    "subheader",
    "error",
    "warning",
    "info",
    "success",
    "toast",
)
_WIDGETS = (
    "button",
    "checkbox",
    "toggle",
    "multiselect",
    "selectbox",
    "radio",
    "text_input",
    "text_area",
    "number_input",
    "slider",
    "select_slider",
    "date_input",
    "time_input",
    "color_picker",
    "chat_input",
)
# Elements AppTest knows only by their proto: where their Markdown is.
_PROTO_FIELDS = {
    "page_link": ("label", "help"),
    "download_button": ("label", "help"),
    "progress": ("text",),
    "file_uploader": ("label", "help"),
    "form_submit_button": ("label", "help"),
    "spinner": ("text",),
}


def markdown_bodies(at: AppTest) -> list[str]:
    """Every string the page renders as Markdown: messages, titles, labels, helps, tabs, metrics."""
    out: list[str] = []
    for kind in _TEXT_KINDS:
        out += [str(getattr(e, "value", "")) for e in at.get(kind)]
    out += [str(x.label) for x in at.expander]
    out += [str(t.label) for t in at.tabs]
    for m in at.metric:
        out += [str(m.label), str(m.value), str(m.proto.help or "")]
    kinds: dict[str, tuple[str, ...]] = {k: ("label", "help") for k in _WIDGETS}
    for kind, fields in {**kinds, **_PROTO_FIELDS}.items():
        for e in at.get(kind):
            proto: Any = getattr(e, "proto", None)
            out += [str(getattr(e, f, None) or getattr(proto, f, "") or "") for f in fields]
    return [b for b in out if b]


def live_in(bodies: Sequence[str]) -> list[tuple[str, list[str]]]:
    """Each body with live payload fragments in it, and those fragments."""
    return [(b, frags) for b in bodies if (frags := live_markup(b))]
