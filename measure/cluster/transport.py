"""Files travel to Dask workers by content: sent as bytes once, kept under their sha256.

Client side, ``Shipment`` reads each file a batch needs, checks it against the
sha256 it was registered with and scatters it to the workers that may need
it. Worker side, ``materialise`` writes received bytes into the worker's cache
under their hash (checked again before use), and ``materialise_with_extras``
lays out an ONNX model with its external data files.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from paretoscope.core.errors import InputError
from paretoscope.core.hashing import file_sha256
from paretoscope.core.records import ArtifactRef, RunSpec

__all__ = [
    "CACHE_ENV",
    "Shipment",
    "cache_dir",
    "external_data",
    "materialise",
    "materialise_with_extras",
]

#: Where a worker keeps shipped artifacts (default ``~/.cache/paretoscope/cluster``).
CACHE_ENV = "PARETOSCOPE_CLUSTER_CACHE"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def cache_dir() -> Path:
    """The worker's cache folder: ``$PARETOSCOPE_CLUSTER_CACHE``, else under the XDG cache."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "paretoscope" / "cluster"


def materialise(blob: bytes | None, sha256: str, suffix: str, cache: Path) -> Path:
    """The cached file with content ``sha256``, written from ``blob`` if not there yet.

    The file is named by its hash, so a spec cannot point anywhere else, and
    the hash is checked both of the bytes received and of a file found in the
    cache (a corrupt one is replaced). Raises ``InputError`` on a mismatch.
    """
    if not _SHA256.match(sha256):
        raise InputError(f"artifact hash {sha256[:80]!r} is not a sha256 hex digest")
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / f"{sha256}{suffix}"
    if path.exists():
        with contextlib.suppress(OSError):
            if file_sha256(path) == sha256:
                return path
    if blob is None:
        raise InputError(f"file {sha256[:12]}… was not sent to this worker")
    got = hashlib.sha256(blob).hexdigest()
    if got != sha256:
        raise InputError(
            f"file received with sha256 {got[:12]}…, expected {sha256[:12]}…; "
            "it changed or was corrupted in transit"
        )
    tmp = cache / f".tmp-{os.getpid()}-{sha256}{suffix}"
    tmp.write_bytes(blob)
    os.replace(tmp, path)  # atomic: a concurrent task sees the whole file or none
    return path


def materialise_with_extras(
    blob: bytes | None,
    sha256: str,
    extras: Sequence[tuple[str, str, bytes | None]],
    cache: Path,
) -> Path:
    """An ONNX model and its external data files, laid out as the model expects them.

    ``extras`` are (relative name, sha256, bytes) of the files beside the
    model. The set goes into ``cache/<sha256>.d/`` with the model as
    ``model.onnx``; each file's hash is checked, and a name that is absolute
    or leaves that folder is refused. Raises ``InputError``.
    """
    model = materialise(blob, sha256, ".onnx", cache)
    folder = cache / f"{sha256}.d"
    folder.mkdir(parents=True, exist_ok=True)
    for rel, digest, data in extras:
        parts = Path(rel).parts
        if not rel or Path(rel).is_absolute() or ".." in parts:
            raise InputError(
                f"refused external data name {rel[:80]!r}: not inside the model folder"
            )
        source = materialise(data, digest, "", cache)
        target = folder / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not (target.is_file() and file_sha256(target) == digest):
            tmp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
            tmp.write_bytes(source.read_bytes())
            os.replace(tmp, target)
    target = folder / "model.onnx"
    if not (target.is_file() and file_sha256(target) == sha256):
        tmp = folder / f".tmp-{os.getpid()}-model.onnx"
        tmp.write_bytes(model.read_bytes())
        os.replace(tmp, target)
    return target


def external_data(artifact: ArtifactRef) -> list[tuple[str, Path]]:
    """(relative name, path) of each external data file of an ONNX artifact; [] for others.

    Raises ``InputError`` when the model refers to files outside its folder
    or missing ones (see ``measure.inspect.external_data_files``).
    """
    if artifact.format != "onnx":
        return []
    import onnx

    from measure.inspect import external_data_files

    path = Path(artifact.path)
    try:
        model = onnx.load(str(path), load_external_data=False)
    except Exception as err:  # onnx raises several types; the run would fail the same way
        raise InputError(f"cannot read the ONNX model {path}: {err}") from err
    return [(rel, path.parent / rel) for rel in external_data_files(model, path.parent)]


class Shipment:
    """The files of one batch of runs, each sent once to the workers that may need them.

    ``needs`` maps a file's sha256 to those workers' addresses: each file goes
    to all of them, so that losing one worker mid-run loses no copy a retry
    needs (an ONNX model's external data files inherit the model's). ``sent``
    is the executor's sha256 -> scattered data, kept across batches: a file
    already there is not read or sent again, and Dask copies it to new
    workers as needed.
    """

    def __init__(self, client: Any, sent: dict[str, Any], needs: dict[str, set[str]]) -> None:
        self._client = client
        self._sent = sent
        self._needs = needs
        self._unsendable: dict[str, InputError] = {}  # sha256 -> why it cannot be sent
        self._listed: dict[str, list[tuple[str, Path, str]]] = {}  # model sha256 -> extras

    def files_for(self, spec: RunSpec) -> tuple[Any, Any, list[tuple[str, str, Any]]]:
        """The scattered model, data set (or None) and (name, sha256, data) of extra files.

        Raises ``InputError`` when a file cannot be read or no longer has its
        registered hash; the same file then fails every later run at once.
        """
        artifact = self.ship(spec.artifact.path, spec.artifact.sha256)
        dataset = self.ship(spec.dataset.path, spec.dataset.sha256) if spec.dataset else None
        extras = [
            (rel, sha, self.ship(str(path), sha))
            for rel, path, sha in self._extra_files(spec.artifact)
        ]
        return artifact, dataset, extras

    def ship(self, path: str, sha256: str) -> Any:
        """The file at ``path`` scattered to the workers that need it, checked against ``sha256``.

        Raises ``InputError`` for an unreadable file or a hash mismatch.
        """
        if sha256 in self._unsendable:
            raise self._unsendable[sha256]
        blob = self._sent.get(sha256)
        if blob is not None and blob.status == "finished":
            return blob  # sent by an earlier call; Dask copies it to new workers as needed
        try:
            data = Path(path).read_bytes()
        except OSError as err:
            self._unsendable[sha256] = InputError(f"cannot read {path}: {err.strerror or err}")
            raise self._unsendable[sha256] from err
        got = hashlib.sha256(data).hexdigest()
        if got != sha256:
            self._unsendable[sha256] = InputError(
                f"{path} has sha256 {got[:12]}…, not the registered {sha256[:12]}…; "
                "the file changed after it was added"
            )
            raise self._unsendable[sha256]
        # A key of its own (hash=False): another executor on the same
        # cluster releasing the same bytes cannot pull them from under us.
        self._sent[sha256] = self._client.scatter(
            data, workers=sorted(self._needs[sha256]), broadcast=True, hash=False
        )
        return self._sent[sha256]

    def _extra_files(self, artifact: ArtifactRef) -> list[tuple[str, Path, str]]:
        if artifact.sha256 not in self._listed:
            found = external_data(artifact)
            self._listed[artifact.sha256] = [(rel, f, file_sha256(f)) for rel, f in found]
            for _, _, sha in self._listed[artifact.sha256]:
                self._needs.setdefault(sha, set()).update(self._needs.get(artifact.sha256, set()))
        return self._listed[artifact.sha256]
