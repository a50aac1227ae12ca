"""`runs` and `frontier`: a readable table on a terminal, the same CSV as before when piped."""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pandas as pd
import pytest

from paretoscope.cli import main
from paretoscope.present.clitable import text_table
from paretoscope.present.runtable import RUN_COLUMNS, frontier_table, render, run_table
from store import Store
from tests.factories import make_record


class _Terminal(io.StringIO):
    """stdout as a terminal: the only thing faked is the answer to isatty()."""

    def isatty(self) -> bool:
        return True


def _cli(*argv: str, tty: bool = False) -> str:
    out: io.StringIO = _Terminal() if tty else io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        assert main(list(argv)) == 0
    return out.getvalue()


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "s.duckdb")
    recs = [
        make_record(
            model=f"model-{i}",
            runtime=rt,
            batch_size=bs,
            latency_ms=1.0 + i + bs / 10,
            accuracy=0.9 + i / 100,
            params=123_456 * (i + 1),
        )
        for i in range(3)
        for rt in ("ort", "torch")
        for bs in (1, 32)
    ]
    recs.append(make_record(model="broken", status="failed", error="boom"))
    s.ingest_many(recs)
    return s


def test_piped_output_is_the_csv_it_always_was(store: Store) -> None:
    path = str(store.path)
    expected = render(run_table(store.runs_frame(status="ok")), "csv")
    assert _cli("runs", "--store", path) == expected
    assert _cli("runs", "--store", path, "--format", "csv") == expected
    assert _cli("runs", "--store", path, "--format", "csv", tty=True) == expected
    assert list(pd.read_csv(io.StringIO(expected)).columns) == list(RUN_COLUMNS)
    metrics = ["latency_ms_p50", "accuracy"]
    front = render(frontier_table(run_table(store.runs_frame(status="ok")), metrics), "csv")
    assert _cli("frontier", "--x", metrics[0], "--y", metrics[1], "--store", path) == front


def test_a_terminal_gets_an_aligned_table_that_fits(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    out = _cli("runs", "--store", str(store.path), tty=True)
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["Model", "Runtime"]
    assert "Latency p50 (ms)" in lines[0] and "Accuracy" in lines[0]
    assert set(lines[1]) <= {"-", " "}
    assert len(lines) == 2 + 12 + 1  # header, rule, 12 ok runs, the count
    assert all(len(line) <= 80 for line in lines)
    assert lines[-1].startswith("12 runs; ") and "--format csv prints them all" in lines[-1]
    assert "," not in "".join(lines[2:-1]).replace("123,456", "")  # not CSV
    # Columns line up: every row's accuracy ends where its header ends.
    end = lines[0].index("Accuracy") + len("Accuracy")
    assert all(line[end - 1].isdigit() for line in lines[2:-1])


def test_format_table_works_when_piped_and_frontier_leads_with_its_metrics(store: Store) -> None:
    out = _cli(
        "frontier", "--x", "params", "--y", "accuracy", "--store", str(store.path),
        "--format", "table",
    )  # fmt: skip
    header = out.splitlines()[0]
    assert header.index("Parameters") < header.index("Accuracy")
    n = len(frontier_table(run_table(store.runs_frame(status="ok")), ["params", "accuracy"]))
    assert out.splitlines()[-1].startswith(f"{n} run")


def test_runs_all_shows_status_and_the_error_when_wide() -> None:
    table = pd.DataFrame(
        {"model": ["a", "b"], "status": ["ok", "failed"], "error": [None, "boom " * 20]}
    )
    out = text_table(table, width=200)
    assert "Status" in out.splitlines()[0] and "failed" in out
    assert "boom boom" in out and "…" in out  # long text is cut, csv has it whole


def test_numbers_are_rounded_with_units_and_missing_reads_as_a_dash() -> None:
    table = pd.DataFrame(
        {
            "model": ["m"] * 2,
            "latency_ms_p50": [0.0123456, None],
            "throughput_per_s": [12345.678, 3.0],
            "params": [1234567, 10],
        }
    )
    lines = text_table(table, width=120).splitlines()
    assert lines[0].split("  ")[0].strip() == "Model"
    assert "Throughput (items/s)" in lines[0] and "Parameters" in lines[0]
    assert "0.0123" in lines[2] and "12,346" in lines[2] and "1,234,567" in lines[2]
    assert "—" in lines[3]
    assert lines[-1] == "2 runs."


def test_narrow_terminal_keeps_the_important_columns_and_counts_the_rest() -> None:
    table = pd.DataFrame(
        {
            "run_id": ["r1"],
            "model": ["m"],
            "runtime": ["ort"],
            "accuracy": [0.9],
            "latency_ms_p50": [1.0],
            "peak_mem_mb": [3.0],
            "model_size_mb": [4.0],
        }
    )
    out = text_table(table, width=34, metrics=["model_size_mb"])
    header = out.splitlines()[0]
    assert header.startswith("Model  Runtime  Model size (MB)")
    assert all(len(line) <= 34 for line in out.splitlines()[:-1])
    shown = len(header.split("  "))
    assert (
        out.splitlines()[-1]
        == f"1 run; {7 - shown} more columns not shown (--format csv prints them all)."
    )


def test_no_rows() -> None:
    assert text_table(pd.DataFrame({"model": []}), width=80) == "No runs.\n"
