"""Session fixtures shared by test packages: the quick demo, measured once into a store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from paretoscope.profiling.demo import DemoProgress, DemoSummary, run_demo
from store import Store


@dataclass(frozen=True)
class QuickDemo:
    """A store holding the quick demo, what ``run_demo`` returned, and the progress it reported."""

    store: Store
    summary: DemoSummary
    progress: tuple[DemoProgress, ...]


@pytest.fixture(scope="session")
def quick_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[QuickDemo]:
    """``run_demo(quick=True)`` into a new store: 3 models, 24 real runs (about 40 s on 2 cores)."""
    path: Path = tmp_path_factory.mktemp("quick-demo") / "demo.duckdb"
    store = Store(path)
    progress: list[DemoProgress] = []
    summary = run_demo(store, quick=True, on_progress=progress.append)
    yield QuickDemo(store, summary, tuple(progress))
