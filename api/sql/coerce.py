"""Values written to boolean and timestamp columns, accepted in the forms Postgres accepts.

SQLite stores what it is given, so ``'true'`` would be refused by a STRICT integer column and
``'2024-05-17T13:45:12Z'`` would be stored beside ``now()``'s ``2024-05-17 13:45:12.000`` in a
different text form that sorts differently.  Literals assigned to such columns (INSERT VALUES,
UPDATE SET, ON CONFLICT DO UPDATE SET) are rewritten at translation time; parameters assigned
to them are recorded so binding converts them the same way. Any value assigned there to a
``numeric(p, s)`` column is rounded to its scale and checked against its precision
(``projections.numeric``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from sqlglot import exp

from api.sql.catalog import ColumnDef, TableDef
from api.sql.errors import SqlValidationError, with_sqlstate
from api.sql.typemap import array_element_kind, coerce, family_of
from projections.arrayfuncs import array_in
from projections.numeric import NUMERIC_FUNCTION

ParamKey = int | str
_COERCED = ("boolean", "timestamp", "timestamptz", "array")


def coerce_assignments(
    statement: exp.Expr, target: TableDef, insert_columns: list[str]
) -> tuple[tuple[ParamKey, str], ...]:
    """Rewrite string literals assigned to boolean/timestamp columns; return the parameters
    assigned to such columns with their type family."""
    params: list[tuple[ParamKey, str]] = []
    for column, node in assignments(statement, target, insert_columns):
        _fit_numeric(column, node)
        family = family_of(column.type)
        if family not in _COERCED:
            continue
        if isinstance(node, exp.Literal) and node.is_string and family == "array":
            node.replace(_literal(_array_literal(node.this, column.type)))
        elif isinstance(node, exp.Literal) and node.is_string:
            node.replace(_literal(coerce(node.this, family)))
        elif isinstance(node, exp.Var) and node.name.startswith("?"):
            params.append((int(node.name[1:]), _param_family(column, family)))
        elif isinstance(node, exp.Placeholder) and node.name:
            params.append((node.name, _param_family(column, family)))
    return tuple(params)


_NUMERIC = re.compile(r"^(?:numeric|decimal)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)$")


def _param_family(column: ColumnDef, family: str | None) -> str:
    """What `typemap.coerce` converts a parameter by: the family, for arrays with the element
    kind (``array:int``), so ``'{1,2}'`` sent for an ``int[]`` column stores numbers."""
    if family == "array":
        return f"array:{array_element_kind(column.type)}"
    return family or ""


def _array_literal(text: str, declared: str) -> object:
    """A Postgres array literal (``'{a,b}'``) written to an array column, as stored JSON."""
    try:
        if not text.lstrip().startswith("{"):
            raise ValueError(text)
        return array_in(text, array_element_kind(declared))
    except ValueError:
        error = SqlValidationError(f'malformed array literal: "{text[:60]}"')
        raise with_sqlstate(error, "22P02") from None


def _fit_numeric(column: ColumnDef, node: exp.Expr) -> None:
    """A value assigned to a ``numeric(p, s)`` column goes through the rounding function."""
    match = _NUMERIC.match(column.type.strip().lower())
    if match is None or isinstance(node, exp.Null):
        return
    precision, scale = int(match.group(1)), int(match.group(2) or 0)
    wrapped = exp.Anonymous(
        this=NUMERIC_FUNCTION,
        expressions=[node.copy(), exp.Literal.number(precision), exp.Literal.number(scale)],
    )
    node.replace(wrapped)


def assignments(
    statement: exp.Expr, target: TableDef, insert_columns: list[str]
) -> Iterator[tuple[ColumnDef, exp.Expr]]:
    """(column, assigned expression) pairs of VALUES rows and SET lists."""
    values = statement.expression if isinstance(statement, exp.Insert) else None
    if isinstance(values, exp.Values):
        for row in values.expressions:
            for name, node in zip(insert_columns, row.expressions, strict=False):
                column = target.column(name)
                if column is not None:
                    yield column, node
    sets = (
        list(statement.args.get("expressions") or []) if isinstance(statement, exp.Update) else []
    )
    conflict = statement.args.get("conflict")
    if conflict is not None:
        sets.extend(conflict.args.get("expressions") or [])
    for assignment in sets:
        if isinstance(assignment, exp.EQ) and isinstance(assignment.this, exp.Column):
            column = target.column(assignment.this.name)
            if column is not None:
                yield column, assignment.expression


def _literal(value: object) -> exp.Expr:
    """A SQL literal for a coerced value."""
    if isinstance(value, int):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))
