"""Op profiles in the store: migration 9's table, read back, bulk, bundles, older stores."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from paretoscope.core.records import OpProfile, OpTime, RunRecord
from store import Store, migrations
from store.bulk import bulk_ingest
from store.bundle import export_bundle, import_bundle
from tests.factories import make_record
from tests.opprofile_records import profiled_records
from tests.store.old_schema import store_at_version


@pytest.fixture(scope="module")
def profiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunRecord, RunRecord]:
    return profiled_records(tmp_path_factory.mktemp("opprof"))


def test_a_profiled_run_is_stored_as_rows_and_read_back_whole(
    tmp_path: Path, profiled: tuple[RunRecord, RunRecord]
) -> None:
    store = Store(tmp_path / "s.duckdb")
    for rec in profiled:
        store.ingest(rec)
        back = store.get_record(rec.run_id)
        assert back is not None and back.op_profile == rec.op_profile
    rows = store.query(
        "SELECT run_id, rank, op, share, n_ops, iterations FROM op_profiles ORDER BY run_id, rank"
    )
    assert len(rows) == sum(len(r.op_profile.ops) for r in profiled if r.op_profile)
    for _rid, group in rows.groupby("run_id"):
        assert list(group["rank"]) == list(range(1, len(group) + 1))
        assert math.isclose(group["share"].sum(), 1.0, rel_tol=1e-9)
    int8_ops = set(rows[rows["run_id"] == profiled[1].run_id]["op"])
    assert int8_ops & {"DynamicQuantizeMatMul", "MatMulInteger", "DynamicQuantizeLinear"}


def test_the_rest_row_keeps_how_many_ops_it_stands_for(tmp_path: Path) -> None:
    prof = OpProfile(
        profiler="torch.profiler: self CPU time",
        iterations=10,
        ops=(OpTime("aten::addmm", 20, 3.0, 0.75), OpTime("7 other ops", 90, 1.0, 0.25)),
        others=7,
    )
    rec = make_record(op_profile=prof)
    plain = make_record()
    store = Store(tmp_path / "s.duckdb")
    assert bulk_ingest(store, [rec, plain]) == 2
    assert store.get_record(rec.run_id).op_profile == prof  # type: ignore[union-attr]
    assert store.get_record(plain.run_id).op_profile is None  # type: ignore[union-attr]


def test_op_profiles_travel_in_bundles(
    tmp_path: Path, profiled: tuple[RunRecord, RunRecord]
) -> None:
    source = Store(tmp_path / "a.duckdb")
    for rec in profiled:
        source.ingest(rec)
    source.ingest(make_record())  # a run without a profile travels too
    assert export_bundle(source, tmp_path / "b.parquet") == 3
    dest = Store(tmp_path / "c.duckdb")
    assert import_bundle(dest, tmp_path / "b.parquet").inserted == 3
    for rec in profiled:
        got = dest.get_record(rec.run_id)
        assert got is not None and got.origin == "imported"
        assert got.op_profile == rec.op_profile
    again = import_bundle(dest, tmp_path / "b.parquet")
    assert again.inserted == 0 and again.skipped == 3
    n = dest.query("SELECT count(*) AS n FROM op_profiles")["n"][0]
    assert n == sum(len(r.op_profile.ops) for r in profiled if r.op_profile)


def test_a_store_from_before_migration_9_gets_the_table_and_its_runs_load(tmp_path: Path) -> None:
    path = tmp_path / "v7.duckdb"
    old = make_record()
    store_at_version(path, old, 7)  # the run stored before the table existed
    store = Store(path)
    assert store.schema_version() == migrations.MIGRATIONS[-1].version >= 9
    back = store.get_record(old.run_id)
    assert back is not None and back.op_profile is None and back.run_id == old.run_id
    assert store.query("SELECT count(*) AS n FROM op_profiles")["n"][0] == 0
