"""Reads: a `select=` tree resolved against the catalogue, run as one bounded query per
embed level, and assembled into PostgREST's JSON.

Resolving first (`plan`) checks every name, relation, cast and filter path before any
statement runs. Running (`run`) issues the table's query, then for each embed one query of
the embedded table restricted to the keys of the rows above (`IN (...)`, in chunks), so
each statement is a plain read of one table and row-level security applies to embedded
tables exactly as to the top one. `!inner` embeds filter the rows above with `EXISTS`.
All statements of a read must see one snapshot: if a write lands between them, the read
starts again (a few times, then the last answer stands).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.database import Result
from api.rest.ast import Column, Embed, OrderTerm, Path, ReadQuery, SelectItem, Star
from api.rest.build import (
    Params,
    cast_sql,
    condition_sql,
    field_sql,
    join_sql,
    keys_match_sql,
    label_of,
    quote,
    table_sql,
    where_sql,
)
from api.rest.errors import RestError
from api.rest.relations import Relation, find_relation
from api.sql import Catalog, TableDef

Runner = Callable[[str, list[Any]], Result]
"""Runs one read statement as the caller, under the request's deadline."""
KEY_CHUNK = 500
"""Parent keys per embedded query (SQLite binds at most 32766 values per statement)."""
RETRIES = 3
HIDDEN = "__rest_key_"


@dataclass
class Level:
    """One table of the tree: what it returns, how it attaches, what hangs below."""

    table: TableDef
    path: Path
    alias: str
    outputs: list[tuple[str, str]]
    relation: Relation | None = None
    embeds: list[tuple[str, Level]] = field(default_factory=list)
    inner: bool = False

    def needed_keys(self) -> list[str]:
        """Columns fetched besides the outputs: the ones the embeds below attach by, and the
        ones this level attaches to the level above by."""
        keys: list[str] = []
        for _, child in self.embeds:
            assert child.relation is not None
            keys.extend(child.relation.parent_columns)
        if self.relation is not None:
            keys.extend(self.relation.child_columns)
        return list(dict.fromkeys(keys))


@dataclass(frozen=True)
class Window:
    """Which rows of the top level: `offset`, at most `limit` (None: all)."""

    offset: int = 0
    limit: int | None = None


def plan(catalog: Catalog, table: TableDef, query: ReadQuery) -> Level:
    """The checked tree of a read; every condition, order and limit must name a level."""
    top = _level(catalog, table, query.select, (), None, "left")
    paths = {level.path for level in _walk(top)}
    for given in (query.conditions, query.order, query.limit, query.offset):
        for path in given:
            if path not in paths:
                raise RestError(
                    400,
                    "PGRST108",
                    f"'{'.'.join(path)}' is not an embedded resource in this request",
                    hint=f"Verify that '{'.'.join(path)}' is included in the 'select'"
                    " query parameter.",
                )
    for level in _walk(top):
        _check(level, query)
    return top


def _level(
    catalog: Catalog,
    table: TableDef,
    items: tuple[SelectItem, ...],
    path: Path,
    relation: Relation | None,
    join: str,
) -> Level:
    level = Level(table, path, f"t{len(path)}", [], relation, inner=join == "inner")
    for item in items:
        if isinstance(item, Star):
            level.outputs.extend(
                (c.name, f"{quote(level.alias)}.{quote(c.name)}") for c in table.columns
            )
        elif isinstance(item, Column):
            expr = cast_sql(field_sql(table, level.alias, item.field), item.cast)
            level.outputs.append((label_of(item.field, item.alias), expr))
        else:
            level.embeds.append((item.label, _embed(catalog, table, item, path)))
    return level


def _embed(catalog: Catalog, parent: TableDef, embed: Embed, path: Path) -> Level:
    relation = find_relation(catalog, parent, embed.name, embed.hint)
    return _level(catalog, relation.child, embed.items, (*path, embed.label), relation, embed.join)


def _walk(level: Level) -> list[Level]:
    return [level, *(found for _, child in level.embeds for found in _walk(child))]


def _check(level: Level, query: ReadQuery) -> None:
    """Build the level's conditions and order once, so that bad names fail before any
    statement runs."""
    _conditions(level, query, Params())
    _order(level, query.order.get(level.path, ()))


# -- SQL of one level ----------------------------------------------------------------------------


def _conditions(level: Level, query: ReadQuery, params: Params) -> list[str]:
    """The level's own filters, and an EXISTS for each `!inner` embed below it."""
    parts = [
        condition_sql(level.table, level.alias, c, params)
        for c in query.conditions.get(level.path, [])
    ]
    for _, child in level.embeds:
        if child.inner:
            parts.append(_exists(level, child, query, params))
    return parts


def _exists(parent: Level, child: Level, query: ReadQuery, params: Params) -> str:
    assert child.relation is not None
    relation = child.relation
    parts = [join_sql(child.alias, relation.child_columns, parent.alias, relation.parent_columns)]
    parts.extend(_conditions(child, query, params))
    return (
        f"EXISTS (SELECT 1 FROM {table_sql(child.table)} AS {quote(child.alias)}{where_sql(parts)})"
    )


def _order(level: Level, terms: tuple[OrderTerm, ...]) -> str:
    if not terms:
        return ""
    return " ORDER BY " + ", ".join(_order_term(level, t) for t in terms)


def _order_term(level: Level, term: OrderTerm) -> str:
    direction = " DESC" if term.descending else " ASC"
    nulls = f" NULLS {term.nulls.upper()}" if term.nulls else ""
    if term.relation is None:
        return field_sql(level.table, level.alias, term.field) + direction + nulls
    child = next((c for label, c in level.embeds if label == term.relation), None)
    if child is None or child.relation is None or not child.relation.to_one:
        raise RestError(
            400,
            "PGRST118",
            f"A related order on '{term.relation}' is not possible",
            "Only a to-one embedded resource of this request can order its parent.",
        )
    relation = child.relation
    match = join_sql(child.alias, relation.child_columns, level.alias, relation.parent_columns)
    value = field_sql(child.table, child.alias, term.field)
    scalar = f"(SELECT {value} FROM {table_sql(child.table)} AS {quote(child.alias)} WHERE {match})"
    return scalar + direction + nulls


def _select_list(level: Level) -> str:
    outputs = [f"{expr} AS {quote(label)}" for label, expr in level.outputs]
    outputs.extend(
        f"{quote(level.alias)}.{quote(key)} AS {quote(HIDDEN + key)}" for key in level.needed_keys()
    )
    return ", ".join(outputs) or "1"


def top_sql(level: Level, query: ReadQuery, window: Window) -> tuple[str, list[Any]]:
    """The top level's query."""
    params = Params()
    where = where_sql(_conditions(level, query, params))
    sql = (
        f"SELECT {_select_list(level)} FROM {table_sql(level.table)} AS {quote(level.alias)}{where}"
    )
    sql += _order(level, query.order.get((), ()))
    if window.limit is not None:
        sql += f" LIMIT {params.add(window.limit)}"
    if window.offset:
        sql += f" OFFSET {params.add(window.offset)}"
    return sql, params.values


def count_sql(level: Level, query: ReadQuery) -> tuple[str, list[Any]]:
    """How many rows the top level has without its window (`Prefer: count=exact`)."""
    params = Params()
    where = where_sql(_conditions(level, query, params))
    return (
        f"SELECT count(*) FROM {table_sql(level.table)} AS {quote(level.alias)}{where}",
        params.values,
    )


def _child_sql(
    child: Level, query: ReadQuery, keys: list[tuple[Any, ...]]
) -> tuple[str, list[Any]]:
    assert child.relation is not None
    params = Params()
    parts = [keys_match_sql(child.alias, child.relation.child_columns, keys, params)]
    parts.extend(_conditions(child, query, params))
    sql = f"SELECT {_select_list(child)} FROM {table_sql(child.table)} AS {quote(child.alias)}"
    return sql + where_sql(parts) + _order(child, query.order.get(child.path, ())), params.values


# -- running and assembling -----------------------------------------------------------------------


def run(
    run_sql: Runner, level: Level, query: ReadQuery, window: Window, count: bool
) -> tuple[list[dict[str, Any]], int | None]:
    """The rows of a read, and the total count when asked, from one snapshot."""
    for _ in range(RETRIES):
        lsns: set[int] = set()
        rows = _fetch(run_sql, level, query, *top_sql(level, query, window), lsns)
        total = None
        if count:
            result = run_sql(*count_sql(level, query))
            lsns.add(result.lsn)
            total = int(result.rows[0][0])
        if len(lsns) <= 1:
            break
    return [_visible(row) for row in rows], total


def _fetch(
    run_sql: Runner, level: Level, query: ReadQuery, sql: str, params: list[Any], lsns: set[int]
) -> list[dict[str, Any]]:
    result = run_sql(sql, params)
    lsns.add(result.lsn)
    rows = [dict(zip(result.columns, row, strict=True)) for row in result.rows]
    for label, child in level.embeds:
        _attach(run_sql, level, label, child, query, rows, lsns)
    return rows


def _attach(
    run_sql: Runner,
    parent: Level,
    label: str,
    child: Level,
    query: ReadQuery,
    rows: list[dict[str, Any]],
    lsns: set[int],
) -> None:
    """Fetch `child`'s rows for every row above and hang them under `label`."""
    assert child.relation is not None
    relation = child.relation
    parent_keys = [tuple(row[HIDDEN + c] for c in relation.parent_columns) for row in rows]
    wanted = sorted({k for k in parent_keys if None not in k}, key=repr)
    found: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for start in range(0, len(wanted), KEY_CHUNK):
        chunk = wanted[start : start + KEY_CHUNK]
        for row in _fetch(run_sql, child, query, *_child_sql(child, query, chunk), lsns):
            key = tuple(row[HIDDEN + c] for c in relation.child_columns)
            found.setdefault(key, []).append(row)
    offset = query.offset.get(child.path, 0)
    limit = query.limit.get(child.path)
    for row, key in zip(rows, parent_keys, strict=True):
        matches = found.get(key, [])[offset:]
        matches = matches if limit is None else matches[:limit]
        shown = [_visible(m) for m in matches]
        row[label] = (shown[0] if shown else None) if relation.to_one else shown


def _visible(row: dict[str, Any]) -> dict[str, Any]:
    """The row without the keys fetched only to attach embeds."""
    return {k: v for k, v in row.items() if not k.startswith(HIDDEN)}
