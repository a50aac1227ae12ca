"""`paretoscope decide` over the quick demo and the H100 example = brute force over `runs`."""

from __future__ import annotations

import io
import json
import math
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from paretoscope.cli import main
from paretoscope.core.metrics import METRICS
from paretoscope.present.runtable import RUN_COLUMNS
from paretoscope.profiling.examples import import_example
from store import Store
from store.bundle import BundleFilters, export_bundle, import_bundle
from tests.conftest import QuickDemo


def run_cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def demo_store(quick_demo: QuickDemo, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """The quick demo's real runs and the committed H100 example bundle, in one store."""
    folder = tmp_path_factory.mktemp("decide")
    bundle = folder / "demo.parquet"
    export_bundle(quick_demo.store, bundle, BundleFilters())
    store = Store(folder / "decide.duckdb")
    import_bundle(store, bundle)
    import_example(store, "h100")
    return store


CASES: list[list[str]] = [
    [
        "--where=device_name=NVIDIA H100 80GB HBM3",
        "--require=latency_ms_p99<=0.2",
        "--require=accuracy>=0.97",
        "--maximize=throughput_per_s",
    ],
    ["--require=peak_mem_mb<=100", "--maximize=accuracy", "--then-minimize=latency_ms_p50"],
    [
        "--where=runtime=ort",
        "--where=batch_size=1",
        "--require=accuracy>=0.95",
        "--minimize=latency_ms_p50",
    ],
    ["--require=model_size_mb<=0.5", "--require=latency_ms_p50<=0.05", "--maximize=accuracy"],
    ["--where=precision=int8", "--minimize=peak_mem_mb", "--then-maximize=accuracy"],
    ["--require=accuracy>=0.999", "--require=latency_ms_p99<=0.001", "--maximize=accuracy"],
]


def _parse(argv: list[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str, float]], list]:
    where, require, objectives = [], [], []
    for arg in argv:
        flag, _, value = arg.partition("=")
        if flag == "--where":
            field, _, v = value.partition("=")
            where.append((field, v))
        elif flag == "--require":
            op = "<=" if "<=" in value else ">="
            key, _, limit = value.partition(op)
            require.append((key, op, float(limit)))
        else:
            objectives.append((value, -1 if "maximize" in flag else 1))
    return where, require, objectives


def _brute_force(rows: list[dict[str, Any]], argv: list[str]) -> tuple[list[str], set[str]]:
    """(feasible run ids best first, infeasible run ids) by plain filtering and sorting."""
    where, require, objectives = _parse(argv)

    def number(row: dict[str, Any], key: str) -> float:
        v = row.get(key)
        return math.nan if v is None else float(v)

    def matches(row: dict[str, Any]) -> bool:
        for field, v in where:
            cell = row.get(field)
            if field == "batch_size":
                if cell is None or float(cell) != float(v):
                    return False
            elif str(cell) != v:
                return False
        return True

    def feasible(row: dict[str, Any]) -> bool:
        for key, op, limit in require:
            x = number(row, key)
            if math.isnan(x) or (x > limit if op == "<=" else x < limit):
                return False
        return all(not math.isnan(number(row, k)) for k, _ in objectives)

    pool = [r for r in rows if matches(r)]
    ok = sorted(
        (r for r in pool if feasible(r)),
        key=lambda r: (*(s * number(r, k) for k, s in objectives), r["run_id"]),
    )
    return [r["run_id"] for r in ok], {r["run_id"] for r in pool if not feasible(r)}


@pytest.mark.parametrize("argv", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_decide_equals_brute_force_over_runs(demo_store: Store, argv: list[str]) -> None:
    db = str(demo_store.path)
    code, out, _ = run_cli("runs", "--store", db, "--format", "json")
    assert code == 0
    rows = json.loads(out)
    assert {r["device_name"] for r in rows} >= {"NVIDIA H100 80GB HBM3"}
    expected, infeasible = _brute_force(rows, argv)
    code, out, err = run_cli("decide", "--store", db, "--format", "json", *argv)
    got = json.loads(out)
    assert set(got) == {"recommended", "feasible", "near_misses"}
    assert [r["run_id"] for r in got["feasible"]] == expected
    assert all(list(r) == [*RUN_COLUMNS, *list(r)[len(RUN_COLUMNS) :]] for r in got["feasible"])
    named = [m["run_id"] for m in got["near_misses"]]
    assert set(named) <= infeasible and len(named) == min(10, len(infeasible))
    for miss in got["near_misses"]:
        assert miss["violations"]
        for v in miss["violations"]:
            assert set(v) >= {"metric", "limit", "value"} and v["metric"] in METRICS
    if expected:
        assert code == 0 and got["recommended"]["run_id"] == expected[0]
        assert got["recommended"] == got["feasible"][0]
    else:
        assert code == 1 and got["recommended"] is None and named
        assert named[0] in err and "nothing is feasible" in err


def test_nothing_feasible_names_each_violation(demo_store: Store) -> None:
    code, out, _ = run_cli(
        "decide", "--store", str(demo_store.path), "--format", "json", *CASES[-1]
    )
    assert code == 1
    got = json.loads(out)
    rows = {r["run_id"]: r for r in json.loads(run_cli("runs", "--store",
            str(demo_store.path), "--format", "json")[1])}  # fmt: skip
    for miss in got["near_misses"]:
        for v in miss["violations"]:
            value = rows[miss["run_id"]][v["metric"]]
            assert v["value"] == pytest.approx(value)
            assert v["by"] == pytest.approx(abs(value - v["limit"]))


@pytest.mark.parametrize("fmt", ["table", "csv", "md"])
def test_other_formats_print_the_same_recommendation(demo_store: Store, fmt: str) -> None:
    db = str(demo_store.path)
    _, out, _ = run_cli("decide", "--store", db, "--format", "json", *CASES[0])
    rec = json.loads(out)["recommended"]["run_id"]
    code, text, _ = run_cli("decide", "--store", db, "--format", fmt, *CASES[0])
    assert code == 0 and rec in text
    if fmt == "csv":
        assert text.splitlines()[0].startswith("run_id,model,")
        assert text.splitlines()[1].startswith(rec)
    if fmt == "md":
        assert "# Decision report" in text and "## Near-misses" in text


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["--require", "latency_p99<=2", "--maximize", "accuracy"], "latency_ms_p99"),
        (["--require", "latency_ms_p99<2", "--maximize", "accuracy"], "<="),
        (["--where", "gpu=x", "--maximize", "accuracy"], "cannot filter on"),
        (["--maximize", "acuracy"], "Did you mean accuracy"),
    ],
)
def test_bad_input_exits_2(tmp_path: Path, argv: list[str], needle: str) -> None:
    code, _, err = run_cli("decide", "--store", str(tmp_path / "e.duckdb"), *argv)
    assert code == 2 and needle in err and "Traceback" not in err
