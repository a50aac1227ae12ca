"""The pure parts of the reliability scripts in benchmarks/: invariants, outcomes, percentiles."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str) -> ModuleType:
    """A script of benchmarks/ as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


fault = _load("fault_loop")
bad = _load("bad_inputs")
load = _load("concurrent_load")


def test_lost_ids_are_the_durable_ids_not_listed() -> None:
    assert fault.lost_ids({"a", "b", "c"}, ["a", "c", "d"]) == ["b"]
    assert fault.lost_ids(set(), ["a"]) == []
    assert fault.lost_ids(["a", "a"], []) == ["a"]


def test_duplicated_ids_counts_each_repeated_id_once() -> None:
    assert fault.duplicated_ids(["a", "b", "a", "a", "c", "c"]) == ["a", "c"]
    assert fault.duplicated_ids(["a", "b"]) == []


def test_duplicated_configs_counts_extra_ids_of_one_configuration() -> None:
    row = {"model": "m", "runtime": "ort", "device": "cpu", "precision": "fp32"}
    rows = [
        {**row, "batch_size": "1", "threads": "1", "run_id": "r1"},
        {**row, "batch_size": "1", "threads": "1", "run_id": "r2"},  # same config, new id
        {**row, "batch_size": "1", "threads": "1", "run_id": "r3"},
        {
            **row,
            "batch_size": "1",
            "threads": "1",
            "run_id": "r1",
        },  # same id twice: not a config dup
        {**row, "batch_size": "4", "threads": "1", "run_id": "r4"},
    ]
    assert fault.duplicated_configs(rows) == 2
    assert fault.duplicated_configs([]) == 0


@pytest.mark.parametrize(
    ("listed", "state"),
    [([], "none"), (["x"], "none"), (["b1"], "partial"), (["b1", "b2", "x"], "all")],
)
def test_import_state_is_all_or_nothing(listed: list[str], state: str) -> None:
    assert fault.import_state(["b1", "b2"], listed) == state


def test_invariants_broken_by_any_count() -> None:
    inv = fault.Invariants(opens_ok=5)
    assert not inv.broken()
    inv.partial_imports = 1
    assert inv.broken()


@pytest.mark.parametrize(
    ("rc", "stderr", "outcome"),
    [
        (0, "", "accepted"),
        (2, "paretoscope runs: cannot open the store x\n", "message"),
        (1, "Traceback (most recent call last):\n  ...\nIOException: boom\n", "traceback"),
        (0, "Traceback (most recent call last):\n", "traceback"),
        (1, "   \n", "no message"),
    ],
)
def test_classify(rc: int, stderr: str, outcome: str) -> None:
    assert bad.classify(rc, stderr) == outcome


def test_first_line_is_the_last_message_line_shortened() -> None:
    assert bad.first_line("warning\nparetoscope: bad  input\n\n") == "paretoscope: bad input"
    assert len(bad.first_line("x" * 500, limit=20)) == 20


def test_fingerprint_sees_content_and_new_side_files(tmp_path: Path) -> None:
    f = tmp_path / "s.duckdb"
    f.write_bytes(b"one")
    before = bad.fingerprint(f)
    assert bad.fingerprint(f) == before
    (tmp_path / "s.duckdb.wal").write_bytes(b"")
    assert bad.fingerprint(f) != before
    f.write_bytes(b"two")
    assert bad.fingerprint(f)[0] != before[0]


def test_percentile() -> None:
    assert load.percentile([], 0.5) is None
    assert load.percentile([3.0], 0.95) == 3.0
    assert load.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert load.percentile([float(i) for i in range(101)], 0.95) == pytest.approx(95.0)


def test_spooled_ids_are_read_from_the_files_of_either_layout(tmp_path: Path) -> None:
    from store.spool import Spool
    from tests.factories import make_record

    store = tmp_path / "s.duckdb"
    folder = Path(str(store) + ".files") / "spool"
    spool = Spool(folder)
    spool.put(make_record(run_id="one"))
    spool.put(make_record(run_id=".odd-Id"))
    spool.put_batch([make_record(run_id="b1"), make_record(run_id="b2")], "bundle")
    (folder / "legacy.json").write_text((folder / "run-one.json").read_text())
    (folder / ".tmp-1-x.json").write_text("{half")
    ids, tmp = fault.spooled_ids(store)
    assert ids == {"one", ".odd-Id", "b1", "b2"}
    assert tmp == 1


browser_scale = _load("browser_scale")


def test_browser_scale_takes_its_arguments_and_sums_a_process_tree(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A real run starts a server and a browser (minutes at 100 000 runs): the lead runs it.
    with pytest.raises(SystemExit) as done:
        browser_scale.main(["--help"])
    assert done.value.code == 0
    usage = capsys.readouterr().out
    for flag in ("--runs", "--store", "--repeats", "--sessions", "--json"):
        assert flag in usage
    mine = browser_scale.tree_rss(os.getpid())
    assert mine > 10_000_000  # this interpreter alone holds more than 10 MB
    assert browser_scale.BARS == {
        "filter_change_s": 0.5,
        "largest_message_bytes": 5_000_000,
        "rss_peak_bytes": 1 << 30,
    }
    assert set(browser_scale.PAGES) == {
        "Frontier", "Runs", "Compare", "Run detail", "Methodology", "Data"
    }  # fmt: skip


warm = _load("warm_workers")


def test_warm_workers_agreement_is_judged_against_the_old_designs_own_spread() -> None:
    old = [[1.0, 1.1], [2.0, 1.9]]
    ratios, band, inside = warm.agreement(old, [[1.05, 1.05], [2.6, 2.6]])
    assert band == pytest.approx((1 / 1.1, 1.1))
    assert ratios == pytest.approx([1.05 / 1.05, 2.6 / 1.95])
    assert inside == [True, False]
    assert warm.ratio_band([[1.0]]) == (1.0, 1.0)


def test_warm_workers_script_runs_at_a_tiny_size(tmp_path: Path) -> None:
    out = tmp_path / "warm.json"
    assert warm.main(["--models", "1", "--rounds", "2", "--tiny", "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert set(result["designs"]) == {"old", "new"}
    for figures in result["designs"].values():
        assert figures["configs"] == 4 and figures["failed"] == 0
        assert figures["configs_per_min"] > 0 and 0 < figures["timing_share"] < 1
    assert result["compared"] == 2
    assert [row["config"] for row in result["configs"]] == ["mlp-w32-d1 ort", "mlp-w32-d1 torch"]
    assert all(row["old"]["ci_ms"][0] <= row["old"]["p50_ms"] for row in result["configs"])


server_bench = _load("server_scenario")


def test_server_scenario_report_says_whether_p99_rose_and_the_maximum_held() -> None:
    import dataclasses as dc

    from tests.store.test_migration_scenarios import scenario_record

    rec = scenario_record("bench")
    assert rec.scenarios is not None and rec.scenarios.server is not None
    at_max = [s for s in rec.scenarios.server.steps if s.confirm]
    text, ok = server_bench.report(rec, at_max, "cmd", (0.5, 0.7))
    assert ok and "**rose**" in text and "met p99 <= 20 ms: **yes**" in text
    assert "load average 0.50 before and 0.70 after" in text and "`cmd`" in text
    missed = [dc.replace(at_max[0], p99_ms=25.0, met=False)]
    text, ok = server_bench.report(rec, missed, "cmd", (0.5, 0.7))
    assert not ok and "**no**" in text
