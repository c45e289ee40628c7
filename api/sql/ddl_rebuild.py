"""ALTER TABLE ... ALTER COLUMN (TYPE, SET/DROP DEFAULT, SET/DROP NOT NULL) by rebuilding.

SQLite cannot change a column in place, so the change carries the SQLite statements of a
rebuild: create the table anew under a scratch name with the new definition, copy every row
with its rowid (converting the altered column with ``USING`` or a cast), carry the
AUTOINCREMENT counter over, drop the old table, rename the new one and recreate the indexes.
Replay runs the same statements on the same rows, so the rebuilt projection is identical.
Tables that other tables reference are refused (dropping them would run their foreign-key
actions), as are changes to key columns.
"""

from __future__ import annotations

from dataclasses import replace

import sqlglot
from sqlglot import exp

from api.sql.catalog import Catalog, ColumnDef, TableDef
from api.sql.ddl_build import (
    Change,
    ddl_change,
    references_table,
    sqlite_create_table,
    table_constraint,
)
from api.sql.errors import NotSupportedError, SqlValidationError, with_sqlstate
from api.sql.translate import generate
from api.sql.typemap import lookup
from projections.apply import quote_ident


def plan_alter_column(
    action: exp.AlterColumn, table: TableDef, qualified: exp.Expr, namespace: str, catalog: Catalog
) -> list[Change]:
    """Changes for one ALTER COLUMN action."""
    column = table.column(action.this.name)
    if column is None:
        error = SqlValidationError(f"column {action.this.name} of {table.name} does not exist")
        raise with_sqlstate(error, "42703")
    if any(references_table(other, table.name) for other in catalog.tables.values()):
        raise NotSupportedError(f"altering a column of {table.name}, which other tables reference")
    altered, conversion = _altered(action, column)
    if altered.primary_key and altered.type != column.type:
        raise NotSupportedError("changing the type of a primary key column")
    definition = table.with_columns([altered if c is column else c for c in table.columns])
    statements = rebuild(table, definition, {column.name: conversion}, namespace, catalog)
    return [ddl_change("alter_table", table.name, qualified, statements, definition)]


def _altered(action: exp.AlterColumn, column: ColumnDef) -> tuple[ColumnDef, str]:
    """The column after the action, and the SQLite expression that converts its values."""
    name = quote_ident(column.name)
    dtype = action.args.get("dtype")
    if isinstance(dtype, exp.DataType):
        declared = dtype.sql("postgres").lower()
        storage = lookup(declared)
        if storage.serial:
            raise NotSupportedError("changing a column's type to serial")
        using = action.args.get("using")
        source = using if isinstance(using, exp.Expr) else exp.cast(exp.column(column.name), dtype)
        converted = generate(_unqualified(source.copy()))
        return replace(column, type=declared, affinity=storage.affinity), converted
    if "default" in action.args and action.args["default"] is not None:
        return replace(column, default=action.args["default"].sql("postgres")), name
    if action.args.get("allow_null") is False:
        return replace(column, nullable=False), name
    if action.args.get("allow_null") is True:
        if column.primary_key:
            raise with_sqlstate(
                SqlValidationError(f"column {column.name} is in a primary key"), "42P16"
            )
        return replace(column, nullable=True), name
    if action.args.get("drop"):
        return replace(column, default=None), name
    raise NotSupportedError(f"ALTER COLUMN {action.sql('postgres')} is not supported")


def _unqualified(node: exp.Expr) -> exp.Expr:
    """A USING expression reads the row being copied: drop table qualifiers."""
    for column in node.find_all(exp.Column):
        column.set("table", None)
    return node


def rebuild(
    old: TableDef,
    new: TableDef,
    conversions: dict[str, str],
    namespace: str,
    catalog: Catalog,
) -> list[str]:
    """SQLite statements that replace ``old``'s table by one defined as ``new`` (same name
    and column order), converting the named columns with the given expressions."""
    scratch = f"{old.schema}._bkg_rebuild"
    constraints = [_sqlite_constraint(text, namespace, catalog) for text in new.constraints]
    create = sqlite_create_table(replace(new, name=scratch), constraints)
    names = [quote_ident(c.name) for c in new.columns]
    values = [conversions.get(c.name, quote_ident(c.name)) for c in new.columns]
    target = quote_ident(scratch)
    statements = [
        create,
        f"INSERT INTO {target} (rowid, {', '.join(names)}) "
        f"SELECT rowid, {', '.join(values)} FROM {quote_ident(old.name)} ORDER BY rowid",
    ]
    if old.autoincrement:
        statements.append(
            "UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence WHERE name = "
            f"'{old.name}') WHERE name = '{scratch}'"
        )
    statements.append(f"DROP TABLE {quote_ident(old.name)}")
    statements.append(f"ALTER TABLE {target} RENAME TO {quote_ident(old.name)}")
    for index in new.indexes:
        columns = ", ".join(quote_ident(c) for c in index.columns)
        unique = "UNIQUE " if index.unique else ""
        statements.append(
            f"CREATE {unique}INDEX {quote_ident(index.name)} ON {quote_ident(old.name)} ({columns})"
        )
    return statements


def _sqlite_constraint(text: str, namespace: str, catalog: Catalog) -> str:
    """The SQLite text of a stored table constraint (Postgres text)."""
    statement = sqlglot.parse_one(f"CREATE TABLE _x (_c int, {text})", read="postgres")
    node = statement.this.expressions[-1]
    return table_constraint(node, namespace, catalog)[1]
