"""Result bundles: export then import is lossless, idempotent, and bad files change nothing."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from paretoscope.core.errors import InputError
from paretoscope.core.records import to_dict
from store import Store
from store.bundle import (
    BUNDLE_FORMAT,
    KEY_FORMAT,
    BundleFilters,
    export_bundle,
    import_bundle,
    read_bundle,
)
from tests.cli.test_commands import run_cli
from tests.factories import make_record


@pytest.fixture
def source(tmp_path: Path) -> Store:
    """A store with varied runs: runtimes, precisions, lineage, a failed run, missing metrics."""
    s = Store(tmp_path / "source.duckdb")
    parent = make_record(model="cnn-a", family="cnn", runtime="torch")
    s.ingest_many(
        [
            parent,
            make_record(
                model="cnn-a-int8",
                family="cnn",
                precision="int8",
                parent_model_id=parent.spec.model.model_id,
                latency_ms=0.4,
                accuracy=0.91,
            ),
            make_record(model="mlp", batch_size=32, latency_ms=2.0, accuracy=None),
            make_record(model="reported", accuracy_origin="reported", accuracy=0.97),
            make_record(model="oom", status="failed", error="worker exceeded its memory limit"),
        ]
    )
    return s


def _json_runs(store: Store) -> list[dict[str, object]]:
    code, out, _ = run_cli("runs", "--all", "--store", str(store.path), "--format", "json")
    assert code == 0
    rows = json.loads(out)
    for row in rows:
        row.pop("origin")
    return sorted(rows, key=lambda r: str(r["run_id"]))


def test_export_then_import_gives_identical_runs_and_twice_adds_nothing(
    source: Store, tmp_path: Path
) -> None:
    bundle = tmp_path / "runs.parquet"
    code, _, err = run_cli("export", "--out", str(bundle), "--store", str(source.path))
    assert code == 0 and "wrote 5 runs" in err
    target = tmp_path / "target.duckdb"
    code, _, err = run_cli("import", str(bundle), "--store", str(target))
    assert code == 0 and "5 runs imported" in err, err
    dest = Store(target)
    assert _json_runs(dest) == _json_runs(source)
    for rec in source.records():
        got = dest.get_record(rec.run_id)
        assert got is not None
        assert got.origin == "imported"
        assert dataclasses.replace(got, origin=rec.origin) == rec
    assert set(dest.runs_frame(status=None)["origin"]) == {"imported"}

    code, _, err = run_cli("import", str(bundle), "--store", str(target))
    assert code == 0 and "0 runs imported, 5 already in the store" in err
    assert dest.run_count() == 5


def test_lineage_provenance_and_host_travel(source: Store, tmp_path: Path) -> None:
    export_bundle(source, tmp_path / "b.parquet")
    dest = Store(tmp_path / "t.duckdb")
    import_bundle(dest, tmp_path / "b.parquet")
    frame = dest.runs_frame(status=None).set_index("model")
    child = frame.loc["cnn-a-int8"]
    assert child["parent_model_id"] == frame.loc["cnn-a", "model_id"]
    assert child["transformation"] == "int8 dynamic quantization (onnxruntime)"
    assert child["host"] == "testbox" and child["runtime_version"] == "1.32.0"
    assert frame.loc["reported", "accuracy_origin"] == "reported"
    assert frame.loc["oom", "error"] == "worker exceeded its memory limit"


def test_export_filters(source: Store, tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    code, _, _ = run_cli(
        "export", "--out", str(out), "--store", str(source.path), "--runtime", "ort",
        "--precision", "fp32", "--status", "ok",
    )  # fmt: skip
    assert code == 0
    models = {r.spec.model.name for r in read_bundle(out).records}
    assert models == {"mlp", "reported"}
    assert export_bundle(source, out, BundleFilters(model=("oom",))) == 1
    assert export_bundle(source, out, BundleFilters(device=("cuda:0",))) == 0
    assert read_bundle(out).records == ()


def test_bundle_has_human_columns_and_version_metadata(source: Store, tmp_path: Path) -> None:
    out = tmp_path / "b.parquet"
    export_bundle(source, out)
    table = pq.read_table(out)
    meta = table.schema.metadata
    assert meta[KEY_FORMAT] == str(BUNDLE_FORMAT).encode()
    assert int(meta[b"paretoscope.schema_version"]) == source.schema_version()
    for col in ("run_id", "model", "runtime", "device", "precision", "batch_size", "accuracy",
                "latency_ms_p50", "peak_mem_mb", "record"):  # fmt: skip
        assert col in table.column_names
    row = table.to_pylist()[0]
    assert json.loads(row["record"])["run_id"] == row["run_id"]


def _write(path: Path, rows: list[dict[str, object]], meta: dict[bytes, bytes]) -> None:
    table = pa.Table.from_pylist(rows) if rows else pa.table({"record": pa.array([], pa.string())})
    pq.write_table(table.replace_schema_metadata(meta), path)


def test_newer_format_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    rec = make_record()
    path = tmp_path / "new.parquet"
    _write(path, [{"record": json.dumps(to_dict(rec))}], {KEY_FORMAT: b"99"})
    with pytest.raises(InputError, match="format 99, newer than this Paretoscope reads"):
        read_bundle(path)


def test_older_record_layout_is_upgraded(tmp_path: Path) -> None:
    """A record written before fields existed (here: origin, energy, error) reads with defaults."""
    data = to_dict(make_record())
    for key in ("origin", "energy", "error"):
        data.pop(key)
    data["a_field_from_the_future"] = 1
    path = tmp_path / "old.parquet"
    _write(path, [{"record": json.dumps(data)}], {KEY_FORMAT: b"1"})
    (rec,) = read_bundle(path).records
    assert rec.energy is None and rec.origin == "measured"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a readable Parquet file"),
        (b"PAR1 this is not parquet PAR1", "not a readable Parquet file"),
        (b"run_id,model\n1,a\n", "not a readable Parquet file"),
    ],
)
def test_corrupt_files_change_nothing(
    source: Store, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.parquet"
    path.write_bytes(content)
    before = source.run_count()
    code, _, err = run_cli("import", str(path), "--store", str(source.path))
    assert code == 2 and message in err and "Traceback" not in err
    assert source.run_count() == before


def test_plain_parquet_and_bad_rows_are_refused_whole(source: Store, tmp_path: Path) -> None:
    plain = tmp_path / "plain.parquet"
    pq.write_table(pa.table({"a": [1, 2]}), plain)
    with pytest.raises(InputError, match="not a Paretoscope result bundle"):
        import_bundle(source, plain)
    good = json.dumps(to_dict(make_record(run_id="aaaa")))
    bad_rows = [
        ["not json"],
        [json.dumps([1, 2])],
        [json.dumps({"run_id": "x"})],
        [json.dumps({**to_dict(make_record()), "status": "excellent"})],
        [json.dumps({**to_dict(make_record()), "run_id": "../../etc"})],
        [good, good],
    ]
    for rows in bad_rows:
        path = tmp_path / "rows.parquet"
        _write(path, [{"record": r} for r in [good, *rows]], {KEY_FORMAT: b"1"})
        before = source.run_count()
        with pytest.raises(InputError):
            import_bundle(source, path)
        assert source.run_count() == before, "all or nothing"
        assert not source.has_run("aaaa")


def test_import_from_bytes_and_a_missing_file(source: Store, tmp_path: Path) -> None:
    out = tmp_path / "b.parquet"
    export_bundle(source, out)
    dest = Store(tmp_path / "t.duckdb")
    result = import_bundle(dest, out.read_bytes(), name="upload.parquet")
    assert (result.inserted, result.skipped) == (5, 0)
    with pytest.raises(InputError, match="does not exist"):
        read_bundle(tmp_path / "nope.parquet")
    code, _, err = run_cli("import", str(tmp_path / "nope.parquet"), "--store", str(dest.path))
    assert code == 2 and "does not exist" in err


def test_runs_missing_metrics_and_counts_export(tmp_path: Path) -> None:
    """Nullable columns (params, energy, latency) are None in the bundle, never an error."""
    s = Store(tmp_path / "s.duckdb")
    s.ingest_many(
        [
            make_record(model="no-params", params=None, latency_ms=None, accuracy=None),
            make_record(model="full"),
        ]
    )
    out = tmp_path / "b.parquet"
    assert export_bundle(s, out) == 2
    rows = {r["model"]: r for r in pq.read_table(out).to_pylist()}
    assert rows["no-params"]["params"] is None and rows["no-params"]["latency_ms_p50"] is None
    assert rows["full"]["params"] == 10_000
    dest = Store(tmp_path / "t.duckdb")
    assert import_bundle(dest, out).inserted == 2
