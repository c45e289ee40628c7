"""Framing of the PostgreSQL v3 protocol: reading client messages, building server ones.

Sans-IO except for the two readers, which take an `asyncio.StreamReader` and refuse a
length outside the protocol's bounds before reading the body, so an oversized or
nonsensical frame costs nothing but its header.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Sequence

from api.pgwire.errors import PgError

MAX_STARTUP_BYTES = 10_000
"""Postgres refuses startup packets above 10,000 bytes too."""

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_FIELD = struct.Struct("!ihih")  # type oid, typlen, typmod, format (after table oid, attnum)


def protocol_error(message: str) -> PgError:
    """A framing violation: the connection cannot continue (SQLSTATE 08P01)."""
    return PgError("08P01", message, fatal=True)


async def read_startup(reader: asyncio.StreamReader) -> bytes:
    """The body of an untyped startup-phase packet (startup, SSL, GSS or cancel request)."""
    length = _I32.unpack(await reader.readexactly(4))[0]
    if length < 8 or length > MAX_STARTUP_BYTES:
        raise protocol_error(f"invalid startup packet length {length}")
    return await reader.readexactly(length - 4)


async def read_message(reader: asyncio.StreamReader, max_bytes: int) -> tuple[bytes, bytes]:
    """One typed message: its type byte and body; a frame above `max_bytes` is refused."""
    header = await reader.readexactly(5)
    length = _I32.unpack_from(header, 1)[0]
    if length < 4:
        raise protocol_error(f"invalid message length {length}")
    if length - 4 > max_bytes:
        raise PgError("54000", f"message of {length} bytes exceeds {max_bytes}", fatal=True)
    return header[:1], await reader.readexactly(length - 4)


class Payload:
    """A cursor over a message body; reading past its end is a protocol violation."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, size: int) -> bytes:
        end = self.pos + size
        if size < 0 or end > len(self.data):
            raise protocol_error("message is truncated")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def int16(self) -> int:
        value: int = _I16.unpack(self._take(2))[0]
        return value

    def int32(self) -> int:
        value: int = _I32.unpack(self._take(4))[0]
        return value

    def byte(self) -> bytes:
        return self._take(1)

    def raw(self, size: int) -> bytes:
        return self._take(size)

    def cstring(self) -> str:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise protocol_error("unterminated string in message")
        text = self.data[self.pos : end]
        self.pos = end + 1
        try:
            return text.decode()
        except UnicodeDecodeError as exc:
            raise PgError("22021", "invalid byte sequence for encoding UTF8") from exc

    def int16s(self) -> list[int]:
        return [self.int16() for _ in range(self._count())]

    def _count(self) -> int:
        count = self.int16()
        if count < 0:
            raise protocol_error("negative count in message")
        return count

    def values(self) -> list[bytes | None]:
        """A length-prefixed list of nullable values (Bind's parameters)."""
        out: list[bytes | None] = []
        for _ in range(self._count()):
            size = self.int32()
            out.append(None if size == -1 else self._take(size))
        return out

    def int32s(self) -> list[int]:
        return [self.int32() for _ in range(self._count())]


def message(kind: bytes, body: bytes = b"") -> bytes:
    """A framed server message."""
    return kind + _I32.pack(len(body) + 4) + body


def int32(value: int) -> bytes:
    return _I32.pack(value)


def cstr(text: str) -> bytes:
    return text.encode() + b"\0"


def auth_request(code: int, extra: bytes = b"") -> bytes:
    return message(b"R", _I32.pack(code) + extra)


def parameter_status(name: str, value: str) -> bytes:
    return message(b"S", cstr(name) + cstr(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    return message(b"K", _I32.pack(pid) + _I32.pack(secret))


def ready_for_query(status: bytes) -> bytes:
    return message(b"Z", status)


def command_complete(tag: str) -> bytes:
    return message(b"C", cstr(tag))


def row_description(fields: Sequence[tuple[str, int, int, int]]) -> bytes:
    """Fields as (name, type oid, typlen, format code)."""
    parts = [_I16.pack(len(fields))]
    for name, oid, typlen, fmt in fields:
        parts.append(cstr(name) + _I32.pack(0) + _I16.pack(0) + _FIELD.pack(oid, typlen, -1, fmt))
    return message(b"T", b"".join(parts))


def data_row(values: Sequence[bytes | None]) -> bytes:
    parts = [_I16.pack(len(values))]
    for value in values:
        parts.append(_I32.pack(-1) if value is None else _I32.pack(len(value)) + value)
    return message(b"D", b"".join(parts))


def copy_response(kind: bytes, columns: int, binary: bool = False) -> bytes:
    """CopyInResponse (G) or CopyOutResponse (H), every column in text (or binary)."""
    flag = int(binary)
    return message(kind, bytes([flag]) + _I16.pack(columns) + _I16.pack(flag) * columns)


def parameter_description(oids: Sequence[int]) -> bytes:
    return message(b"t", _I16.pack(len(oids)) + b"".join(_I32.pack(oid) for oid in oids))


def error_response(error: PgError, notice: bool = False) -> bytes:
    """ErrorResponse (or NoticeResponse) with severity, SQLSTATE, message and extras."""
    severity = "NOTICE" if notice else ("FATAL" if error.fatal else "ERROR")
    fields = [(b"S", severity), (b"V", severity), (b"C", error.sqlstate), (b"M", error.message)]
    if error.detail:
        fields.append((b"D", error.detail))
    if error.hint:
        fields.append((b"H", error.hint))
    if error.position:
        fields.append((b"P", str(error.position)))
    body = b"".join(code + cstr(value) for code, value in fields) + b"\0"
    return message(b"N" if notice else b"E", body)


PARSE_COMPLETE = message(b"1")
BIND_COMPLETE = message(b"2")
CLOSE_COMPLETE = message(b"3")
NO_DATA = message(b"n")
EMPTY_QUERY = message(b"I")
PORTAL_SUSPENDED = message(b"s")
AUTH_OK = auth_request(0)
