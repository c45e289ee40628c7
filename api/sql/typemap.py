"""Postgres types -> SQLite storage, and values in both directions.

Timestamps are stored as UTC text ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (the form SQLite's date
functions and ``now()`` use), so stored timestamps compare correctly as text.

Tables are created STRICT, so the storage type of every column is enforced by SQLite and a
type mismatch fails the statement.  Declared Postgres types are kept in the catalogue; they
decide how stored values come back to clients (``to_client``) and how Python parameters are
stored (``to_storage``).
"""

from __future__ import annotations

import datetime
import decimal
import json
import uuid
from dataclasses import dataclass
from typing import Any

from api.sql.errors import NotSupportedError
from projections.arrayfuncs import array_in


@dataclass(frozen=True)
class PgType:
    """How one Postgres type family is stored: STRICT type, family, serial-ness."""

    affinity: str
    family: str
    serial: bool = False


_INTEGER = PgType("INTEGER", "integer")
_REAL = PgType("REAL", "real")
_TEXT = PgType("TEXT", "text")
_SERIAL = PgType("INTEGER", "integer", serial=True)

_TYPES: dict[str, PgType] = {
    **dict.fromkeys(("smallint", "int2", "integer", "int", "int4", "bigint", "int8"), _INTEGER),
    **dict.fromkeys(("serial", "serial4", "bigserial", "serial8", "smallserial"), _SERIAL),
    **dict.fromkeys(("boolean", "bool"), PgType("INTEGER", "boolean")),
    **dict.fromkeys(("real", "float4", "float8", "double precision", "float"), _REAL),
    **dict.fromkeys(("numeric", "decimal"), _REAL),
    **dict.fromkeys(("text", "varchar", "character varying", "char", "character"), _TEXT),
    **dict.fromkeys(("bpchar", "name", "citext"), _TEXT),
    **dict.fromkeys(("json", "jsonb"), PgType("TEXT", "json")),
    **dict.fromkeys(("timestamp", "timestamp without time zone"), PgType("TEXT", "timestamp")),
    **dict.fromkeys(("timestamptz", "timestamp with time zone"), PgType("TEXT", "timestamptz")),
    "date": PgType("TEXT", "date"),
    **dict.fromkeys(("time", "time without time zone"), PgType("TEXT", "time")),
    "uuid": PgType("TEXT", "uuid"),
    "bytea": PgType("BLOB", "bytea"),
}


_ARRAY = PgType("TEXT", "array")
_ELEMENT_KINDS = {"integer": "int", "real": "float", "boolean": "bool"}


def _array_of(declared: str) -> PgType | None:
    """Arrays (``text[]``, ``int[]``, ...) of a known, non-serial element type: JSON text."""
    text = declared.strip().lower()
    if not text.endswith("[]"):
        return None
    element = _TYPES.get(base_type(text[:-2]))
    return _ARRAY if element is not None and not element.serial else None


def array_element_kind(declared: str) -> str:
    """How the elements of an array literal written to a ``declared`` column are read."""
    element = _TYPES.get(base_type(declared.strip().lower()[:-2]))
    return _ELEMENT_KINDS.get(element.family, "text") if element is not None else "text"


def base_type(declared: str) -> str:
    """The declared type without modifiers: ``varchar(20)`` -> ``varchar``."""
    return declared.split("(", 1)[0].strip().lower()


def lookup(declared: str) -> PgType:
    """The storage of a declared type; unknown types are not supported."""
    array = _array_of(declared)
    if array is not None:
        return array
    found = _TYPES.get(base_type(declared))
    if found is None or declared.strip().endswith("]"):
        raise NotSupportedError(f"column type {declared!r} is not supported")
    return found


def family_of(declared: str | None) -> str | None:
    """Type family of a declared type, or None when unknown."""
    if declared is None:
        return None
    found = _array_of(declared) or _TYPES.get(base_type(declared))
    return found.family if found else None


def to_storage(value: Any) -> Any:
    """Turn a Python parameter into a SQLite storage value."""
    kind = type(value)
    if kind is int or kind is str or kind is float or value is None:
        return value
    if isinstance(value, str | bytes | float):
        return value
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"parameter of type {type(value).__name__} is not supported")


_TRUE = frozenset({"t", "true", "y", "yes", "on", "1"})
_FALSE = frozenset({"f", "false", "n", "no", "off", "0"})


def coerce(value: Any, family: str | None) -> Any:
    """A text value written to a boolean or timestamp column, in its stored form.

    Booleans accept Postgres's spellings (``'true'``, ``'off'``, ...); timestamps become UTC
    text ``YYYY-MM-DD HH:MM:SS[.ffffff]``.  Anything else is returned unchanged (and then
    refused by the column's type, if it does not fit).
    """
    if not isinstance(value, str):
        return value
    if family is not None and family.startswith("array") and value.lstrip().startswith("{"):
        return array_in(value, family.partition(":")[2] or "text")
    if family == "boolean":
        word = value.strip().lower()
        return 1 if word in _TRUE else 0 if word in _FALSE else value
    if family in ("timestamp", "timestamptz"):
        try:
            parsed = datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            return value
        return to_storage(parsed)
    return value


CONVERTED_FAMILIES = frozenset({"boolean", "json", "array", "timestamp", "timestamptz"})
"""The families whose stored values `to_client` changes; others reach clients as stored."""


def to_client(value: Any, family: str | None) -> Any:
    """Turn a stored value into what a client sees for a column of ``family``."""
    if value is None or family is None:
        return value
    if family == "boolean" and isinstance(value, int):
        return bool(value)
    if family in ("json", "array") and isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    if family in ("timestamp", "timestamptz") and isinstance(value, str):
        return _iso_timestamp(value, family == "timestamptz")
    return value


def _iso_timestamp(text: str, with_zone: bool) -> str:
    """Normalise a stored timestamp to ISO-8601 (``T`` separator, UTC offset for tz)."""
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        return text
    if with_zone and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=datetime.UTC)
    return parsed.isoformat()
