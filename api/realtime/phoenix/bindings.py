"""A join's ``config.postgres_changes``: which changes a channel wants, and their ids.

Each binding names an event (``*``, ``INSERT``, ``UPDATE``, ``DELETE``), a schema (the
namespace; Supabase's clients default to ``public``), optionally a table (none or ``*``:
every table of the schema) and a filter ``column=op.value`` with op one of ``eq``, ``neq``,
``lt``, ``lte``, ``gt``, ``gte``, ``in`` (``in.(a,b)``). The join's reply echoes each binding
with a server id; every change message names the ids of the bindings it matched. A filter is
evaluated on the row as clients see it (the new row; a deletion's old row), its literal read
as the type of the row's value, as Postgres would cast it; a null never matches. One
condition per binding: Supabase's comma-separated conjunctions are refused, not misread.
"""

from __future__ import annotations

import operator
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from api.realtime.errors import SubscriptionError

MAX_BINDINGS = 100
EVENTS: dict[str, tuple[str, ...]] = {
    "*": ("insert", "update", "delete"),
    "INSERT": ("insert",),
    "UPDATE": ("update",),
    "DELETE": ("delete",),
}
DEFAULT_SCHEMA = "public"
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "neq": operator.ne,
    "lt": operator.lt,
    "lte": operator.le,
    "gt": operator.gt,
    "gte": operator.ge,
}


@dataclass(frozen=True, slots=True)
class Filter:
    """``column=op.value``: `values` holds one literal, or several for ``in``."""

    column: str
    op: str
    values: tuple[str, ...]

    def matches(self, row: Mapping[str, Any] | None) -> bool:
        if row is None or self.column not in row:
            return False
        value = row[self.column]
        if value is None:
            return False
        try:
            literals = [_cast(text, value) for text in self.values]
            if self.op == "in":
                return value in literals
            return _COMPARE[self.op](value, literals[0])
        except (TypeError, ValueError):
            return False


@dataclass(frozen=True, slots=True)
class Binding:
    """One binding: the changes it matches and the id the server gave it."""

    id: int
    ops: tuple[str, ...]
    schema: str
    table: str | None
    filter: Filter | None
    echo: dict[str, Any]

    @property
    def qualified(self) -> str | None:
        return None if self.table is None else f"{self.schema}.{self.table}"

    def matches(self, table: str, op: str, row: Mapping[str, Any] | None) -> bool:
        """Whether a change of `table` (qualified) by `op` with `row` is this binding's."""
        if op not in self.ops:
            return False
        schema, _, name = table.partition(".")
        if schema != self.schema or (self.table is not None and name != self.table):
            return False
        return self.filter is None or self.filter.matches(row)


def parse_bindings(raw: Any) -> list[Binding]:
    """The bindings of a join's config; SubscriptionError for a malformed one."""
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_BINDINGS:
        raise SubscriptionError(f"postgres_changes must be a list of at most {MAX_BINDINGS}")
    return [_binding(item) for item in raw if item is not None]


def _binding(item: Any) -> Binding:
    if not isinstance(item, dict):
        raise SubscriptionError("each postgres_changes binding is an object")
    event = item.get("event", "*")
    if event not in EVENTS:
        raise SubscriptionError(f"event must be one of *, INSERT, UPDATE, DELETE; got {event!r}")
    schema = item.get("schema") or DEFAULT_SCHEMA
    table = item.get("table")
    flt = item.get("filter")
    if not isinstance(schema, str) or not isinstance(table, str | None):
        raise SubscriptionError("schema and table must be strings")
    if flt is not None and not isinstance(flt, str):
        raise SubscriptionError("filter must be a string column=op.value")
    echo = {k: item[k] for k in ("event", "schema", "table", "filter") if k in item}
    return Binding(
        id=_binding_id(echo),
        ops=EVENTS[event],
        schema=schema,
        table=None if table in (None, "*") else table,
        filter=parse_filter(flt) if flt else None,
        echo=echo,
    )


def parse_filter(text: str) -> Filter:
    """``column=op.value`` (``in.(a,b,c)`` for in); SubscriptionError otherwise."""
    column, eq, rest = text.partition("=")
    op, dot, literal = rest.partition(".")
    if not eq or not dot or not column or (op not in _COMPARE and op != "in"):
        raise SubscriptionError(
            f"filter {text!r} is not column=op.value with op one of eq, neq, lt, lte, gt, gte, in"
        )
    if op != "in":
        if "," in literal:
            raise SubscriptionError(f"filter {text!r}: one condition per binding")
        return Filter(column, op, (literal,))
    if not (literal.startswith("(") and literal.endswith(")")):
        raise SubscriptionError(f"filter {text!r}: in takes a list, in.(a,b)")
    items = tuple(part.strip().strip('"') for part in literal[1:-1].split(","))
    return Filter(column, op, items)


def _cast(text: str, like: Any) -> Any:
    """The literal as the type of the row's value."""
    if isinstance(like, bool):
        lowered = text.lower()
        if lowered in ("true", "t"):
            return True
        if lowered in ("false", "f"):
            return False
        raise ValueError(text)
    if isinstance(like, int):
        return int(text)
    if isinstance(like, float):
        return float(text)
    if isinstance(like, str):
        return text
    raise TypeError(type(like).__name__)


def _binding_id(echo: dict[str, Any]) -> int:
    """A stable id of a binding's parameters (equal bindings share it, as in Supabase);
    never 0, which clients read as "no id"."""
    return zlib.crc32(msgspec.json.encode(sorted(echo.items()))) % 0x7FFFFFF + 1
