"""Where the store lives: ``--store``, else ``$PARETOSCOPE_STORE``, else the user's data folder."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ENV_VAR", "default_store_path", "resolve_store_path"]

ENV_VAR = "PARETOSCOPE_STORE"


def default_store_path() -> Path:
    """``$XDG_DATA_HOME/paretoscope/paretoscope.duckdb`` (``~/.local/share`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "paretoscope" / "paretoscope.duckdb"


def resolve_store_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The store file to use, by precedence: ``explicit``, the environment, the default."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    return default_store_path()
