"""`COPY ... FROM STDIN` and `COPY ... TO STDOUT` in text, CSV and binary formats.

A load is one atomic write, as in Postgres: its rows become multi-row INSERTs of one batch
(one log record), so row-level security, constraints and the record size limit apply as
to any write. Fields are decoded by the target columns' declared types.
"""

from __future__ import annotations

import csv
import io
import re
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from api.pgwire import types as t
from api.pgwire.errors import PgError

MAX_COPY_BYTES = 64 << 20
"""Largest COPY FROM STDIN load (it is one record; the log's record limit may be lower)."""
PARAMS_PER_STATEMENT = 900
_NAME = r'(?:"[^"]+"|[A-Za-z_][\w$]*)(?:\.(?:"[^"]+"|[A-Za-z_][\w$]*))?'
_FROM = re.compile(
    rf"^\s*COPY\s+(?P<table>{_NAME})\s*(?:\((?P<cols>[^)]*)\))?\s+FROM\s+STDIN\b(?P<opts>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_TO = re.compile(
    rf"^\s*COPY\s+(?:(?P<table>{_NAME})\s*(?:\((?P<cols>[^)]*)\))?|\((?P<query>.*)\))"
    r"\s+TO\s+STDOUT\b(?P<opts>.*)$",
    re.IGNORECASE | re.DOTALL,
)
_DELIMITER = re.compile(r"\bDELIMITER\s+(?:AS\s+)?'(.)'", re.IGNORECASE)
_NULL = re.compile(r"\bNULL\s+(?:AS\s+)?'([^']*)'", re.IGNORECASE)
_HEADER = re.compile(r"\bHEADER\b(?!\s+(?:false|off|0)\b)", re.IGNORECASE)
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\"}
_TEXT_ESCAPE = str.maketrans({"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"})
_BINARY = re.compile(r"\bBINARY\b", re.IGNORECASE)
SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
"""The binary format's header starts so; flags and an extension length follow."""
_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")


@dataclass(frozen=True)
class Copy:
    """A parsed COPY statement."""

    direction: str  # "in" or "out"
    table: str | None
    columns: list[str]
    query: str | None
    csv: bool
    header: bool
    delimiter: str
    null: str
    binary: bool = False

    def select(self) -> str:
        """The query whose rows COPY TO sends."""
        if self.query is not None:
            return self.query
        return f"SELECT {', '.join(self.columns) or '*'} FROM {self.table}"


def parse_copy(sql: str) -> Copy | None:
    """The COPY statement `sql` is, or None if it is not one we serve."""
    match = _FROM.match(sql)
    direction = "in"
    if match is None:
        match, direction = _TO.match(sql), "out"
    if match is None:
        return None
    options = match.group("opts")
    is_csv = re.search(r"\bCSV\b", options, re.IGNORECASE) is not None
    delimiter = _DELIMITER.search(options)
    null = _NULL.search(options)
    columns = [c.strip() for c in (match.group("cols") or "").split(",") if c.strip()]
    return Copy(
        direction,
        match.group("table"),
        columns,
        match.groupdict().get("query"),
        is_csv,
        _HEADER.search(options) is not None,
        delimiter.group(1) if delimiter else ("," if is_csv else "\t"),
        null.group(1) if null else ("" if is_csv else "\\N"),
        _BINARY.search(options) is not None,
    )


# -- in -----------------------------------------------------------------------------------


def rows_in(copy: Copy, data: bytes) -> list[list[str | None]] | list[list[bytes | None]]:
    """The fields of each row of a load (NULL as None): text, or bytes in the binary
    format."""
    if copy.binary:
        return binary_rows(data)
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise PgError("22021", "invalid byte sequence for encoding UTF8") from exc
    if copy.csv:
        reader = csv.reader(io.StringIO(text), delimiter=copy.delimiter)
        rows: list[list[str | None]] = [
            [None if f == copy.null else f for f in row] for row in reader if row
        ]
    else:
        rows = [_text_row(line, copy) for line in text.split("\n") if line and line != "\\."]
    return rows[1:] if copy.header else rows


def binary_rows(data: bytes) -> list[list[bytes | None]]:
    """The rows of a load in the binary format: signature, flags, header extension, then
    per row a field count and length-prefixed fields (-1: NULL), ended by a count of -1."""
    if not data.startswith(SIGNATURE) or len(data) < len(SIGNATURE) + 8:
        raise PgError("22P04", "COPY file signature not recognized")
    try:
        position = len(SIGNATURE) + 4
        position += 4 + _I32.unpack_from(data, position)[0]
        rows: list[list[bytes | None]] = []
        while True:
            count = _I16.unpack_from(data, position)[0]
            position += 2
            if count == -1:
                return rows
            row: list[bytes | None] = []
            for _ in range(count):
                size = _I32.unpack_from(data, position)[0]
                position += 4
                if size < -1 or position + max(size, 0) > len(data):
                    raise PgError("22P04", "invalid field size in binary COPY data")
                row.append(None if size == -1 else data[position : position + size])
                position += max(size, 0)
            rows.append(row)
    except struct.error as exc:
        raise PgError("22P04", "unexpected end of binary COPY data") from exc


def _text_row(line: str, copy: Copy) -> list[str | None]:
    return [
        None if f == copy.null else _unescape(f) for f in line.rstrip("\r").split(copy.delimiter)
    ]


def _unescape(field: str) -> str:
    if "\\" not in field:
        return field
    out, i = [], 0
    while i < len(field):
        char = field[i]
        if char == "\\" and i + 1 < len(field):
            nxt = field[i + 1]
            out.append(_ESCAPES.get(nxt, nxt))
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def insert_statements(
    table: str,
    columns: Sequence[str],
    oids: Sequence[int],
    rows: Sequence[Sequence[str | bytes | None]],
) -> Iterator[tuple[str, list[Any]]]:
    """Multi-row INSERTs (with parameters decoded by column type, from text or, for bytes
    fields, the binary format) for the rows of a load."""
    width = len(columns)
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise PgError("22P04", f"row {number} has {len(row)} fields, {width} expected")
    per_statement = max(1, PARAMS_PER_STATEMENT // max(1, width))
    names = ", ".join(columns)
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        params = [
            _parameter(field, oid) for row in chunk for field, oid in zip(row, oids, strict=True)
        ]
        tuples = ", ".join(
            "(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")"
            for r in range(len(chunk))
        )
        yield f"INSERT INTO {table} ({names}) VALUES {tuples}", params


def _parameter(field: str | bytes | None, oid: int) -> Any:
    if field is None:
        return None
    if isinstance(field, bytes):
        return t.decode(field, oid, True)
    return t.decode(field.encode(), oid, False)


# -- out ----------------------------------------------------------------------------------


def lines_out(
    copy: Copy, columns: Sequence[str], oids: Sequence[int], rows: list[list[Any]]
) -> Iterator[bytes]:
    """The CopyData payloads of a dump: one line per row (and a header line for CSV), or
    in the binary format a header, one tuple per row and the trailer."""
    if copy.binary:
        header = SIGNATURE + _I32.pack(0) + _I32.pack(0)  # sent with the first tuple, as
        for row in rows:  # Postgres does (psycopg expects them in one message)
            encoded = [t.encode(v, oid, True) for v, oid in zip(row, oids, strict=True)]
            yield (
                header
                + _I16.pack(len(encoded))
                + b"".join(_I32.pack(-1) if f is None else _I32.pack(len(f)) + f for f in encoded)
            )
            header = b""
        yield header + _I16.pack(-1)
        return
    if copy.csv:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=copy.delimiter, lineterminator="\n")
        if copy.header:
            writer.writerow(columns)
        for row in rows:
            writer.writerow([_field(v, oid, copy.null) for v, oid in zip(row, oids, strict=True)])
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
        if copy.header and not rows:
            yield buffer.getvalue().encode()
        return
    for row in rows:
        fields = [
            copy.null if v is None else _field(v, oid, "").translate(_TEXT_ESCAPE)
            for v, oid in zip(row, oids, strict=True)
        ]
        yield (copy.delimiter.join(fields) + "\n").encode()


def _field(value: Any, oid: int, null: str) -> str:
    encoded = t.encode(value, oid, False)
    return null if encoded is None else encoded.decode()
