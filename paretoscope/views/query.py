"""Reading untrusted link values: the query-string reader and the checks views share.

A view's ``from_query`` reads through a ``QueryReader``, which never raises:
every value it cannot use becomes a notice for the page to show. The
``check_*`` functions are the views' constructors' checks, which raise
``InputError`` instead. Pure: no Streamlit.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import numpy as np

from paretoscope.core.errors import InputError
from paretoscope.core.fields import DIM_PREFIX, VIEW_FIELDS, is_dim_key, is_sweep_key
from paretoscope.core.metrics import METRICS

__all__ = [
    "MAX_BATCH",
    "MAX_VALUE_CHARS",
    "NONE_VALUE",
    "ORIGINS",
    "QueryReader",
    "canonical",
    "check_batch",
    "check_dim",
    "check_field",
    "check_number",
    "check_origin",
    "check_run_id",
    "check_text",
    "is_run_id",
    "shown",
]

# Longest accepted value of one parameter: model families are short names,
# and a pasted link should not be able to make the page render a novel.
MAX_VALUE_CHARS = 200
MAX_BATCH = 2**31 - 1  # the store keeps batch sizes as INTEGER
# The ``by``/``facet`` value that asks for no grouping.
NONE_VALUE = "none"
# The values of the ``origin`` column.
ORIGINS: tuple[str, ...] = ("measured", "imported")
# Fields the pages group, facet and shift by, besides any ``dim_<name>``.
_GROUPABLE = frozenset(VIEW_FIELDS) | {"host_id"}
_DIM_VALUE_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_]{0,63}):(-?[0-9]{1,18})")
_MAX_DIM = 2**63 - 1  # the store's Int64 columns
_RUN_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,100}")
_INT_RE = re.compile(r"[0-9]{1,10}")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})
# Streamlit's own parameters; they are not ours to judge.
_RESERVED = frozenset({"embed", "embed_options"})


def is_run_id(value: str) -> bool:
    """Whether ``value`` has the shape of a run id (1 to 100 letters, digits or ``._:-``)."""
    return _RUN_ID_RE.fullmatch(value) is not None


def check_text(name: str, value: object) -> str:
    """``value`` if it is text of 1 to ``MAX_VALUE_CHARS`` characters; else ``InputError``."""
    if not isinstance(value, str) or not value or len(value) > MAX_VALUE_CHARS:
        raise InputError(f"{name} values must be text of 1 to {MAX_VALUE_CHARS} characters")
    return value


def check_batch(value: object) -> int:
    """``value`` if it is a batch size the store can keep; else ``InputError``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_BATCH:
        raise InputError(f"batch sizes must be integers from 1 to {MAX_BATCH}, got {value!r}")
    return value


T = TypeVar("T", str, int)


def canonical(values: Iterable[T], check: Callable[[object], T]) -> tuple[T, ...]:
    """``values``, each checked, sorted and de-duplicated."""
    # Sorted and de-duplicated, so that ?rt=torch&rt=ort and ?rt=ort&rt=torch
    # are one view and one canonical link.
    return tuple(sorted({check(v) for v in values}))


def is_group_field(value: object) -> bool:
    """Whether pages may group, facet or shift by ``value`` (a view field, host_id, dim_<name>)."""
    return isinstance(value, str) and (
        value in _GROUPABLE or (is_dim_key(value) and len(value) <= 64 + len(DIM_PREFIX))
    )


def check_field(value: object, *, allow_none: bool = True) -> str | None:
    """``value`` if pages may group by it (or None, when allowed); else ``InputError``."""
    if value is None and allow_none:
        return None
    if not is_group_field(value):
        raise InputError(
            f"choose a run field from {', '.join(VIEW_FIELDS)}, host_id or dim_<name>; "
            f"got {value!r:.60}"
        )
    return str(value)


def check_origin(value: object) -> str:
    """``value`` if it is a run origin (``measured``, ``imported``); else ``InputError``."""
    if value not in ORIGINS:
        raise InputError(f"origin must be one of {', '.join(ORIGINS)}, got {value!r:.60}")
    return str(value)


def check_dim(value: object) -> tuple[str, int]:
    """``value`` if it is a (dimension name, integer value) pair; else ``InputError``."""
    if isinstance(value, tuple) and len(value) == 2:
        name, number = value
        if (
            isinstance(name, str)
            and isinstance(number, int)
            and not isinstance(number, bool)
            and _DIM_VALUE_RE.fullmatch(f"{name}:{number}")
            and abs(number) <= _MAX_DIM
        ):
            return name, number
    raise InputError(f"a dimension filter is a (name, integer) pair, got {value!r:.60}")


def check_number(name: str, value: object) -> float | None:
    """``value`` as a float if it is a finite number (None stays None); else ``InputError``."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def check_run_id(value: object) -> str:
    """``value`` if it has the shape of a run id; else ``InputError``."""
    if not isinstance(value, str) or not is_run_id(value):
        raise InputError(f"a run id is 1 to 100 letters, digits or ._:-; got {value!r:.60}")
    return value


class QueryReader:
    """Reads typed values out of untrusted query parameters, collecting notices."""

    def __init__(self, params: object, known: Mapping[str, str]) -> None:
        self.notices: list[str] = []
        self.params: dict[str, list[str]] = {}
        if not isinstance(params, Mapping):
            self.notices.append("Ignored the link's parameters: they are not key=value pairs.")
            return
        for key, raw in params.items():
            if not isinstance(key, str):
                self.notices.append(f"Ignored a parameter whose name is not text: {key!r:.60}.")
                continue
            if key in _RESERVED:
                continue
            if key not in known:
                self.notices.append(f"Ignored unknown parameter {shown(key)}.")
                continue
            items = [raw] if isinstance(raw, str) else raw
            if not isinstance(items, (list, tuple)):
                self.notices.append(f"Ignored {key}: its value is not text.")
                continue
            texts = [v for v in items if isinstance(v, str)]
            if len(texts) != len(items):
                self.notices.append(
                    f"Ignored {len(items) - len(texts)} non-text value(s) of {key}."
                )
            self.params[key] = texts

    def _single(self, key: str) -> str | None:
        values = self.params.get(key, [])
        if not values:
            return None
        if len(values) > 1:
            self.notices.append(
                f"{key} was given {len(values)} times; used the last ({shown(values[-1])})."
            )
        return values[-1]

    def metric(self, key: str, default: str, *, dims: bool = False) -> str:
        """A metric key (or, with ``dims``, a sweep key: ``dim_<name>``, ``batch_size``); else
        a notice and ``default``."""
        value = self._single(key)
        if value is None:
            return default
        if dims and is_sweep_key(value) and len(value) <= 64 + len(DIM_PREFIX):
            return value
        if value not in METRICS:
            extra = ", batch_size or dim_<name>" if dims else ""
            self.notices.append(
                f"Ignored {key}={shown(value)}: not a metric. Choose one of "
                f"{', '.join(METRICS)}{extra}."
            )
            return default
        return value

    def flag(self, key: str) -> bool | None:
        value = self._single(key)
        if value is None:
            return None
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        self.notices.append(f"Ignored {key}={shown(value)}: use 1 or 0.")
        return None

    def field(self, key: str, default: str | None) -> str | None:
        value = self._single(key)
        if value is None:
            return default
        if value == NONE_VALUE:
            return None
        if not is_group_field(value):
            self.notices.append(
                f"Ignored {key}={shown(value)}: choose one of {', '.join(VIEW_FIELDS)}, "
                "host_id, dim_<name> or none."
            )
            return default
        return value

    def number(self, key: str) -> float | None:
        value = self._single(key)
        if value is None:
            return None
        try:
            number = float(value) if len(value) <= 40 else float("nan")
        except ValueError:
            number = float("nan")
        if not np.isfinite(number):
            self.notices.append(f"Ignored {key}={shown(value)}: not a finite number.")
            return None
        return number

    def run_id(self, key: str) -> str | None:
        value = self._single(key)
        if value is not None and not is_run_id(value):
            self.notices.append(f"Ignored {key}={shown(value)}: not a run id.")
            return None
        return value

    def text(self, key: str) -> str | None:
        value = self._single(key)
        if value is not None and not 0 < len(value) <= MAX_VALUE_CHARS:
            self.notices.append(
                f"Ignored {key}: empty or longer than {MAX_VALUE_CHARS} characters."
            )
            return None
        return value

    def values(self, key: str, parse: Callable[[str], Any], why: str) -> list[Any]:
        out = []
        for raw in self.params.get(key, []):
            parsed = parse(raw) if 0 < len(raw) <= MAX_VALUE_CHARS else None
            if parsed is None:
                self.notices.append(f"Ignored {key}={shown(raw)}: {why}.")
            else:
                out.append(parsed)
        return out

    def batch_sizes(self, key: str) -> list[int]:
        """The positive integers given for ``key``; a notice for each other value."""

        def batch(raw: str) -> int | None:
            if not _INT_RE.fullmatch(raw):
                return None
            n = int(raw)
            return n if 0 < n <= MAX_BATCH else None

        return self.values(key, batch, "not a positive integer")

    def dims(self, key: str) -> list[tuple[str, int]]:
        """The ``name:value`` pairs given for ``key`` (``seq:128``); a notice for each other."""

        def pair(raw: str) -> tuple[str, int] | None:
            m = _DIM_VALUE_RE.fullmatch(raw)
            if m is None or abs(int(m.group(2))) > _MAX_DIM:
                return None
            return m.group(1), int(m.group(2))

        return self.values(key, pair, "not name:integer (e.g. seq:128)")

    def texts(self, key: str) -> list[str]:
        """The values given for ``key``; a notice for each empty or overlong one."""
        return self.values(key, lambda v: v, f"empty or longer than {MAX_VALUE_CHARS} characters")


def shown(value: str) -> str:
    """A value for a notice: quoted, and cut short when long."""
    return repr(value if len(value) <= 40 else value[:40] + "…")
