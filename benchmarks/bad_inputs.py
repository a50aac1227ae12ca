"""Bad inputs (issue 12): hostile links, bundles, uploads and store files, and what each one does.

Every case is tried through the surface a user would reach it by, and its
outcome classified:

- ``accepted``: it was taken as ordinary input (right for data that is merely odd);
- ``message``: refused with a message and no traceback (what a bad input should get);
- ``warning``: a page rendered and said what it ignored (what a bad link should get);
- ``traceback``: a Python traceback on the command line;
- ``exception box``: an exception shown in a dashboard page;
- ``no message``: failed, saying nothing.

With each, whether the store (or the file tried as a store) changed: its
sha256 before and after, and whether new files appeared beside it.

Surfaces:

- ``links``: every page of the dashboard (``AppTest``, a small store) opened
  with each hostile value in every known URL key plus an unknown key;
- ``bundles``: ``paretoscope import FILE`` in a fresh process, into a copy of a
  small store each time;
- ``uploads``: ``profiling.uploads.save_upload`` (the browser's path), then,
  for what it lets through, ``paretoscope profile`` with the file;
- ``stores``: ``paretoscope runs --store FILE`` and the Frontier page with
  ``$PARETOSCOPE_STORE=FILE``.

Run from the repository root:
    PYTHONPATH=. python benchmarks/bad_inputs.py --json bad.json
Exits 1 when a case ends in a traceback or an exception box, or changes a file
that was not a store.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import hashlib
import io
import json
import os
import pickle
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
TRACEBACK = "Traceback (most recent call last)"
HOSTILE_VALUES = [
    "",
    "-1",
    "1e309",
    "NaN",
    "2147483648",
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "'; DROP TABLE runs; --",
    "../../../../etc/passwd",
    "\x00",
    "\u202e\u0301",
    "a" * 5000,
    "{{7*7}}",
    "[x](http://evil.example)",
    "![x](http://evil.example/x.png)",
    "ffffffffffff",
]
HOSTILE_NAMES = {
    "script tag": "</script><script>alert(1)</script>",
    "markdown image": "![x](http://evil.example/x.png)",
    "html": "<img src=x onerror=alert(1)>",
    "control chars": "a\x00b\x1b[31mc",
    "huge (1 MB)": "m" * 1_000_000,
}


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One bad input tried through one surface."""

    surface: str
    case: str
    outcome: str
    store_changed: bool | None
    message: str


# -- pure helpers ------------------------------------------------------------


def classify(rc: int, stderr: str) -> str:
    """The outcome of a command from its exit status and standard error."""
    if TRACEBACK in stderr:
        return "traceback"
    if rc == 0:
        return "accepted"
    return "message" if stderr.strip() else "no message"


def first_line(text: str, limit: int = 160) -> str:
    """The last non-empty line of ``text`` (a CLI's message), shortened, one line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    line = lines[-1] if lines else ""
    line = re.sub(r"\s+", " ", line)
    return line if len(line) <= limit else line[: limit - 1] + "…"


def fingerprint(path: Path) -> tuple[str, tuple[str, ...]]:
    """sha256 of ``path`` (``-`` if absent, ``dir`` for a folder) and the names beside it."""
    if path.is_dir():
        digest = "dir"
    elif path.exists():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    else:
        digest = "-"
    siblings = tuple(sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name)))
    return digest, siblings


# -- running things ----------------------------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + (
        os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else ""
    )
    env.update(extra)
    return env


def cli(*args: str, timeout_s: float = 300.0) -> tuple[int, str]:
    """``paretoscope ARGS`` in a fresh process: (exit status, stderr)."""
    try:
        out = subprocess.run(
            [sys.executable, "-m", "paretoscope", *args],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env=_env(),
            cwd=REPO,
        )
    except subprocess.TimeoutExpired:
        return 124, "timed out"
    return out.returncode, out.stderr


def _app_file() -> Path:
    for candidate in (REPO / "paretoscope" / "webapp" / "app.py", REPO / "app.py"):
        if candidate.exists():
            return candidate
    raise SystemExit("no app.py found")


def pages() -> list[str]:
    """Every page the app registers with ``st.Page``."""
    text = _app_file().read_text("utf-8")
    return re.findall(r"st\.Page\(\s*\"(app_pages/[a-z_0-9]+\.py)\"", text)


@contextlib.contextmanager
def _store_env(path: Path) -> Iterator[None]:
    old = os.environ.get("PARETOSCOPE_STORE")
    os.environ["PARETOSCOPE_STORE"] = str(path)
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("PARETOSCOPE_STORE", None)
        else:
            os.environ["PARETOSCOPE_STORE"] = old


def page_outcome(page: str, query: dict[str, Any], store: Path) -> tuple[str, str]:
    """Open ``page`` with ``query`` in AppTest: (outcome, message)."""
    from streamlit.testing.v1 import AppTest

    with _store_env(store):
        at = AppTest.from_file(str(_app_file()), default_timeout=120)
        at.run()
        if page != "app_pages/frontier.py":
            at.switch_page(page)
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
    if at.exception:
        return "exception box", first_line(str(at.exception[0].value))
    errors = [str(e.value) for e in at.error]
    if errors:
        return "message", first_line(errors[0])
    warnings = [str(w.value) for w in at.warning]
    if not at.title:
        return "no message", "no title rendered"
    if warnings:
        return "warning", first_line(warnings[0])
    return "accepted", ""


# -- the inputs --------------------------------------------------------------


def small_store(path: Path) -> Path:
    """A store with three runs (one failed)."""
    from store import Store
    from tests.factories import make_record

    Store(path).ingest_many(
        [
            make_record(model="a", latency_ms=1.0, accuracy=0.9),
            make_record(model="b", runtime="torch", precision="int8", latency_ms=0.5, accuracy=0.8),
            make_record(model="c", status="failed", error="crashed"),
        ]
    )
    return path


def _known_keys() -> list[str]:
    try:
        from paretoscope.views import FRONTIER_KEYS, RUNS_KEYS

        return sorted({*FRONTIER_KEYS, *RUNS_KEYS, "view", "x", "y"})
    except ImportError:
        return ["x", "y", "view", "runtime", "precision", "device", "batch", "run"]


def try_links(work: Path, limit: int) -> list[Outcome]:
    """Each hostile value in every known key (plus an unknown key), on every page."""
    store = small_store(work / "links.duckdb")
    before = fingerprint(store)
    keys = _known_keys()
    out: list[Outcome] = []
    for page in pages():
        tally: Counter[str] = Counter()
        example = ""
        for value in HOSTILE_VALUES[:limit]:
            query: dict[str, Any] = {k: value for k in keys}
            query["zz_unknown"] = [value, value]
            outcome, message = page_outcome(page, query, store)
            tally[outcome] += 1
            if outcome != "accepted" and not example:
                example = message
        after = fingerprint(store)
        summary = ", ".join(f"{n} {o}" for o, n in sorted(tally.items()))
        out.append(Outcome("links", f"{page}: {summary}", _worst(tally), after != before, example))
    return out


def _worst(tally: Counter[str]) -> str:
    for outcome in ("exception box", "traceback", "no message", "message", "warning", "accepted"):
        if tally[outcome]:
            return outcome
    return "accepted"


def _bundle_of(work: Path, name: str, records: list[Any]) -> Path:
    from store import Store
    from store.bundle import export_bundle

    src = Path(tempfile.mkdtemp(dir=work)) / "src.duckdb"
    store = Store(src)
    store.ingest_many(records)
    path = work / f"{name}.parquet"
    export_bundle(store, path)
    return path


def bundle_cases(work: Path) -> dict[str, Path]:
    """Hostile bundles, by case name."""
    import pandas as pd
    import pyarrow.parquet as pq

    from tests.factories import make_record

    good = _bundle_of(work, "good", [make_record(model="good", accuracy=0.9)])
    cases: dict[str, Path] = {}

    def write(name: str, data: bytes) -> None:
        cases[name] = work / f"{name.replace(' ', '-')}.parquet"
        cases[name].write_bytes(data)

    write("empty file", b"")
    write("random bytes", os.urandom(4096))
    raw = good.read_bytes()
    write("truncated bundle (half)", raw[: len(raw) // 2])
    write("pickle named .parquet", pickle.dumps({"runs": [1, 2, 3]}))
    other = work / "other-schema.parquet"
    pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}).to_parquet(other)
    cases["parquet of another schema"] = other
    table = pq.read_table(good)
    dropped = work / "column-dropped.parquet"
    pq.write_table(table.drop([table.column_names[0]]), dropped)
    cases[f"bundle without its column {table.column_names[0]!r}"] = dropped
    for label, text in HOSTILE_NAMES.items():
        cases[f"model name: {label}"] = _bundle_of(
            work, f"name-{len(cases)}", [make_record(model=text)]
        )
    cases["run id starting with '.'"] = _bundle_of(
        work, "dot-id", [make_record(model="dot", run_id=".dotted-run")]
    )
    return cases


def try_bundles(work: Path) -> list[Outcome]:
    base = small_store(work / "bundles-base.duckdb")
    _, base_n = _listed(base)
    out: list[Outcome] = []
    for name, path in bundle_cases(work).items():
        target = work / f"import-{len(out)}.duckdb"
        shutil.copy(base, target)
        before = fingerprint(target)
        rc, err = cli("import", str(path), "--store", str(target))
        outcome = classify(rc, err)
        msg = first_line(err)
        if outcome == "accepted":
            _, listed = _listed(target)
            msg = f"exit 0; `runs --all` lists {listed} run(s), {base_n} before the import"
        out.append(Outcome("bundles", name, outcome, fingerprint(target) != before, msg))
    return out


def _listed(store: Path) -> tuple[int, int]:
    res = subprocess.run(
        [sys.executable, "-m", "paretoscope", "runs", "--all", "--store", str(store)],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=REPO,
    )
    return res.returncode, max(0, len(res.stdout.splitlines()) - 1)


def upload_cases(work: Path) -> list[tuple[str, str, str, bytes]]:
    """(case, role, file name, bytes) of hostile uploads."""
    import numpy as np

    def npz(**arrays: Any) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        return buf.getvalue()

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        # ~1 MB on disk, 1 GiB inflated: a zip bomb shaped like an .npz.
        header = (
            b"\x93NUMPY\x01\x00v\x00"
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (268435456,), }"
        )
        header = header + b" " * (127 - len(header)) + b"\n"
        with z.open("x.npy", "w", force_zip64=True) as fh:
            fh.write(header)
            block = b"\0" * (1 << 20)
            for _ in range(1024):
                fh.write(block)
        labels = io.BytesIO()
        np.save(labels, np.zeros(268435456 // 64, dtype=np.int64))
        z.writestr("labels.npy", labels.getvalue())
    x = np.random.default_rng(0).normal(size=(20, 64)).astype(np.float32)
    y = np.arange(20) % 10
    torch_like = io.BytesIO()
    with zipfile.ZipFile(torch_like, "w") as z:
        z.writestr("archive/data.pkl", pickle.dumps({"weights": [1.0]}))
        z.writestr("archive/version", "3\n")
    return [
        ("pickle named model.onnx", "model", "model.onnx", pickle.dumps({"a": 1})),
        ("torch.save archive named model.pt", "model", "model.pt", torch_like.getvalue()),
        ("random bytes named model.onnx", "model", "model.onnx", os.urandom(2048)),
        ("text named model.onnx", "model", "model.onnx", b"hello, I am not a model\n"),
        ("empty model.onnx", "model", "model.onnx", b""),
        ("pickle named data.npz", "data", "data.npz", pickle.dumps({"x": [1]})),
        (
            "npz with an object array (needs pickle)",
            "data",
            "data.npz",
            npz(x=np.array([{"a": 1}], dtype=object), labels=np.array([0])),
        ),
        ("zip bomb named data.npz (1 GiB inflated)", "data", "data.npz", bomb.getvalue()),
        ("npz of the wrong shape (x 20x3)", "data", "data.npz", npz(x=x[:, :3], labels=y)),
        ("npz without labels", "data", "data.npz", npz(x=x)),
        (
            "npz with NaN inputs and out-of-range labels",
            "data",
            "data.npz",
            npz(x=np.full_like(x, np.nan), labels=y + 1000),
        ),
        ("csv without the label column", "data", "data.csv", b"a,b\n1,2\n3,4\n"),
        ("random bytes named data.parquet", "data", "data.parquet", os.urandom(2048)),
        ("script named data.csv.exe", "data", "data.csv.exe", b"MZ\x90\x00"),
    ]


def try_uploads(work: Path, model: Path) -> list[Outcome]:
    from paretoscope.core.errors import ParetoscopeError
    from paretoscope.profiling.uploads import save_upload
    from store import Store

    path = small_store(work / "uploads.duckdb")
    store = Store(path)
    out: list[Outcome] = []
    for case, role, name, data in upload_cases(work):
        before = fingerprint(path)
        try:
            up = save_upload(store, name, io.BytesIO(data), role=role, limit_mb=200.0)
        except ParetoscopeError as err:
            out.append(
                Outcome(
                    "uploads", case, "message", fingerprint(path) != before, first_line(str(err))
                )
            )
            continue
        except Exception as err:
            out.append(
                Outcome(
                    "uploads", case, "exception", fingerprint(path) != before, first_line(repr(err))
                )
            )
            continue
        # Let through by the upload: what does profiling it do?
        args = [str(up.path)] if role == "model" else [str(model), "--data", str(up.path)]
        rc, err_text = cli("profile", *args, "--quick", "--repeats", "1", "--store", str(path))
        outcome = classify(rc, err_text)
        out.append(
            Outcome(
                "uploads",
                case + " (saved; then profile)",
                outcome,
                fingerprint(path) != before,
                first_line(err_text),
            )
        )
    return out


def store_cases(work: Path) -> dict[str, Callable[[Path], None]]:
    """How to make each file that is tried as a store, by case name."""
    import duckdb

    def foreign(path: Path) -> None:
        with duckdb.connect(str(path)) as con:
            con.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
            con.execute("INSERT INTO customers VALUES (1, 'Ada'), (2, 'Grace')")

    def foreign_runs(path: Path) -> None:
        with duckdb.connect(str(path)) as con:
            con.execute("CREATE TABLE runs (id INTEGER, started TIMESTAMP)")
            con.execute("INSERT INTO runs VALUES (1, now())")

    def sqlite(path: Path) -> None:
        with contextlib.closing(sqlite3.connect(path)) as con:
            con.execute("CREATE TABLE t (a)")
            con.execute("INSERT INTO t VALUES (1)")
            con.commit()

    def truncated(path: Path) -> None:
        src = small_store(work / f"full-{path.stem}.duckdb")
        data = src.read_bytes()
        path.write_bytes(data[: len(data) // 2])

    return {
        "foreign DuckDB (table customers)": foreign,
        "foreign DuckDB with its own runs table": foreign_runs,
        "SQLite database": sqlite,
        "text file": lambda p: p.write_text("just some notes\n"),
        EMPTY_STORE_CASE: lambda p: p.write_bytes(b""),
        "truncated store (first half)": truncated,
        "random bytes": lambda p: p.write_bytes(os.urandom(1 << 16)),
        "a directory": lambda p: p.mkdir(),
    }


#: The store case that is expected to change: a 0-byte file becomes a new store.
EMPTY_STORE_CASE = "empty file (0 bytes: becomes a new store, by design)"


def try_stores(work: Path, dashboard: bool) -> list[Outcome]:
    out: list[Outcome] = []
    for i, (name, make) in enumerate(store_cases(work).items()):
        folder = work / f"store-{i}"
        folder.mkdir()
        path = folder / "file.duckdb"
        make(path)
        before = fingerprint(path)
        rc, err = cli("runs", "--store", str(path), timeout_s=120)
        out.append(
            Outcome(
                "stores (CLI runs)",
                name,
                classify(rc, err),
                fingerprint(path) != before,
                first_line(err),
            )
        )
        if dashboard:
            # A fresh file: the CLI may have changed the first one.
            path = folder / "page.duckdb"
            make(path)
            before = fingerprint(path)
            try:
                outcome, msg = page_outcome("app_pages/frontier.py", {}, path)
            except Exception as err:
                outcome, msg = "exception", first_line(repr(err))
            out.append(
                Outcome("stores (Frontier page)", name, outcome, fingerprint(path) != before, msg)
            )
    return out


# -- main --------------------------------------------------------------------


def _table(rows: list[Outcome]) -> str:
    lines = [
        "| surface | case | outcome | store changed | message |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        msg = r.message.replace("|", "\\|")
        changed = "-" if r.store_changed is None else "yes" if r.store_changed else "no"
        lines.append(f"| {r.surface} | {r.case} | {r.outcome} | {changed} | {msg} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--surfaces", default="links,bundles,uploads,stores", help="comma list of what to try"
    )
    ap.add_argument(
        "--link-values", type=int, default=len(HOSTILE_VALUES), help="hostile values per page"
    )
    ap.add_argument("--no-dashboard", action="store_true", help="stores: only the CLI")
    ap.add_argument("--workdir", help="keep the files here (default: a temporary folder)")
    ap.add_argument("--json", metavar="FILE", help="also write the summary here")
    args = ap.parse_args(argv)
    surfaces = [s for s in args.surfaces.split(",") if s]

    work = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bad-inputs-"))
    work.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    rows: list[Outcome] = []
    for name in surfaces:
        (work / name).mkdir(exist_ok=True)
    if "links" in surfaces:
        rows += try_links(work / "links", args.link_values)
    if "bundles" in surfaces:
        rows += try_bundles(work / "bundles")
    if "uploads" in surfaces:
        import numpy as np

        from measure.testing import export_onnx, tiny_mlp

        model = export_onnx(
            tiny_mlp(), work / "uploads" / "tiny.onnx", np.zeros((1, 64), np.float32)
        )
        rows += try_uploads(work / "uploads", model)
    if "stores" in surfaces:
        rows += try_stores(work / "stores", not args.no_dashboard)

    print(_table(rows))
    tally = Counter(r.outcome for r in rows)
    bad = [
        r for r in rows if r.outcome in ("traceback", "exception box", "exception", "no message")
    ]
    # A 0-byte file holds nothing to protect: it is made a new store, as the README says.
    changed_foreign = [
        r
        for r in rows
        if r.surface.startswith("stores") and r.store_changed and r.case != EMPTY_STORE_CASE
    ]
    summary = {
        "benchmark": "bad_inputs",
        "cases": len(rows),
        "outcomes": dict(tally),
        "tracebacks_or_exceptions": len(bad),
        "store_files_changed": len(changed_foreign),
        "elapsed_s": round(time.monotonic() - t0, 1),
        "rows": [dataclasses.asdict(r) for r in rows],
    }
    line = json.dumps(summary)
    print(json.dumps({k: v for k, v in summary.items() if k != "rows"}))
    if args.json:
        Path(args.json).write_text(line + "\n", encoding="utf-8")
    return 1 if bad or changed_foreign else 0


if __name__ == "__main__":
    raise SystemExit(main())
