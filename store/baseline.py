"""A regression gate's baseline: a result bundle or a store file, read without writing to it.

``baseline_store(path)`` yields a ``Store`` holding the baseline's runs in a
temporary folder, removed afterwards:

* a result bundle (Parquet, ``paretoscope export``) is checked by
  ``store.bundle.read_bundle`` and imported into a fresh temporary store;
* a store file is first looked at read-only (``store.filekind``: another
  application's database or a file that is not DuckDB is refused with the
  same messages as ``--store``), then copied (with its ``.wal``) and the copy
  is opened, so that migrating an older schema never touches the original.
  Runs still in the original's spool (not yet moved in by a writer) are not
  part of the copy.

Every refusal is an ``InputError`` (the gate's bad input, exit status 2).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pandas as pd

from paretoscope.core.errors import InputError, StoreError
from store.filekind import file_kind, foreign_tables_error, not_a_store_error, store_tables
from store.store import Store

__all__ = ["baseline_store", "check_columns"]

_PARQUET_MAGIC = b"PAR1"
_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
}


def _is_parquet(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == _PARQUET_MAGIC


def _check_store_file(path: Path) -> None:
    """Refuse what is not a Paretoscope store, reading it only."""
    kind = file_kind(path)
    if kind.kind != "duckdb":
        text = str(not_a_store_error(path, kind)).replace("cannot open the store", "the baseline")
        raise InputError(
            text.split(" Nothing was")[0] + ". A baseline is a result bundle "
            "(`paretoscope export --out FILE.parquet`) or a Paretoscope store file."
        )
    try:
        conn = duckdb.connect(str(path), read_only=True, config=_CONFIG)
    except duckdb.Error as err:
        first = str(err).splitlines()[0][:300]
        raise InputError(f"cannot read the baseline store {path}: {first}") from err
    try:
        tables = store_tables(conn)
    finally:
        conn.close()
    foreign = foreign_tables_error(path, tables)
    if foreign is not None:
        raise InputError(str(foreign).replace("cannot open the store", "the baseline"))
    if not tables:
        raise InputError(f"the baseline {path} is an empty DuckDB database, not a store of runs.")


@contextlib.contextmanager
def baseline_store(source: str | os.PathLike[str]) -> Iterator[Store]:
    """A temporary store with the baseline's runs (see the module docstring).

    Raises ``InputError`` for a missing, unreadable or foreign file and for a
    damaged bundle; the original is never written to.
    """
    from store.bundle import import_bundle

    path = Path(source).expanduser()
    if not path.is_file():
        raise InputError(f"no baseline at {path}: the file does not exist or is not a file.")
    with tempfile.TemporaryDirectory(prefix="paretoscope-baseline-") as tmp:
        target = Path(tmp) / "baseline.duckdb"
        try:
            if _is_parquet(path):
                store = Store(target)
                import_bundle(store, path, name=str(path))
            else:
                _check_store_file(path)
                shutil.copyfile(path, target)
                wal = Path(str(path) + ".wal")
                if wal.is_file():
                    shutil.copyfile(wal, Path(str(target) + ".wal"))
                store = Store(target)
        except OSError as err:
            raise InputError(f"cannot read the baseline {path}: {err.strerror or err}") from err
        except StoreError as err:
            raise InputError(f"cannot read the baseline {path}: {err}") from err
        yield store


def check_columns(store: Store, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (runs of ``store``) with ``input_shapes`` and ``item_correct`` (top-1) added.

    ``input_shapes`` is the stored JSON text (part of a configuration's key);
    ``item_correct`` the per-item correctness string of the measured top-1
    accuracy, for McNemar's test (None where not stored).
    """
    if frame.empty:
        return frame.assign(input_shapes=pd.Series(dtype=object), item_correct=None)
    ids = frame["run_id"].astype(str).tolist()
    shapes = store.query(
        "SELECT run_id, CAST(input_shapes AS VARCHAR) AS input_shapes FROM runs "
        "WHERE list_contains(?, run_id)",
        [ids],
    )
    correct = store.query(
        "SELECT run_id, item_correct FROM accuracy WHERE metric = 'top1' "
        "AND origin = 'measured' AND list_contains(?, run_id)",
        [ids],
    )
    out = frame.drop(columns=["input_shapes", "item_correct"], errors="ignore")
    out = out.merge(shapes, on="run_id", how="left").merge(correct, on="run_id", how="left")
    out.index = frame.index
    return out
