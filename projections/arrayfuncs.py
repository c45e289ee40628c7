"""Postgres arrays over JSON, registered on every projection connection.

An array value (a ``text[]``/``int[]`` column, ``ARRAY[...]``, ``'{a,b}'::text[]``,
``array_agg``) is stored as the text of a one-dimensional JSON array, so SQLite's own JSON
functions read it too. These functions give Postgres' array operations on that form:
``_bkg_array_in`` (Postgres' ``{a,"b c",NULL}`` literal, or JSON, into the stored form),
``_bkg_array_get`` (a subscript), ``_bkg_array_contains`` (``@>``; ``<@`` with the
arguments swapped), ``_bkg_array_overlap`` (``&&``) and ``array_length``, ``cardinality``,
``array_append``, ``array_prepend``, ``array_cat``, ``array_remove``, ``array_position``,
``array_to_string`` and ``string_to_array``. Each is linear in its input (containment
hashes one side) and pure.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from projections.bounds import Refusal, record_refusal, refusing

ARRAY_IN_FUNCTION = "_bkg_array_in"
ARRAY_GET_FUNCTION = "_bkg_array_get"
CONTAINS_FUNCTION = "_bkg_array_contains"
OVERLAP_FUNCTION = "_bkg_array_overlap"
CONTAINMENT_WORK = 1_000_000
"""The most element comparisons one jsonb containment test may make (objects and arrays
inside arrays are compared pairwise; scalars are hashed)."""
ANY_FUNCTION = "_bkg_array_any"
ARRAY_FUNCTIONS = (
    ANY_FUNCTION,
    ARRAY_IN_FUNCTION,
    ARRAY_GET_FUNCTION,
    CONTAINS_FUNCTION,
    OVERLAP_FUNCTION,
    "array_length",
    "cardinality",
    "array_append",
    "array_prepend",
    "array_cat",
    "array_remove",
    "array_position",
    "array_to_string",
    "string_to_array",
)


def register(conn: sqlite3.Connection) -> None:
    """Register the functions on ``conn``."""
    for name, count, function in (
        (ARRAY_IN_FUNCTION, 2, array_in),
        (ARRAY_GET_FUNCTION, 2, _get),
        (CONTAINS_FUNCTION, 2, _contains),
        (OVERLAP_FUNCTION, 2, _overlap),
        (ANY_FUNCTION, 2, _any),
        ("array_length", 2, _length),
        ("cardinality", 1, _cardinality),
        ("array_append", 2, _append),
        ("array_prepend", 2, _prepend),
        ("array_cat", 2, _cat),
        ("array_remove", 2, _remove),
        ("array_position", 2, _position),
        ("array_to_string", 2, _to_string),
        ("array_to_string", 3, _to_string),
        ("string_to_array", 2, _from_string),
    ):
        conn.create_function(name, count, refusing(function), deterministic=True)


def _malformed(text: str) -> ValueError:
    message = f'malformed array literal: "{text[:60]}"'
    record_refusal(Refusal(None, 0, message, "22P02"))
    return ValueError(message)


def array_in(value: Any, kind: Any) -> str | None:
    """An array literal in the stored form; ``kind`` (``int``, ``float``, ``bool``, else
    text) converts the elements of a ``{...}`` literal."""
    if value is None:
        return None
    text = str(value).strip()
    if text.startswith("["):
        items = json.loads(text)
        if not isinstance(items, list):
            raise _malformed(text)
        return json.dumps(items, separators=(",", ":"))
    items = [_element(item, str(kind)) for item in _parse(text)]
    return json.dumps(items, separators=(",", ":"))


def _parse(text: str) -> list[str | None]:
    """The elements of a one-dimensional ``{...}`` literal (quotes and backslashes honoured,
    unquoted ``NULL`` is NULL)."""
    if not (text.startswith("{") and text.endswith("}")):
        raise _malformed(text)
    inner = text[1:-1]
    if not inner.strip():
        return []
    items: list[str | None] = []
    index = 0
    while True:
        while index < len(inner) and inner[index].isspace():
            index += 1
        if index < len(inner) and inner[index] == '"':
            value, index = _quoted(inner, index + 1, text)
            items.append(value)
        else:
            end = inner.find(",", index)
            end = len(inner) if end < 0 else end
            raw = inner[index:end].strip()
            if not raw or any(c in raw for c in '{}"'):
                raise _malformed(text)
            items.append(None if raw.upper() == "NULL" else raw.replace("\\", ""))
            index = end
        while index < len(inner) and inner[index].isspace():
            index += 1
        if index >= len(inner):
            return items
        if inner[index] != ",":
            raise _malformed(text)
        index += 1


def _quoted(inner: str, index: int, text: str) -> tuple[str, int]:
    out: list[str] = []
    while index < len(inner):
        char = inner[index]
        if char == "\\" and index + 1 < len(inner):
            out.append(inner[index + 1])
            index += 2
        elif char == '"':
            return "".join(out), index + 1
        else:
            out.append(char)
            index += 1
    raise _malformed(text)


def _element(item: str | None, kind: str) -> Any:
    if item is None:
        return None
    try:
        if kind == "int":
            return int(item)
        if kind == "float":
            return float(item)
    except ValueError:
        message = f'invalid input syntax for type {kind}: "{item[:40]}"'
        record_refusal(Refusal(None, 0, message, "22P02"))
        raise
    if kind == "bool":
        return item.lower() in ("t", "true", "y", "yes", "on", "1")
    return item


def _items(value: Any) -> list[Any] | None:
    if value is None:
        return None
    items = json.loads(value) if isinstance(value, str) else value
    if not isinstance(items, list):
        raise _malformed(str(value))
    return items


def _dump(items: list[Any]) -> str:
    return json.dumps(items, separators=(",", ":"))


def _sql(item: Any) -> Any:
    """An element as an SQL value (nested arrays and objects as JSON text)."""
    if isinstance(item, bool):
        return int(item)
    if isinstance(item, list | dict):
        return _dump(item) if isinstance(item, list) else json.dumps(item)
    return item


def _get(value: Any, index: Any) -> Any:
    """``a[i]`` (1-based; NULL outside the array)."""
    items = _items(value)
    if items is None or index is None:
        return None
    position = int(index)
    return _sql(items[position - 1]) if 1 <= position <= len(items) else None


def _key(item: Any) -> str:
    return json.dumps(item, sort_keys=True)


def _contains(left: Any, right: Any) -> int | None:
    """``left @> right``. Arrays of scalars: every element of ``right`` is in ``left`` (NULL
    elements never match, as in Postgres' arrays). Anything else is jsonb containment, as
    Postgres defines it: an object contains an object whose every key it has with a
    contained value; an array contains an array whose every element one of its elements
    contains (and, at the top, a scalar it holds); scalars contain equal scalars."""
    if left is None or right is None:
        return None
    outer = json.loads(left) if isinstance(left, str) else left
    inner = json.loads(right) if isinstance(right, str) else right
    if isinstance(outer, list) and not isinstance(inner, list | dict):
        inner = [inner]
    if _flat(outer) and _flat(inner):
        present = {_key(item) for item in outer if item is not None}
        return int(all(item is not None and _key(item) in present for item in inner))
    return int(_json_contains(outer, inner, [CONTAINMENT_WORK]))


def _flat(value: Any) -> bool:
    return isinstance(value, list) and not any(isinstance(i, list | dict) for i in value)


def _json_contains(outer: Any, inner: Any, budget: list[int]) -> bool:
    budget[0] -= 1
    if budget[0] < 0:
        message = "jsonb containment needs too many comparisons"
        record_refusal(Refusal(None, 0, message, "54000"))
        raise ValueError(message)
    if isinstance(outer, dict):
        return isinstance(inner, dict) and all(
            key in outer and _json_contains(outer[key], value, budget)
            for key, value in inner.items()
        )
    if isinstance(outer, list):
        if not isinstance(inner, list):
            return False
        scalars = {_key(item) for item in outer if not isinstance(item, list | dict)}
        containers = [item for item in outer if isinstance(item, list | dict)]
        return all(
            _key(item) in scalars
            if not isinstance(item, list | dict)
            else any(_json_contains(c, item, budget) for c in containers)
            for item in inner
        )
    return not isinstance(inner, list | dict) and _key(outer) == _key(inner)


def _any(value: Any, item: Any) -> int | None:
    """``item = ANY(value)``: 1 if an element equals ``item``, else NULL if ``item`` or an
    element is NULL, else 0 (SQL's three-valued IN)."""
    items = _items(value)
    if items is None:
        return None
    if not items:
        return 0
    if item is None:
        return None
    if any(x is not None and _sql(x) == item and _same_kind(_sql(x), item) for x in items):
        return 1
    return None if any(x is None for x in items) else 0


def _same_kind(left: Any, right: Any) -> bool:
    """Numbers compare with numbers and text with text, as SQLite's IN does without
    affinity."""
    return isinstance(left, str) == isinstance(right, str)


def _overlap(left: Any, right: Any) -> int | None:
    """``left && right``: an element in common."""
    one, other = _items(left), _items(right)
    if one is None or other is None:
        return None
    present = {_key(item) for item in one if item is not None}
    return int(any(item is not None and _key(item) in present for item in other))


def _length(value: Any, dimension: Any) -> int | None:
    """array_length(a, 1): NULL for an empty array, as in Postgres."""
    items = _items(value)
    if items is None or dimension is None or int(dimension) != 1 or not items:
        return None
    return len(items)


def _cardinality(value: Any) -> int | None:
    items = _items(value)
    return None if items is None else len(items)


def _append(value: Any, item: Any) -> str | None:
    items = _items(value)
    return _dump([*(items or []), item])


def _prepend(item: Any, value: Any) -> str | None:
    items = _items(value)
    return _dump([item, *(items or [])])


def _cat(left: Any, right: Any) -> str | None:
    one, other = _items(left), _items(right)
    if one is None and other is None:
        return None
    return _dump([*(one or []), *(other or [])])


def _remove(value: Any, item: Any) -> str | None:
    items = _items(value)
    if items is None:
        return None
    return _dump([x for x in items if x != item or (item is None and x is not None)])


def _position(value: Any, item: Any) -> int | None:
    items = _items(value)
    if items is None:
        return None
    for index, candidate in enumerate(items, 1):
        if candidate == item and not isinstance(candidate, bool):
            return index
    return None


def _to_string(value: Any, separator: Any, null: Any = None) -> str | None:
    """array_to_string(a, sep [, null_text]): NULL elements skipped unless ``null_text``."""
    items = _items(value)
    if items is None or separator is None:
        return None
    parts = [_text(x) if x is not None else null for x in items]
    return str(separator).join(p for p in parts if p is not None)


def _text(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    return _dump(item) if isinstance(item, list) else str(item)


def _from_string(text: Any, separator: Any) -> str | None:
    """string_to_array(s, sep): NULL separator splits into characters."""
    if text is None:
        return None
    value = str(text)
    if value == "":
        return _dump([])
    if separator is None:
        return _dump(list(value))
    if separator == "":
        return _dump([value])
    return _dump(value.split(str(separator)))
