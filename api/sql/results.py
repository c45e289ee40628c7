"""Typing of result columns: which declared type family each output column has.

SQLite returns storage values (booleans as 0/1, JSON and timestamps as text).  The family of
an output column is known when it is a table column, a cast, a JSON ``->`` or a predicate;
``typed_rows`` then converts values the way a Postgres client would see them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlglot import exp

from api.sql.catalog import TableDef
from api.sql.typemap import family_of, to_client
from projections.datetimefuncs import DATETIME_FUNCTIONS
from projections.jsonfuncs import JSON_FUNCTIONS

_BOOLEAN_NODES = (
    exp.Predicate,
    exp.Connector,
    exp.Not,
    exp.Exists,
    exp.Boolean,
    exp.LogicalAnd,
    exp.LogicalOr,
    exp.StartsWith,
    exp.Escape,
)


def families_of(
    projections: Sequence[exp.Expr],
    scope: dict[str, TableDef],
    ordered: list[TableDef] | None,
) -> tuple[str | None, ...] | None:
    """Families of a projection list; None when a ``*`` cannot be expanded."""
    families: list[str | None] = []
    for node in projections:
        if isinstance(node, exp.Star):
            if ordered is None:
                return None
            for table in ordered:
                families.extend(family_of(c.type) for c in table.columns)
            continue
        if isinstance(node, exp.Column) and isinstance(node.this, exp.Star):
            definition = scope.get(node.table.lower())
            if definition is None:
                return None
            families.extend(family_of(c.type) for c in definition.columns)
            continue
        families.append(_family(node.unalias(), scope))
    return tuple(families)


def _family(node: exp.Expr, scope: dict[str, TableDef]) -> str | None:
    """Family of one output expression, or None when not known."""
    if isinstance(node, exp.Paren):
        return _family(node.this, scope)
    if isinstance(node, exp.Column):
        return _column_family(node, scope)
    if isinstance(node, exp.Cast):
        return family_of(node.to.sql("postgres"))
    if isinstance(node, exp.CurrentTimestamp):
        return "timestamptz"
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc):
        return "timestamp"
    if isinstance(node, exp.JSONExtract | exp.ArrayAgg | exp.JSONBObjectAgg):
        return "json"
    if isinstance(node, exp.AtTimeZone):
        return "timestamp"
    if isinstance(node, exp.Extract):
        return "real"  # numeric in Postgres
    if isinstance(node, exp.Case) and node.args.get("default") is not None:
        return _family(node.args["default"], scope)
    if isinstance(node, exp.Anonymous):
        return _call_family(node)
    if isinstance(node, _BOOLEAN_NODES):
        return "boolean"
    if isinstance(node, exp.Coalesce | exp.Max | exp.Min):
        return _family(node.this, scope)
    return None


def _call_family(node: exp.Anonymous) -> str | None:
    """Family of a function call the engine knows the type of."""
    name = node.name.lower()
    if name == "now":
        return "timestamptz"
    if name == "strftime":
        first = node.expressions[0] if node.expressions else None
        timestamp = isinstance(first, exp.Literal) and first.this == "%Y-%m-%d %H:%M:%f"
        return "timestamp" if timestamp else None
    if name in JSON_FUNCTIONS:
        return "json"
    if name in DATETIME_FUNCTIONS:
        return "interval"
    if name.startswith(("json", "jsonb")):
        return "json" if not name.endswith(("length", "typeof")) else None
    return None


def expression_family(node: exp.Expr, scope: dict[str, TableDef]) -> str | None:
    """Family of any expression, or None when not known."""
    return _family(node, scope)


def _column_family(column: exp.Column, scope: dict[str, TableDef]) -> str | None:
    """Family of a column reference resolved against the FROM scope."""
    if column.table:
        definition = scope.get(column.table.lower())
        found = definition.column(column.name) if definition else None
        return family_of(found.type) if found else None
    for definition in scope.values():
        found = definition.column(column.name)
        if found is not None:
            return family_of(found.type)
    return None


def typed_rows(
    rows: list[tuple[Any, ...]], families: tuple[str | None, ...] | None
) -> list[list[Any]]:
    """Rows as lists, with values converted per column family."""
    if families is None or not rows or len(families) != len(rows[0]) or not any(families):
        return [list(row) for row in rows]
    return [[to_client(v, f) for v, f in zip(row, families, strict=True)] for row in rows]
