"""Fetching a statement's rows without holding more than the response may carry.

Rows are fetched in chunks and counted (rows, and bytes approximately: the length of each
text or blob, 8 per other value) as they arrive; once either limit is passed the statement
is abandoned with `LimitExceededError` naming the limit, so memory never holds more than
the limit plus one chunk, whatever the statement would have returned.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from api.sql.errors import LimitExceededError

CHUNK_ROWS = 256


@dataclass(frozen=True)
class ResultLimits:
    """The most one statement may return (None: unbounded)."""

    max_rows: int | None = None
    max_bytes: int | None = None


UNLIMITED = ResultLimits()


def fetch_bounded(cursor: sqlite3.Cursor, limits: ResultLimits) -> list[tuple[Any, ...]]:
    """Every row of `cursor`, or `LimitExceededError` as soon as there are too many."""
    if limits.max_rows is None and limits.max_bytes is None:
        return cursor.fetchall()
    max_rows = limits.max_rows if limits.max_rows is not None else float("inf")
    max_bytes = limits.max_bytes if limits.max_bytes is not None else float("inf")
    rows: list[tuple[Any, ...]] = []
    size = 0
    while chunk := cursor.fetchmany(CHUNK_ROWS):
        rows.extend(chunk)
        size += sum(_value_bytes(value) for row in chunk for value in row)
        if len(rows) > max_rows or size > max_bytes:
            cursor.close()  # reset the statement: it must not outlive the request
            if len(rows) > max_rows:
                raise _exceeded("max_result_rows", limits.max_rows, "rows")
            raise _exceeded("max_result_bytes", limits.max_bytes, "bytes")
    return rows


def _value_bytes(value: Any) -> int:
    return len(value) if isinstance(value, str | bytes) else 8


def _exceeded(name: str, value: int | None, unit: str) -> LimitExceededError:
    return LimitExceededError(
        f"the result is larger than {value} {unit} ({name}); select fewer rows or columns,"
        " or page with LIMIT",
        {"limit": name, "value": value},
    )
