"""The answer of a write whose `select=` embeds related rows (`insert(...).select("*,
authors(name)")`): the write returns the primary keys of the rows it wrote, then the rows are
read back with their embeds, as the caller, right after the write committed.

PostgREST reads them inside the write's transaction; here the read is a separate snapshot
just after it, so a concurrent change in between shows. The tree is planned before the write,
so a bad embed refuses the request before anything is written.
"""

from __future__ import annotations

from typing import Any

from api.rest.ast import Embed, Field, Filter, OrderTerm, ReadQuery, SelectItem
from api.rest.build import quote
from api.rest.call import Call
from api.rest.errors import RestError
from api.rest.read import Level, Window, plan
from api.sql import TableDef

CHUNK = 1000
"""Keys read back per query (each is a bound value)."""


def has_embeds(select: tuple[SelectItem, ...]) -> bool:
    return any(isinstance(item, Embed) for item in select)


def key_of(table: TableDef) -> str:
    """The one primary-key column the rows are read back by."""
    keys = table.primary_key()
    if len(keys) != 1:
        raise RestError(
            400,
            "PGRST100",
            "embedded resources in a write's answer need a one-column primary key",
            f"{table.short_name} has {len(keys)} primary-key columns",
        )
    return keys[0]


def key_returning(table: TableDef) -> str:
    return f" RETURNING {quote(key_of(table))}"


def checked(call: Call, table: TableDef, select: tuple[SelectItem, ...]) -> Level:
    """The read-back tree, planned (and so checked) before the write runs."""
    return plan(call.catalog, table, ReadQuery(select=select))


async def read_back(
    call: Call, table: TableDef, select: tuple[SelectItem, ...], written: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The written rows with their embeds, in primary-key order."""
    key = key_of(table)
    values = sorted({row[key] for row in written}, key=repr)
    found: list[dict[str, Any]] = []
    for start in range(0, len(values), CHUNK):
        chunk = tuple(str(v) for v in values[start : start + CHUNK])
        query = ReadQuery(
            select=select,
            conditions={(): [Filter(Field(key), "in", values=chunk)]},
            order={(): (OrderTerm(Field(key)),)},
        )
        rows, _ = await call.read(plan(call.catalog, table, query), query, Window(), False)
        found.extend(rows)
    return found
