"""jsonb functions and operators SQLite lacks, registered on every projection connection:
``jsonb_set``, ``jsonb_strip_nulls`` and the ``||`` (concatenation) and ``-`` (key or element
removal) of two jsonb values, with Postgres's semantics: ``||`` merges two objects shallowly
(the right one wins), joins two arrays, and wraps a non-array operand in an array; ``-``
removes a key (or string element) or the element at an index. Values are JSON text in and
out; input sizes are bounded by the projection's length limit like any value."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from projections.bounds import refusing

CONCAT_FUNCTION = "_bkg_jsonb_concat"
DELETE_FUNCTION = "_bkg_jsonb_delete"
JSON_FUNCTIONS = ("jsonb_set", "jsonb_strip_nulls", CONCAT_FUNCTION, DELETE_FUNCTION)


def register(conn: sqlite3.Connection) -> None:
    """Register the functions on ``conn``."""
    conn.create_function("jsonb_set", 3, refusing(_set), deterministic=True)
    conn.create_function("jsonb_set", 4, refusing(_set), deterministic=True)
    conn.create_function("jsonb_strip_nulls", 1, refusing(_strip_nulls), deterministic=True)
    conn.create_function(CONCAT_FUNCTION, 2, refusing(_concat), deterministic=True)
    conn.create_function(DELETE_FUNCTION, 2, refusing(_delete), deterministic=True)


def _load(text: Any) -> Any:
    return json.loads(text) if isinstance(text, str) else text


def _dump(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _concat(left: Any, right: Any) -> str | None:
    if left is None or right is None:
        return None
    a, b = _load(left), _load(right)
    if isinstance(a, dict) and isinstance(b, dict):
        return _dump({**a, **b})
    return _dump((a if isinstance(a, list) else [a]) + (b if isinstance(b, list) else [b]))


def _delete(value: Any, key: Any) -> str | None:
    if value is None or key is None:
        return None
    document = _load(value)
    if isinstance(document, dict) and isinstance(key, str):
        return _dump({k: v for k, v in document.items() if k != key})
    if isinstance(document, list) and isinstance(key, str):
        return _dump([v for v in document if v != key])
    if isinstance(document, list) and isinstance(key, int):
        index = key if key >= 0 else len(document) + key
        return _dump([v for i, v in enumerate(document) if i != index])
    return _dump(document)


def _set(value: Any, path: Any, new: Any, create: Any = 1) -> str | None:
    if value is None or path is None or new is None:
        return None
    document = _load(value)
    steps = [p.strip().strip('"') for p in str(path).strip().strip("{}").split(",") if p.strip()]
    if not steps:
        return _dump(document)
    parent = document
    for step in steps[:-1]:
        parent = _child(parent, step)
        if parent is None:
            return _dump(document)
    last = steps[-1]
    replacement = _load(new)
    if isinstance(parent, dict) and (last in parent or create):
        parent[last] = replacement
    elif isinstance(parent, list) and last.lstrip("-").isdigit():
        index = int(last)
        if -len(parent) <= index < len(parent):
            parent[index] = replacement
        elif create:
            parent.insert(0 if index < 0 else len(parent), replacement)
    return _dump(document)


def _child(parent: Any, step: str) -> Any:
    if isinstance(parent, dict):
        return parent.get(step)
    if isinstance(parent, list) and step.lstrip("-").isdigit():
        index = int(step)
        return parent[index] if -len(parent) <= index < len(parent) else None
    return None


def _strip_nulls(value: Any) -> str | None:
    if value is None:
        return None
    return _dump(_without_nulls(_load(value)))


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(v) for v in value]
    return value
