"""Example result bundles, measured elsewhere and committed to the repository (`demo --example`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from paretoscope.core.errors import InputError

if TYPE_CHECKING:
    from store import Store
    from store.bundle import ImportResult

__all__ = ["EXAMPLE_BUNDLES", "example_bundle_path", "import_example"]

# Result bundles measured elsewhere and committed as examples (name -> path in
# the repository); `paretoscope demo --example NAME` imports one as imported runs.
# The bundles are package data (paretoscope/profiling/bundles/), so a wheel install has them too.
EXAMPLE_BUNDLES: dict[str, str] = {"h100": "h100-demo.parquet", "h200": "h200-example.parquet"}
_BUNDLE_DIR = Path(__file__).resolve().parent / "bundles"


def example_bundle_path(name: str) -> Path:
    """The committed example bundle called ``name``; ``InputError`` when unknown or absent."""
    if name not in EXAMPLE_BUNDLES:
        raise InputError(
            f"unknown example {name!r}; choose one of: {', '.join(sorted(EXAMPLE_BUNDLES))}"
        )
    path = _BUNDLE_DIR / EXAMPLE_BUNDLES[name]
    if not path.is_file():
        raise InputError(
            f"the example bundle {path} is not part of this installation; "
            "reinstall Paretoscope, or get the file from the repository and run "
            "`paretoscope import FILE`"
        )
    return path


def import_example(store: Store, name: str) -> ImportResult:
    """Import the example bundle ``name`` into ``store`` (idempotent; runs marked imported).

    The runs keep the host and device they were measured on (e.g. an H100
    machine), so the dashboard shows them beside this host's runs, labelled
    as imported. Raises ``InputError`` for an unknown or broken bundle.
    """
    from store.bundle import import_bundle

    return import_bundle(store, example_bundle_path(name), name=f"example {name}")
