"""Parameter types of a statement, inferred from the catalogue the way Postgres would.

Clients that Parse without declaring types (asyncpg always, psycopg for strings) learn the
types from ParameterDescription and then encode their values to match, so `$1` compared
with or assigned to an `integer` column must be reported as an integer. Covered: a cast
(`$1::int`), a comparison or `IN` with a column, an INSERT's VALUES, an UPDATE's SET,
LIMIT/OFFSET; anything else is `text`, which every client can send.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from api.pgwire import types as t
from api.sql.catalog import Catalog, TableDef
from api.sql.parse import logical_name
from api.sql.reader import BkgPostgres

_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike)


def parameter_types(sql: str, namespace: str, catalog: Catalog, declared: list[int]) -> list[int]:
    """One OID per `$n` of `sql`: the client's declared one where given (non-zero), else
    the inferred one, else text."""
    try:
        statement = sqlglot.parse_one(sql, read=BkgPostgres)
    except (ParseError, TokenError, ValueError):
        return [oid or t.TEXT for oid in declared]
    params = list(statement.find_all(exp.Parameter))
    count = max([_index(p) for p in params] + [len(declared)])
    oids = [t.TEXT] * count
    tables = _tables(statement, namespace, catalog)
    for param in params:
        index = _index(param)
        if index > 0:
            oids[index - 1] = _infer(param, tables) or t.TEXT
    for position, oid in enumerate(declared):
        if oid:
            oids[position] = oid
    return oids


def _index(param: exp.Parameter) -> int:
    try:
        return int(param.this.this) if isinstance(param.this, exp.Literal) else 0
    except ValueError:
        return 0


def _tables(statement: exp.Expr, namespace: str, catalog: Catalog) -> dict[str, TableDef]:
    """The statement's tables by alias and short name."""
    found: dict[str, TableDef] = {}
    for table in statement.find_all(exp.Table):
        definition = catalog.tables.get(logical_name(table, namespace))
        if definition is not None:
            found[table.alias_or_name.lower()] = definition
            found.setdefault(table.name.lower(), definition)
    return found


def _infer(param: exp.Parameter, tables: dict[str, TableDef]) -> int | None:
    parent = param.parent
    if isinstance(parent, exp.Cast):
        return t.oid_of_declared(parent.to.sql("postgres"))
    if isinstance(parent, _COMPARISONS):
        other = parent.left if parent.right is param else parent.right
        return _column_oid(other, tables)
    if isinstance(parent, exp.In):
        return _column_oid(parent.this, tables)
    if isinstance(parent, exp.Limit | exp.Offset):
        return t.INT8
    if isinstance(parent, exp.Tuple) and isinstance(parent.parent, exp.Values):
        return _insert_oid(param, parent, tables)
    return None


def _column_oid(node: exp.Expr | None, tables: dict[str, TableDef]) -> int | None:
    if not isinstance(node, exp.Column):
        return None
    candidates = [tables[node.table.lower()]] if node.table.lower() in tables else tables.values()
    for table in candidates:
        column = table.column(node.name)
        if column is not None:
            return t.oid_of_declared(column.type)
    return None


def _insert_oid(param: exp.Parameter, row: exp.Tuple, tables: dict[str, TableDef]) -> int | None:
    insert = row.parent.parent if row.parent is not None else None
    if not isinstance(insert, exp.Insert):
        return None
    target = insert.this
    table = target.this if isinstance(target, exp.Schema) else target
    if not isinstance(table, exp.Table):
        return None
    definition = tables.get(table.alias_or_name.lower())
    if definition is None:
        return None
    names = (
        [c.name for c in target.expressions]
        if isinstance(target, exp.Schema)
        else definition.column_names()
    )
    position = row.expressions.index(param)
    if position >= len(names):
        return None
    column = definition.column(names[position])
    return t.oid_of_declared(column.type) if column is not None else None


def returning_columns(sql: str, namespace: str, catalog: Catalog) -> list[tuple[str, int]]:
    """Name and OID of each column a write's RETURNING list answers (none without one)."""
    try:
        statement = sqlglot.parse_one(sql, read=BkgPostgres)
    except (ParseError, TokenError, ValueError):
        return []
    returning = statement.args.get("returning")
    if not isinstance(returning, exp.Returning):
        return []
    target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
    table = (
        catalog.tables.get(logical_name(target, namespace))
        if isinstance(target, exp.Table)
        else None
    )
    columns: list[tuple[str, int]] = []
    for item in returning.expressions:
        if isinstance(item, exp.Star) and table is not None:
            columns += [(c.name, t.oid_of_declared(c.type)) for c in table.columns]
            continue
        node = item.this if isinstance(item, exp.Alias) else item
        oid = _column_oid(node, {"": table} if table is not None else {}) if table else None
        if isinstance(node, exp.Cast):
            oid = t.oid_of_declared(node.to.sql("postgres"))
        columns.append((item.alias_or_name, oid or t.TEXT))
    return columns
