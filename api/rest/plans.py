"""Read plans remembered per query-string shape.

Parsing a read's query string and planning it against the catalogue cost a point read
about as much as its statement, and the query strings of a client's point reads differ
only in their values (`id=eq.5`, `id=eq.6`). So a read's parsed query and plan are
remembered under its shape: the catalogue token (any DDL changes it), the table, and each
parameter as sent, except that the value of a plain comparison (`eq`, `neq`, `gt`, `gte`,
`lt`, `lte`, `like`, `ilike`, also after `not.`) on a plain column name is cut off. A
request of a known shape gets the remembered plan and a copy of the remembered query with
its own values in those filters. Values are checked when the statement is built (on the
reader thread, before it runs) with the same function and errors as planning, so a bad
value is refused as before; nothing about who may read what is decided here (the
caller's namespace and row-level security apply when the statement runs).
"""

from __future__ import annotations

import dataclasses
import re

from api.rest.ast import Filter, ReadQuery
from api.rest.grammar import LOGIC_KEYS, RESERVED, parse_query
from api.rest.read import Level, plan
from api.sql import Catalog, TableDef
from api.sql.lru import Memo

MAX_REMEMBERED = 1024
MAX_PARAMS = 16
"""Query strings with more parameters are planned every time (and not remembered)."""
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_COMPARISON = re.compile(r"(?:not\.)?(?:eq|neq|gt|gte|lt|lte|like|ilike)\.")
Params = list[tuple[str, str]]
Shape = tuple[str, str, tuple[tuple[str, str], ...]]


@dataclasses.dataclass(frozen=True)
class _Plan:
    query: ReadQuery
    level: Level
    slots: tuple[int, ...]
    """Where in the table's own conditions the filters with a value of their own are."""

    def with_values(self, values: list[str]) -> ReadQuery:
        """The remembered query with `values` in its filters (the rest is shared: nothing
        changes a query once parsed)."""
        if not values:
            return self.query
        conditions = dict(self.query.conditions)
        own = list(conditions[()])
        for slot, value in zip(self.slots, values, strict=True):
            remembered = own[slot]
            assert isinstance(remembered, Filter)
            own[slot] = dataclasses.replace(remembered, value=value)
        conditions[()] = own
        return dataclasses.replace(self.query, conditions=conditions)


class ReadPlans:
    """`planned(catalog, table, params)`: the parsed query and its plan, remembered."""

    def __init__(self) -> None:
        self._plans: Memo[Shape, _Plan] = Memo(MAX_REMEMBERED)

    def planned(self, catalog: Catalog, table: TableDef, params: Params) -> tuple[ReadQuery, Level]:
        """What `parse_query` and `read.plan` make of `params` (raising what they raise)."""
        if len(params) > MAX_PARAMS:
            query = parse_query(params)
            return query, plan(catalog, table, query)
        shape, values = _shape(params)
        key = (catalog.token, table.name, shape)
        found = self._plans.get(key)
        if found is not None:
            return found.with_values(values), found.level
        query = parse_query(params)
        level = plan(catalog, table, query)
        self._plans.put(key, _Plan(query, level, _slots(params)))
        return query, level


def _shape(params: Params) -> tuple[tuple[tuple[str, str], ...], list[str]]:
    """Each parameter with a plain comparison's value cut off, and the values cut off."""
    shape: list[tuple[str, str]] = []
    values: list[str] = []
    for key, value in params:
        cut = _comparison(key, value)
        if cut is None:
            shape.append((key, value))
        else:
            shape.append((key, value[:cut]))
            values.append(value[cut:])
    return tuple(shape), values


def _comparison(key: str, value: str) -> int | None:
    """Where the value of a plain comparison on a plain column name starts, else None."""
    if key in RESERVED or key in LOGIC_KEYS or not _PLAIN_NAME.fullmatch(key):
        return None
    found = _COMPARISON.match(value)
    return found.end() if found else None


def _slots(params: Params) -> tuple[int, ...]:
    """The position of each plain comparison among the table's own conditions: each
    parameter that is a condition of the table itself adds one, in order."""
    slots: list[int] = []
    position = 0
    for key, value in params:
        if _comparison(key, value) is not None:
            slots.append(position)
        position += len(parse_query([(key, value)]).conditions.get((), ()))
    return tuple(slots)
