"""Rows as the bytes PostgREST sends: a JSON array, one JSON object, or CSV."""

from __future__ import annotations

import csv
import io
from typing import Any

import msgspec

from api.rest.headers import CSV, OBJECT


def encode_rows(rows: list[dict[str, Any]], media: str, strip_nulls: bool = False) -> bytes:
    """The body; `strip_nulls` (`Accept: ...;nulls=stripped`) drops null-valued keys of
    JSON objects at every depth, as PostgREST's `json_strip_nulls` does."""
    if strip_nulls and media != CSV:
        rows = [_stripped(row) for row in rows]
    if media == OBJECT:
        return msgspec.json.encode(rows[0])
    if media == CSV:
        return _csv(rows)
    return msgspec.json.encode(rows)


def _stripped(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _stripped(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_stripped(v) for v in value]
    return value


def _csv(rows: list[dict[str, Any]]) -> bytes:
    """A header line and one line per row; NULL is empty, JSON values are JSON text."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if rows:
        writer.writerow(rows[0].keys())
    for row in rows:
        writer.writerow(_cell(v) for v in row.values())
    return out.getvalue().encode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return msgspec.json.encode(value).decode()
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)
