"""CREATE TABLE ... AS query: the new table's definition from what the query returns.

The definition is fixed when the statement runs and logged as a plain ``create_table``
change; the rows are then inserted by an ``INSERT ... SELECT`` and logged as row images, so
replay needs neither the query nor the tables it read.
"""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from api.sql.catalog import ColumnDef, TableDef
from api.sql.ddl_build import Change, check_width, ddl_change, sqlite_create_table
from api.sql.errors import NotSupportedError, SqlValidationError, with_sqlstate
from api.sql.typemap import family_of, lookup

SAMPLE_ROWS = 1000
"""Rows looked at to type a column whose type the query does not tell."""


def column_type(declared: str | None, values: list[Any]) -> str:
    """A declared type for a result column: the one the query tells, else that of its
    first value."""
    if declared is not None and family_of(declared) is not None:
        return declared
    for value in values:
        if value is None:
            continue
        if isinstance(value, int):
            return "bigint"
        if isinstance(value, float):
            return "double precision"
        if isinstance(value, bytes):
            return "bytea"
        return "text"
    return "text"


def plan_create_table_as(
    name: str,
    columns: list[str],
    types: tuple[str | None, ...] | None,
    sample: list[tuple[Any, ...]],
) -> Change:
    """The create_table change of ``CREATE TABLE name AS query``."""
    if len(set(c.lower() for c in columns)) != len(columns):
        error = SqlValidationError(f"column names of {name} repeat")
        raise with_sqlstate(error, "42701")
    check_width(name, len(columns))
    defs = []
    for position, column in enumerate(columns):
        told = types[position] if types and position < len(types) else None
        declared = column_type(told, [row[position] for row in sample])
        defs.append(ColumnDef(column, declared, lookup(declared).affinity))
    definition = TableDef(name, defs)
    schema = exp.Schema(
        this=exp.to_table(name),
        expressions=[
            exp.ColumnDef(
                this=exp.to_identifier(c.name),
                kind=exp.DataType.build(c.type, dialect="postgres"),
            )
            for c in defs
        ],
    )
    statement = exp.Create(this=schema, kind="TABLE")
    return ddl_change(
        "create_table", name, statement, [sqlite_create_table(definition, [])], definition
    )


def check_options(statement: exp.Create) -> None:
    """CREATE TABLE ... AS takes no column list, options or WITH [NO] DATA variants."""
    if isinstance(statement.this, exp.Schema) or statement.args.get("properties"):
        raise NotSupportedError("CREATE TABLE ... AS with a column list or options")
