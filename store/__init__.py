"""Persistence: every run, with its provenance, in a DuckDB file (see ``store.store``)."""

from store.location import ENV_VAR, default_store_path, resolve_store_path
from store.store import DrainResult, Store, file_sha256

__all__ = [
    "ENV_VAR",
    "DrainResult",
    "Store",
    "default_store_path",
    "file_sha256",
    "resolve_store_path",
]
