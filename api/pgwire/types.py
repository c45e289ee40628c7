"""Postgres type OIDs and the text and binary formats of their values.

Result columns get their OID from the type the engine knows for them (a column's declared
type, a cast's; `api.sql.results`); where the engine cannot know it (an expression) from
the Python values of the column. Parameters are
decoded by the OID the client declared or the one inferred for it (`api.pgwire.infer`);
an unknown OID is read as text.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
import struct
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from api.pgwire.errors import PgError
from api.sql.typemap import base_type, family_of

BOOL, BYTEA, NAME, INT8, INT2, INT4, TEXT, OID = 16, 17, 19, 20, 21, 23, 25, 26
JSON, FLOAT4, FLOAT8, UNKNOWN, BPCHAR, VARCHAR = 114, 700, 701, 705, 1042, 1043
DATE, TIME, TIMESTAMP, TIMESTAMPTZ, NUMERIC, UUID, JSONB = 1082, 1083, 1114, 1184, 1700, 2950, 3802
TEXT_ARRAY, INT2_ARRAY, INT4_ARRAY, OID_ARRAY, CHAR = 1009, 1005, 1007, 1028, 18
REGTYPE, REGPROC, REGCLASS, XID = 2206, 24, 2205, 28
BOOL_ARRAY, INT8_ARRAY, FLOAT4_ARRAY, FLOAT8_ARRAY, VARCHAR_ARRAY = 1000, 1016, 1021, 1022, 1015
NUMERIC_ARRAY, UUID_ARRAY, JSONB_ARRAY, DATE_ARRAY = 1231, 2951, 3807, 1182
TIMESTAMP_ARRAY, TIMESTAMPTZ_ARRAY, BPCHAR_ARRAY = 1115, 1185, 1014

TYPE_NAMES: dict[int, str] = {
    BOOL: "bool", BYTEA: "bytea", NAME: "name", INT8: "int8", INT2: "int2", INT4: "int4",
    TEXT: "text", OID: "oid", JSON: "json", FLOAT4: "float4", FLOAT8: "float8",
    UNKNOWN: "unknown", BPCHAR: "bpchar", VARCHAR: "varchar", DATE: "date", TIME: "time",
    TIMESTAMP: "timestamp", TIMESTAMPTZ: "timestamptz", NUMERIC: "numeric", UUID: "uuid",
    JSONB: "jsonb", CHAR: "char", REGTYPE: "regtype", REGPROC: "regproc", REGCLASS: "regclass",
    XID: "xid", TEXT_ARRAY: "_text", INT2_ARRAY: "_int2", INT4_ARRAY: "_int4",
    OID_ARRAY: "_oid", BOOL_ARRAY: "_bool", INT8_ARRAY: "_int8", FLOAT4_ARRAY: "_float4",
    FLOAT8_ARRAY: "_float8", VARCHAR_ARRAY: "_varchar", NUMERIC_ARRAY: "_numeric",
    UUID_ARRAY: "_uuid", JSONB_ARRAY: "_jsonb", DATE_ARRAY: "_date",
    TIMESTAMP_ARRAY: "_timestamp", TIMESTAMPTZ_ARRAY: "_timestamptz", BPCHAR_ARRAY: "_bpchar",
}  # fmt: skip
TYPE_LENGTHS: dict[int, int] = {
    BOOL: 1, INT8: 8, INT2: 2, INT4: 4, OID: 4, FLOAT4: 4, FLOAT8: 8, DATE: 4, TIME: 8,
    TIMESTAMP: 8, TIMESTAMPTZ: 8, UUID: 16, CHAR: 1, NAME: 64, REGTYPE: 4, REGPROC: 4,
    REGCLASS: 4, XID: 4,
}  # fmt: skip
ARRAY_ELEMENTS = {
    TEXT_ARRAY: TEXT, INT2_ARRAY: INT2, INT4_ARRAY: INT4, OID_ARRAY: OID, BOOL_ARRAY: BOOL,
    INT8_ARRAY: INT8, FLOAT4_ARRAY: FLOAT4, FLOAT8_ARRAY: FLOAT8, VARCHAR_ARRAY: VARCHAR,
    NUMERIC_ARRAY: NUMERIC, UUID_ARRAY: UUID, JSONB_ARRAY: JSONB, DATE_ARRAY: DATE,
    TIMESTAMP_ARRAY: TIMESTAMP, TIMESTAMPTZ_ARRAY: TIMESTAMPTZ, BPCHAR_ARRAY: BPCHAR,
}  # fmt: skip
_ARRAY_OF = {element: array for array, element in ARRAY_ELEMENTS.items()}
_BY_NAME = {name: oid for oid, name in TYPE_NAMES.items()} | {
    "integer": INT4, "int": INT4, "smallint": INT2, "bigint": INT8, "boolean": BOOL,
    "real": FLOAT4, "double precision": FLOAT8, "float": FLOAT8, "decimal": NUMERIC,
    "character varying": VARCHAR, "character": BPCHAR, "serial": INT4, "serial4": INT4,
    "bigserial": INT8, "serial8": INT8, "smallserial": INT2, "citext": TEXT,
    "timestamp without time zone": TIMESTAMP, "timestamp with time zone": TIMESTAMPTZ,
    "time without time zone": TIME,
}  # fmt: skip
_DECLARED = _BY_NAME | {"char": BPCHAR}
"""OIDs by declared type name (SQL's `char(n)` is bpchar, not the one-byte `"char"`)."""
_BY_FAMILY = {
    "integer": INT8, "real": FLOAT8, "boolean": BOOL, "text": TEXT, "json": JSONB,
    "timestamp": TIMESTAMP, "timestamptz": TIMESTAMPTZ, "date": DATE, "time": TIME,
    "uuid": UUID, "bytea": BYTEA,
}  # fmt: skip
_EPOCH = datetime.datetime(2000, 1, 1)
_EPOCH_TZ = _EPOCH.replace(tzinfo=datetime.UTC)
_EPOCH_DATE = _EPOCH.date()
_INTS = {INT2: struct.Struct("!h"), INT4: struct.Struct("!i"), INT8: struct.Struct("!q")}
_INTS.update({OID: struct.Struct("!I"), REGTYPE: struct.Struct("!I"), XID: struct.Struct("!I")})
_FLOATS = {FLOAT4: struct.Struct("!f"), FLOAT8: struct.Struct("!d")}
_Q = struct.Struct("!q")
_I = struct.Struct("!i")
_NUMERIC_HEAD = struct.Struct("!hhhh")


def oid_of_declared(declared: str) -> int:
    """The OID of a declared column type (`varchar(20)` -> varchar, `int[]` -> _int4); text
    if unknown."""
    text = declared.strip()
    if text.endswith("[]"):
        return _ARRAY_OF.get(_DECLARED.get(base_type(text[:-2]), TEXT), TEXT_ARRAY)
    return _DECLARED.get(base_type(text), TEXT)


def oid_of_column(declared: str | None, values: Sequence[Any]) -> int:
    """A result column's OID: from its declared type, else from its first non-null value."""
    if declared is not None and declared.strip().endswith("[]"):
        return oid_of_declared(declared)
    if declared is not None:
        found = _DECLARED.get(base_type(declared))
        return found if found is not None else _BY_FAMILY.get(family_of(declared) or "", TEXT)
    for value in values:
        if value is None:
            continue
        if isinstance(value, bool):
            return BOOL
        if isinstance(value, int):
            return INT8
        if isinstance(value, float):
            return FLOAT8
        if isinstance(value, bytes):
            return BYTEA
        if isinstance(value, dict | list):
            return JSONB
        return TEXT
    return TEXT


def type_length(oid: int) -> int:
    return TYPE_LENGTHS.get(oid, -1)


# -- server -> client -------------------------------------------------------------------


def encode(value: Any, oid: int, binary: bool) -> bytes | None:
    """A result value in the client's requested format for a column of `oid`."""
    if value is None:
        return None
    try:
        return _encode_binary(value, oid) if binary else _encode_text(value, oid).encode()
    except (ValueError, TypeError, OverflowError, struct.error) as exc:
        raise PgError(
            "22P03", f"cannot encode {type(value).__name__} as {TYPE_NAMES[oid]}"
        ) from exc


def _encode_text(value: Any, oid: int) -> str:
    if oid in ARRAY_ELEMENTS and isinstance(value, list):
        return array_text(value, ARRAY_ELEMENTS[oid])
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, bytes):
        return "\\x" + value.hex()
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(", ", ": "))
    if oid in (TIMESTAMP, TIMESTAMPTZ) and isinstance(value, str):
        stamp = _timestamp(value, oid == TIMESTAMPTZ)
        text = stamp.replace(tzinfo=None).isoformat(sep=" ")
        text = text.rstrip("0") if "." in text else text
        return text + "+00" if oid == TIMESTAMPTZ else text
    if oid == BOOL and isinstance(value, int):
        return "t" if value else "f"
    if isinstance(value, float):
        return _float_text(value)
    return str(value)


def _float_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def array_text(items: list[Any], element: int) -> str:
    """A one-dimensional array in Postgres' text output: ``{1,2}``, ``{a,"b c",NULL}``."""
    parts = []
    for item in items:
        if item is None:
            parts.append("NULL")
            continue
        if isinstance(item, list):
            parts.append(array_text(item, element))
            continue
        text = _encode_text(item, element)
        plain = text and text.upper() != "NULL" and not any(c in text for c in '{},"\\ \t\n')
        parts.append(text if plain else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"')
    return "{" + ",".join(parts) + "}"


def array_items(value: Any) -> list[str]:
    """The items of an array in Postgres' text form: `{a,b}` (an array) or `1 2` (an
    int2vector such as `indkey`)."""
    text = str(value).strip()
    if text.startswith("{"):
        inner = text[1:-1]
        return [item.strip().strip('"') for item in inner.split(",")] if inner else []
    return text.split()


def _array_binary(value: Any, element: int) -> bytes:
    """A one-dimensional array (a list, or its text form) in the binary format."""
    if isinstance(value, list):
        items = [None if i is None else _encode_binary(i, element) for i in value]
    else:
        items = [None if i == "NULL" else _encode_binary(i, element) for i in array_items(value)]
    head = struct.pack("!iiiii", 1, int(None in items), element, len(items), 1)
    return head + b"".join(_I.pack(-1) if i is None else _I.pack(len(i)) + i for i in items)


def _encode_binary(value: Any, oid: int) -> bytes:
    if oid in ARRAY_ELEMENTS:
        return _array_binary(value, ARRAY_ELEMENTS[oid])
    if oid in _INTS:
        return _INTS[oid].pack(int(value))
    if oid in _FLOATS:
        return _FLOATS[oid].pack(float(value))
    if oid == BOOL:
        return b"\x01" if value else b"\x00"
    if oid == BYTEA:
        return bytes(value) if isinstance(value, bytes) else str(value).encode()
    if oid == NUMERIC:
        return _numeric_binary(decimal.Decimal(str(value)))
    if oid == DATE:
        return _I.pack((datetime.date.fromisoformat(str(value)) - _EPOCH_DATE).days)
    if oid in (TIMESTAMP, TIMESTAMPTZ):
        stamp = _timestamp(str(value), oid == TIMESTAMPTZ).replace(tzinfo=None)
        return _Q.pack(_micros(stamp - _EPOCH))
    if oid == TIME:
        moment = datetime.time.fromisoformat(str(value))
        seconds = moment.hour * 3600 + moment.minute * 60 + moment.second
        return _Q.pack(seconds * 1_000_000 + moment.microsecond)
    if oid == UUID:
        return uuid.UUID(str(value)).bytes
    if oid == JSONB:
        return b"\x01" + _encode_text(value, oid).encode()
    return _encode_text(value, oid).encode()


def _timestamp(text: str, with_zone: bool) -> datetime.datetime:
    stamp = datetime.datetime.fromisoformat(text)
    if with_zone and stamp.tzinfo is not None:
        stamp = stamp.astimezone(datetime.UTC)
    return stamp


def _micros(delta: datetime.timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _numeric_binary(value: decimal.Decimal) -> bytes:
    """Postgres' numeric wire form: base-10000 digits with weight, sign and scale."""
    if value.is_nan():
        return _NUMERIC_HEAD.pack(0, 0, 0xC000 - 0x10000, 0)
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    scale = max(0, -exponent)
    text = "".join(map(str, digits))
    if exponent < 0:
        text = text.rjust(1 - exponent, "0")  # 1E-4 -> "00001": integer "0", fraction "0001"
    integer = text[: len(text) + exponent] if exponent < 0 else text + "0" * exponent
    fraction = text[len(text) + exponent :] if exponent < 0 else ""
    integer = integer.lstrip("0")
    integer = "0" * (-len(integer) % 4) + integer
    fraction = fraction + "0" * (-len(fraction) % 4)
    groups = [int(integer[i : i + 4]) for i in range(0, len(integer), 4)]
    weight = len(groups) - 1
    groups += [int(fraction[i : i + 4]) for i in range(0, len(fraction), 4)]
    while groups and groups[-1] == 0:
        groups.pop()
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    if not groups:
        weight = 0
    head = _NUMERIC_HEAD.pack(len(groups), weight, 0x4000 if sign else 0, scale)
    return head + b"".join(struct.pack("!H", g) for g in groups)


# -- client -> server -------------------------------------------------------------------


def decode(data: bytes, oid: int, binary: bool) -> Any:
    """A parameter value as the engine takes it; malformed input is 22P02 (text) or
    22P03 (binary), as Postgres reports them."""
    try:
        return _decode_binary(data, oid) if binary else _decode_text(data.decode(), oid)
    except (ValueError, struct.error, decimal.InvalidOperation, UnicodeDecodeError) as exc:
        code = "22P03" if binary else "22P02"
        name = TYPE_NAMES.get(oid, str(oid))
        raise PgError(code, f"invalid input for a parameter of type {name}") from exc


_TEXT_DECODERS: dict[int, Callable[[str], Any]] = {
    **dict.fromkeys((INT2, INT4, INT8, OID), int),
    **dict.fromkeys((FLOAT4, FLOAT8), float),
    NUMERIC: decimal.Decimal,
    DATE: datetime.date.fromisoformat,
    TIME: datetime.time.fromisoformat,
    TIMESTAMP: datetime.datetime.fromisoformat,
    TIMESTAMPTZ: lambda text: _aware(datetime.datetime.fromisoformat(_pg_zone(text))),
    UUID: uuid.UUID,
}


def _decode_text(text: str, oid: int) -> Any:
    if oid == BOOL:
        word = text.strip().lower()
        if word in ("t", "true", "y", "yes", "on", "1"):
            return True
        if word in ("f", "false", "n", "no", "off", "0"):
            return False
        raise ValueError(text)
    if oid == BYTEA:
        return bytes.fromhex(text[2:]) if text.startswith("\\x") else text.encode()
    decoder = _TEXT_DECODERS.get(oid)
    return decoder(text.strip()) if decoder is not None else text


def _pg_zone(text: str) -> str:
    """`+00` (Postgres' short offset) -> `+00:00`, which `fromisoformat` takes."""
    text = text.strip()
    if len(text) > 3 and text[-3] in "+-" and text[-2:].isdigit():
        return text + ":00"
    return text


def _aware(stamp: datetime.datetime) -> datetime.datetime:
    return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=datetime.UTC)


def _decode_binary(data: bytes, oid: int) -> Any:
    fixed = _INTS.get(oid) or _FLOATS.get(oid)
    if fixed is not None:
        return fixed.unpack(data)[0]  # struct.error on a wrong length
    if oid == BOOL:
        if len(data) != 1:
            raise ValueError("wrong length")
        return data != b"\x00"
    if oid == NUMERIC:
        return _numeric_value(data)
    if oid == DATE:
        return _EPOCH_DATE + datetime.timedelta(days=_I.unpack(data)[0])
    if oid == TIMESTAMP:
        return _EPOCH + datetime.timedelta(microseconds=_Q.unpack(data)[0])
    if oid == TIMESTAMPTZ:
        return _EPOCH_TZ + datetime.timedelta(microseconds=_Q.unpack(data)[0])
    if oid == TIME:
        micros = _Q.unpack(data)[0]
        return (datetime.datetime.min + datetime.timedelta(microseconds=micros)).time()
    if oid == UUID:
        return uuid.UUID(bytes=data)
    if oid == JSONB:
        if not data or data[0] != 1:
            raise ValueError("unknown jsonb version")
        return data[1:].decode()
    return data if oid == BYTEA else data.decode()


def _numeric_value(data: bytes) -> decimal.Decimal:
    count, weight, sign, scale = _NUMERIC_HEAD.unpack_from(data)
    if sign & 0xFFFF == 0xC000:
        return decimal.Decimal("NaN")
    groups = struct.unpack_from(f"!{count}H", data, 8)
    value = decimal.Decimal(0)
    for index, group in enumerate(groups):
        value += decimal.Decimal(group).scaleb(4 * (weight - index))
    value = value.quantize(decimal.Decimal(1).scaleb(-scale)) if scale else value
    return -value if sign & 0xFFFF == 0x4000 else value
