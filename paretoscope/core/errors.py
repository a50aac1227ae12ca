"""The project's exception tree; foreign exceptions are mapped at the boundary.

ParetoscopeError
├── StoreError            the DuckDB store cannot be opened, migrated or written
│   ├── StoreLockedError  another process held the file past the retry budget
│   ├── SchemaError       the file's schema is newer than this code, or damaged
│   ├── NotAStoreError    the file is something else (another app's DuckDB, SQLite, text)
│   └── StoreDamagedError DuckDB cannot read the file (truncated, corrupt); nothing changed
├── InputError            bad user input: a file, a shape, a flag, a link
│   └── AccessError       a role or quota refuses it, or the access config is invalid
├── MeasurementError      a run could not be measured (crash, timeout, bad output)
│   └── WorkerFailed      the worker process died, hung or ran out of memory
└── UnavailableError      hardware or software that a request needs is absent
"""

from __future__ import annotations

__all__ = [
    "AccessError",
    "InputError",
    "MeasurementError",
    "NotAStoreError",
    "ParetoscopeError",
    "SchemaError",
    "StoreDamagedError",
    "StoreError",
    "StoreLockedError",
    "UnavailableError",
    "WorkerFailed",
]


class ParetoscopeError(Exception):
    """Base of every error this project raises on purpose.

    The message is written for the person at the keyboard: what went wrong and
    what to do next.
    """


class StoreError(ParetoscopeError):
    """The store cannot be opened, migrated, read or written."""


class StoreLockedError(StoreError):
    """Another process kept the DuckDB file locked for longer than we wait."""


class SchemaError(StoreError):
    """The store's schema is newer than this code understands, or damaged."""


class NotAStoreError(StoreError):
    """The file is not a Paretoscope store; it was refused before anything was written."""


class StoreDamagedError(StoreError):
    """DuckDB cannot read the store's file (truncated or corrupt); nothing was changed."""


class InputError(ParetoscopeError):
    """A file, argument or link given by a user cannot be used."""


class AccessError(InputError):
    """A role or quota refuses an action, or the operator's access config cannot be used."""


class MeasurementError(ParetoscopeError):
    """A run could not be measured."""


class WorkerFailed(MeasurementError):
    """The worker process crashed, was killed, timed out or exceeded memory."""


class UnavailableError(ParetoscopeError):
    """Hardware or software needed for a request is not present on this host."""
