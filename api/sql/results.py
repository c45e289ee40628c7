"""Typing of result columns: which declared type each output column has.

SQLite returns storage values (booleans as 0/1, JSON and timestamps as text).  The type of
an output column is known when it is a table column (its declared type: ``int4``,
``numeric(10,2)``...), a cast, a JSON ``->`` or a predicate; ``typed_rows`` then converts
values by the type's family the way a Postgres client would see them, and the wire protocol
reports the type itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlglot import exp

from api.sql.catalog import TableDef
from api.sql.typemap import CONVERTED_FAMILIES, family_of, to_client
from projections.datetimefuncs import DATETIME_FUNCTIONS
from projections.jsonfuncs import JSON_FUNCTIONS

UNKNOWN = "unknown"
"""The type of a derived table's column whose output type is not known."""

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
    exp.MatchAgainst,
)


def declared_types(
    projections: Sequence[exp.Expr],
    scope: dict[str, TableDef],
    ordered: list[TableDef] | None,
) -> tuple[str | None, ...] | None:
    """Declared types of a projection list; None when a ``*`` cannot be expanded."""
    types: list[str | None] = []
    for node in projections:
        if isinstance(node, exp.Star):
            if ordered is None:
                return None
            for table in ordered:
                types.extend(c.type for c in table.columns)
            continue
        if isinstance(node, exp.Column) and isinstance(node.this, exp.Star):
            definition = scope.get(node.table.lower())
            if definition is None:
                return None
            types.extend(c.type for c in definition.columns)
            continue
        types.append(_type(node.unalias(), scope))
    return tuple(types)


def _type(node: exp.Expr, scope: dict[str, TableDef]) -> str | None:
    """Type of one output expression, or None when not known."""
    if isinstance(node, exp.Paren | exp.Filter):
        return _type(node.this, scope)
    if isinstance(node, exp.Column):
        return _column_type(node, scope)
    if isinstance(node, exp.Cast):
        declared = node.to.sql("postgres").lower()
        return declared if family_of(declared) is not None else None
    if isinstance(node, _ARRAY_NODES):
        return _array_type(node, scope)
    fixed = next((name for kinds, name in _FIXED_TYPES if isinstance(node, kinds)), None)
    if fixed is not None:
        return fixed
    if isinstance(node, exp.Case) and node.args.get("default") is not None:
        return _type(node.args["default"], scope)
    if isinstance(node, exp.Anonymous):
        return _call_type(node)
    if isinstance(node, _BOOLEAN_NODES):
        return "boolean"
    if isinstance(node, exp.Coalesce | exp.Max | exp.Min):
        return _type(node.this, scope)
    return None


_FIXED_TYPES: tuple[tuple[type[exp.Expr] | tuple[type[exp.Expr], ...], str], ...] = (
    (exp.CurrentTimestamp, "timestamptz"),
    ((exp.TimestampTrunc, exp.DateTrunc, exp.AtTimeZone), "timestamp"),
    ((exp.JSONExtract, exp.JSONArrayAgg, exp.JSONBObjectAgg), "json"),
    (exp.Extract, "numeric"),
)
"""Expressions whose type does not depend on their arguments."""
_ARRAY_NODES = (
    exp.Array,
    exp.ArrayAgg,
    exp.Bracket,
    exp.ArrayAppend,
    exp.ArrayPrepend,
    exp.ArrayConcat,
    exp.ArrayRemove,
    exp.ArrayPosition,
    exp.StringToArray,
    exp.ArraySize,
    exp.ArrayToString,
)


def _array_type(node: exp.Expr, scope: dict[str, TableDef]) -> str | None:
    """Type of an array construct: ``element[]`` for arrays, the element's for a subscript."""
    if isinstance(node, exp.ArraySize | exp.ArrayPosition):
        return "int"
    if isinstance(node, exp.ArrayToString):
        return "text"
    if isinstance(node, exp.StringToArray):
        return "text[]"
    if isinstance(node, exp.Bracket):
        array = _type(node.this, scope)
        return array[:-2] if array is not None and array.endswith("[]") else None
    if isinstance(node, exp.ArrayAppend | exp.ArrayConcat | exp.ArrayPrepend | exp.ArrayRemove):
        return _type(node.this, scope)
    first = node.expressions[0] if isinstance(node, exp.Array) and node.expressions else None
    if isinstance(node, exp.ArrayAgg):
        first = node.this
        while isinstance(first, exp.Order | exp.Distinct):
            first = first.this if isinstance(first, exp.Order) else first.expressions[0]
    element = _element_type(first, scope) if first is not None else None
    return f"{element or 'text'}[]"


def _element_type(node: exp.Expr, scope: dict[str, TableDef]) -> str | None:
    if isinstance(node, exp.Literal):
        if node.is_string:
            return "text"
        return "int" if node.this.lstrip("-").isdigit() else "numeric"
    declared = _type(node, scope)
    return None if declared is None or declared.endswith("[]") else declared


def _call_type(node: exp.Anonymous) -> str | None:
    """Type of a function call the engine knows the type of."""
    name = node.name.lower()
    if name == "now":
        return "timestamptz"
    if name == "strftime":
        first = node.expressions[0] if node.expressions else None
        timestamp = isinstance(first, exp.Literal) and first.this == "%Y-%m-%d %H:%M:%f"
        return "timestamp" if timestamp else None
    if name in JSON_FUNCTIONS:
        return "json"
    if name == "regexp_match":
        return "text[]"
    if name == "cardinality":
        return "int"
    if name == "ts_rank":
        return "real"
    if name == "to_tsvector":
        return "tsvector"
    if name.endswith("to_tsquery"):
        return "tsquery"
    if name in DATETIME_FUNCTIONS:
        return "interval"
    if name.startswith(("json", "jsonb")):
        return "json" if not name.endswith(("length", "typeof")) else None
    return None


def expression_family(node: exp.Expr, scope: dict[str, TableDef]) -> str | None:
    """Type family of any expression, or None when not known."""
    return family_of(_type(node, scope))


def _column_type(column: exp.Column, scope: dict[str, TableDef]) -> str | None:
    """Declared type of a column reference resolved against the FROM scope."""
    if column.table:
        definition = scope.get(column.table.lower())
        found = definition.column(column.name) if definition else None
    else:
        found = next((c for d in scope.values() if (c := d.column(column.name)) is not None), None)
    return found.type if found is not None and found.type != UNKNOWN else None


def client_families(types: tuple[str | None, ...] | None) -> tuple[str | None, ...] | None:
    """The family of each result column when some column's values change on the way to
    the client (see `typed_rows`); None when every value is passed on as stored."""
    if types is None:
        return None
    families = tuple(family_of(declared) for declared in types)
    return families if any(f in CONVERTED_FAMILIES for f in families) else None


def typed_rows(
    rows: list[tuple[Any, ...]], families: tuple[str | None, ...] | None
) -> list[list[Any]]:
    """Rows as lists, with values converted per column family (`client_families`, worked
    out once per translated statement rather than per call)."""
    if families is None or not rows or len(families) != len(rows[0]):
        return [list(row) for row in rows]
    return [[to_client(v, f) for v, f in zip(row, families, strict=True)] for row in rows]
