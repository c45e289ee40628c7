"""Postgres string functions SQLite lacks, registered on every projection connection:
``lpad``, ``rpad``, ``split_part``, ``initcap``, ``repeat``, ``reverse``, ``translate``,
``md5``, ``concat_ws``.

Each is linear in its input and output; a result longer than the connection's length limit
(``projections.limits``) is refused before it is built, so ``repeat('x', 10^12)`` cannot
exhaust memory.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sqlite3
from typing import Any

from projections.bounds import Refusal, record_refusal, refusing

TEXT_FUNCTIONS = (
    "lpad",
    "rpad",
    "split_part",
    "initcap",
    "repeat",
    "reverse",
    "translate",
    "md5",
    "concat_ws",
)
_WORD = re.compile(r"[^\W_]+")


class TooLongError(Exception):
    """A string function's result would exceed the connection's length limit."""


def register(conn: sqlite3.Connection) -> None:
    """Register the functions on ``conn``."""
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
    lpad = functools.partial(_pad, limit, True)
    rpad = functools.partial(_pad, limit, False)
    for name, count, function in (
        ("lpad", 2, lpad),
        ("lpad", 3, lpad),
        ("rpad", 2, rpad),
        ("rpad", 3, rpad),
        ("split_part", 3, _split_part),
        ("initcap", 1, _initcap),
        ("repeat", 2, functools.partial(_repeat, limit)),
        ("reverse", 1, _reverse),
        ("translate", 3, _translate),
        ("md5", 1, _md5),
        ("concat_ws", -1, _concat_ws),
    ):
        conn.create_function(name, count, refusing(function), deterministic=True)


def _bounded(length: int, limit: int) -> None:
    """Refuse a result longer than the connection's length limit (54000)."""
    if length > limit:
        message = f"string result of {length} characters exceeds the limit of {limit}"
        record_refusal(Refusal(None, 0, message, "54000"))
        raise TooLongError(message)


def _pad(limit: int, left: bool, text: Any, length: Any, fill: Any = " ") -> str | None:
    if text is None or length is None or fill is None:
        return None
    value, filler, size = str(text), str(fill), int(length)
    _bounded(size, limit)
    if size <= len(value):
        return value[: max(size, 0)]
    if not filler:
        return value
    padding = (filler * ((size - len(value)) // len(filler) + 1))[: size - len(value)]
    return padding + value if left else value + padding


def _split_part(text: Any, delimiter: Any, field: Any) -> str | None:
    if text is None or delimiter is None or field is None:
        return None
    parts = str(text).split(str(delimiter)) if delimiter != "" else [str(text)]
    index = int(field)
    if index == 0:
        raise ValueError("field position must not be zero")
    chosen = index - 1 if index > 0 else len(parts) + index
    return parts[chosen] if 0 <= chosen < len(parts) else ""


def _initcap(text: Any) -> str | None:
    if text is None:
        return None
    return _WORD.sub(lambda m: m.group(0)[:1].upper() + m.group(0)[1:].lower(), str(text))


def _repeat(limit: int, text: Any, count: Any) -> str | None:
    if text is None or count is None:
        return None
    times = max(int(count), 0)
    _bounded(len(str(text)) * times, limit)
    return str(text) * times


def _reverse(text: Any) -> str | None:
    return None if text is None else str(text)[::-1]


def _translate(text: Any, source: Any, target: Any) -> str | None:
    if text is None or source is None or target is None:
        return None
    old, new = str(source), str(target)
    table: dict[int, int | None] = {}
    for position, char in enumerate(old):
        if ord(char) not in table:
            table[ord(char)] = ord(new[position]) if position < len(new) else None
    return str(text).translate(table)


def _md5(text: Any) -> str | None:
    if text is None:
        return None
    data = text if isinstance(text, bytes) else str(text).encode()
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def _concat_ws(separator: Any, *values: Any) -> str | None:
    if separator is None:
        return None
    return str(separator).join(str(v) for v in values if v is not None)
