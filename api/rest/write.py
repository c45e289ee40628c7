"""Writes: POST (insert, upsert), PUT (one-row upsert), PATCH (update), DELETE.

A request's statements run as one batch on the commit pipeline: one transaction, one log
record (none when nothing changed), under the caller's deadline, with the caller's
row-level security. What must hold of the outcome before anything is logged is checked by
the batch's `verify` hook, so a refused request changes nothing: `Prefer: tx=rollback`
(the answer is computed, then thrown away), `max-affected` (PGRST124) and a single object
asked for with `Accept: application/vnd.pgrst.object+json` (PGRST116).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.response.base import ASGIResponse
from litestar.types import ASGIApp

from api.rest import represent
from api.rest.ast import Column, Filter, ReadQuery, Star
from api.rest.build import (
    Params,
    cast_sql,
    column,
    condition_sql,
    field_sql,
    label_of,
    quote,
    table_sql,
    where_sql,
)
from api.rest.call import Call, respond_rows
from api.rest.errors import RestError
from api.rest.headers import OBJECT, negotiate
from api.sql import TableDef
from api.sql.engine import Outcome

MAX_BOUND = 8_000
"""Values bound per INSERT statement: each costs about two tokens of the SQL layer's 32,768
per statement (`api/sql/limits.py`); larger bodies are split into several statements of the
same batch (one transaction, one record)."""


class RolledBackError(Exception):
    """`Prefer: tx=rollback`: the outcomes to answer with, nothing logged."""

    def __init__(self, outcomes: list[Outcome]) -> None:
        super().__init__("rolled back as the request preferred")
        self.outcomes = outcomes


async def handle(call: Call, name: str) -> ASGIApp:
    """Run one write request and answer it as PostgREST does."""
    request = call.request
    table = call.table(name)
    query = call.query()
    media = negotiate(call.headers.get("accept"))
    if any(path for path in query.conditions) or query.order.keys() - {()}:
        raise RestError(400, "PGRST108", "filters on embedded resources are for reads")
    embeds = _wants_rows(call) and represent.has_embeds(query.select)
    if embeds:
        represent.checked(call, table, query.select)
        returning = represent.key_returning(table)
    else:
        returning = _returning(table, query) if _wants_rows(call) else ""
    statements = await _statements(call, table, query, returning)
    outcomes, committed = await _run(call, statements, media, bool(returning))
    rows = [dict(zip(o.columns, r, strict=True)) for o in outcomes for r in o.rows]
    if embeds and committed and rows:
        rows = await represent.read_back(call, table, query.select, rows)
    affected = sum(o.rowcount for o in outcomes)
    status = 201 if request.method == "POST" else 200
    if call.prefer.get("return") == "representation":
        return respond_rows(
            call, media, rows, affected if call.prefer.get("count") else None, 0, status=status
        )
    headers = {"Content-Range": f"*/{affected if call.prefer.get('count') else '*'}"}
    if call.prefer.values:
        headers["Preference-Applied"] = call.prefer.applied()
    if request.method == "POST" and call.prefer.get("return") == "headers-only" and rows:
        headers["Location"] = _location(table, rows[0])
    return ASGIResponse(
        body=b"", status_code=201 if request.method == "POST" else 204, headers=headers
    )


def _wants_rows(call: Call) -> bool:
    wanted = call.prefer.get("return")
    return wanted == "representation" or (
        wanted == "headers-only" and call.request.method == "POST"
    )


async def _statements(
    call: Call, table: TableDef, query: ReadQuery, returning: str
) -> list[tuple[str, list[Any]]]:
    method = call.request.method
    if method == "DELETE":
        return [_delete(table, query, returning)]
    body = await _body(call)
    if method == "PATCH":
        if not isinstance(body, dict):
            raise RestError(400, "PGRST102", "Empty or invalid json", "PATCH takes one JSON object")
        return [_update(table, query, body, returning)] if body else []
    rows = body if isinstance(body, list) else [body]
    if not rows or not all(isinstance(r, dict) for r in rows):
        raise RestError(
            400, "PGRST102", "Empty or invalid json", "expected an object or an array of objects"
        )
    if method == "PUT":
        return [_put(table, query, rows, returning)]
    return _inserts(call, table, query, rows, returning)


async def _body(call: Call) -> Any:
    raw = await call.request.body()
    try:
        return msgspec.json.decode(raw)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise RestError(400, "PGRST102", "Empty or invalid json", str(exc)) from exc


async def _run(
    call: Call, statements: list[tuple[str, list[Any]]], media: str, returns: bool
) -> tuple[list[Outcome], bool]:
    """The batch on the commit pipeline, and whether it committed; `verify` refuses it
    before it is logged."""
    prefer = call.prefer

    def verify(outcomes: list[Outcome]) -> None:
        affected = sum(o.rowcount for o in outcomes)
        if prefer.max_affected is not None and affected > prefer.max_affected:
            raise RestError(
                400,
                "PGRST124",
                "Query result exceeds max-affected preference constraint",
                f"The query affects {affected} rows",
            )
        if media == OBJECT and returns and affected != 1:
            raise RestError(
                406,
                "PGRST116",
                "JSON object requested, multiple (or no) rows returned",
                f"The result contains {affected} rows",
            )
        if prefer.get("tx") == "rollback":
            raise RolledBackError(outcomes)

    if not statements:
        return [], True
    deadline = call.backend.deadline(call.principal)
    db = call.backend.db
    try:
        batch = await db.write_async(statements, call.principal, deadline=deadline, verify=verify)
    except RolledBackError as rolled:
        return rolled.outcomes, False
    return [Outcome(r.columns, r.rows, r.rowcount) for r in batch.results], True


# -- SQL of each method ---------------------------------------------------------------------------


def _returning(table: TableDef, query: ReadQuery) -> str:
    """` RETURNING ...` for the `select=` of a write without embeds."""
    outputs: list[str] = []
    for item in query.select:
        if isinstance(item, Star):
            outputs.extend(quote(c.name) for c in table.columns)
        elif isinstance(item, Column):
            expr = cast_sql(field_sql(table, None, item.field), item.cast)
            outputs.append(f"{expr} AS {quote(label_of(item.field, item.alias))}")
    return " RETURNING " + ", ".join(outputs)


def _value(value: Any) -> Any:
    """A JSON value as a bound parameter: objects and arrays as JSON text."""
    return msgspec.json.encode(value).decode() if isinstance(value, dict | list) else value


def _columns(
    call: Call, table: TableDef, query: ReadQuery, rows: list[dict[str, Any]]
) -> list[str]:
    """The columns written: `columns=`, else the keys every object must share (PGRST102),
    or with `missing=default` the keys of any object."""
    if query.columns is not None:
        names = list(query.columns)
    elif call.prefer.get("missing") == "default":
        names = list(dict.fromkeys(name for row in rows for name in row))
    else:
        names = list(rows[0])
        first = set(names)
        if any(set(r) != first for r in rows[1:]):
            raise RestError(400, "PGRST102", "All object keys must match")
    for name in names:
        if next((c for c in table.columns if c.name == name), None) is None:
            raise RestError(
                400,
                "PGRST204",
                f"Could not find the '{name}' column of '{table.short_name}' in the schema cache",
            )
    return names


def _inserts(
    call: Call, table: TableDef, query: ReadQuery, rows: list[dict[str, Any]], returning: str
) -> list[tuple[str, list[Any]]]:
    """INSERTs of the rows (grouped by the keys they carry when `missing=default`, so that
    absent columns take their defaults), split to bound the values per statement."""
    names = _columns(call, table, query, rows)
    conflict = _conflict(call, table, query, names)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        present = (
            tuple(n for n in names if n in row)
            if call.prefer.get("missing") == "default"
            else tuple(names)
        )
        groups.setdefault(present, []).append(row)
    statements = []
    for present, members in groups.items():
        per = max(1, MAX_BOUND // (len(present) + 1))
        for start in range(0, len(members), per):
            statements.append(
                _insert(table, present, members[start : start + per], conflict, returning)
            )
    return statements


def _insert(
    table: TableDef,
    names: tuple[str, ...],
    rows: list[dict[str, Any]],
    conflict: str,
    returning: str,
) -> tuple[str, list[Any]]:
    params = Params()
    if not names:
        return f"INSERT INTO {table_sql(table)} DEFAULT VALUES{returning}", []
    values = ", ".join(
        "(" + ", ".join(params.add(_value(row.get(n))) for n in names) + ")" for row in rows
    )
    columns = ", ".join(quote(n) for n in names)
    return (
        f"INSERT INTO {table_sql(table)} ({columns}) VALUES {values}{conflict}{returning}",
        params.values,
    )


def _conflict(call: Call, table: TableDef, query: ReadQuery, names: list[str]) -> str:
    """` ON CONFLICT ...` for `Prefer: resolution=`, on `on_conflict=` or the primary key."""
    target = list(query.on_conflict or table.primary_key())
    for name in target:
        column(table, name)
    resolution = call.prefer.get("resolution")
    if resolution is None:
        return ""
    if not target:
        raise RestError(400, "PGRST100", "an upsert needs on_conflict= or a primary key")
    on = f" ON CONFLICT ({', '.join(quote(n) for n in target)})"
    updates = [n for n in names if n not in target]
    if resolution == "ignore-duplicates" or not updates:
        return on + " DO NOTHING"
    return on + " DO UPDATE SET " + ", ".join(f"{quote(n)} = excluded.{quote(n)}" for n in updates)


def _put(
    table: TableDef, query: ReadQuery, rows: list[dict[str, Any]], returning: str
) -> tuple[str, list[Any]]:
    """PUT: one row, its primary key given as `pk=eq.value` filters matching the body."""
    keys = table.primary_key()
    filters = {
        c.field.name: c.value
        for c in query.conditions.get((), [])
        if isinstance(c, Filter) and c.op == "eq" and not c.negated and not c.field.path
    }
    if (
        len(rows) != 1
        or not keys
        or set(filters) != set(keys)
        or len(query.conditions.get((), [])) != len(keys)
    ):
        raise RestError(
            405,
            "PGRST105",
            "Filters must include all and only primary key columns with 'eq' operators",
        )
    row = rows[0]
    if any(str(row.get(k)) != filters[k] for k in keys):
        raise RestError(400, "PGRST115", "Payload values do not match URL in primary key column(s)")
    names = tuple(row)
    for name in names:
        column(table, name)
    updates = [n for n in names if n not in keys]
    action = (
        " DO UPDATE SET " + ", ".join(f"{quote(n)} = excluded.{quote(n)}" for n in updates)
        if updates
        else " DO NOTHING"
    )
    conflict = f" ON CONFLICT ({', '.join(quote(k) for k in keys)}){action}"
    return _insert(table, names, rows, conflict, returning)


def _scope(table: TableDef, query: ReadQuery, params: Params) -> str:
    """The WHERE of an UPDATE or DELETE: its filters, and `limit` with `order` as a key
    subquery (PostgREST requires the order to make a limited write deterministic)."""
    parts = [condition_sql(table, None, c, params) for c in query.conditions.get((), [])]
    limit = query.limit.get(())
    if limit is None:
        return where_sql(parts)
    keys = table.primary_key()
    terms = query.order.get(())
    if not keys or not terms:
        raise RestError(
            400,
            "PGRST109",
            "A 'limit' was applied without an explicit 'order'",
            hint="Apply an 'order' using unique column(s)",
        )
    order = ", ".join(
        field_sql(table, None, t.field) + (" DESC" if t.descending else " ASC") for t in terms
    )
    key_list = ", ".join(quote(k) for k in keys)
    inner = f"SELECT {key_list} FROM {table_sql(table)}{where_sql(parts)} ORDER BY {order}"
    inner += f" LIMIT {params.add(limit)}"
    if query.offset.get(()):
        inner += f" OFFSET {params.add(query.offset[()])}"
    return (
        f" WHERE ({key_list}) IN ({inner})" if len(keys) > 1 else f" WHERE {key_list} IN ({inner})"
    )


def _update(
    table: TableDef, query: ReadQuery, body: dict[str, Any], returning: str
) -> tuple[str, list[Any]]:
    params = Params()
    sets = []
    for name, value in body.items():
        if next((c for c in table.columns if c.name == name), None) is None:
            raise RestError(
                400,
                "PGRST204",
                f"Could not find the '{name}' column of '{table.short_name}' in the schema cache",
            )
        sets.append(f"{quote(name)} = {params.add(_value(value))}")
    where = _scope(table, query, params)
    return f"UPDATE {table_sql(table)} SET {', '.join(sets)}{where}{returning}", params.values


def _delete(table: TableDef, query: ReadQuery, returning: str) -> tuple[str, list[Any]]:
    params = Params()
    where = _scope(table, query, params)
    return f"DELETE FROM {table_sql(table)}{where}{returning}", params.values


def _location(table: TableDef, row: dict[str, Any]) -> str:
    keys = [k for k in table.primary_key() if k in row]
    return f"/{table.short_name}?" + "&".join(f"{k}=eq.{row[k]}" for k in keys)
