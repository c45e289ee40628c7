"""Plan ALTER TABLE: ADD / DROP / RENAME / ALTER COLUMN and RENAME TO (one action per
statement)."""

from __future__ import annotations

import re
from dataclasses import replace

from sqlglot import exp

from api.sql.catalog import Catalog, IndexDef, TableDef
from api.sql.ddl_build import (
    Change,
    check_width,
    column_def,
    ddl_change,
    qualify,
    references_table,
    sqlite_column,
)
from api.sql.ddl_rebuild import plan_alter_column
from api.sql.ddl_view import reads_relation
from api.sql.errors import ConflictError, NotSupportedError, SqlValidationError, with_sqlstate
from api.sql.parse import StatementInfo
from api.sql.translate import parse_fragment
from projections.apply import quote_ident


def plan_alter(statement: exp.Alter, info: StatementInfo, catalog: Catalog) -> list[Change]:
    """Changes for one ALTER TABLE statement."""
    actions = statement.args.get("actions") or []
    if len(actions) != 1:
        raise NotSupportedError("ALTER TABLE with several actions is not supported")
    table = catalog.table(info.target or "")
    action = actions[0]
    qualified = qualify(statement, info.namespace)
    if isinstance(action, exp.ColumnDef):
        return _add_column(action, table, qualified, info, catalog)
    if isinstance(action, exp.Drop) and str(action.args.get("kind")).upper() == "COLUMN":
        return _drop_column(action, table, qualified)
    if isinstance(action, exp.RenameColumn):
        return _rename_column(action, table, qualified)
    if isinstance(action, exp.AlterRename):
        return _rename_table(action, table, qualified, catalog)
    if isinstance(action, exp.AlterColumn):
        return plan_alter_column(action, table, qualified, info.namespace, catalog)
    raise NotSupportedError(f"ALTER TABLE {action.sql('postgres')} is not supported")


def _add_column(
    node: exp.ColumnDef, table: TableDef, qualified: exp.Expr, info: StatementInfo, catalog: Catalog
) -> list[Change]:
    """ADD COLUMN [IF NOT EXISTS]; SQLite needs a constant default and no key constraints."""
    column = column_def(node, info.namespace, catalog)
    if table.column(column.name) is not None:
        if node.args.get("exists"):
            return []
        raise with_sqlstate(
            ConflictError(f"column {column.name} of {table.name} already exists"), "42701"
        )
    if column.primary_key or column.unique or column.type.endswith("serial"):
        raise NotSupportedError("ADD COLUMN with PRIMARY KEY, UNIQUE or serial")
    if column.default is not None and not isinstance(parse_fragment(column.default), exp.Literal):
        raise NotSupportedError("ADD COLUMN with a non-constant DEFAULT")
    check_width(table.name, len(table.columns) + 1)
    definition = table.with_columns([*table.columns, column])
    sqlite = f"ALTER TABLE {quote_ident(table.name)} ADD COLUMN " + sqlite_column(
        column, single_pk=False, bare_default=True
    )
    return [ddl_change("alter_table", table.name, qualified, [sqlite], definition)]


def _drop_column(action: exp.Drop, table: TableDef, qualified: exp.Expr) -> list[Change]:
    """DROP COLUMN [IF EXISTS]."""
    name = action.expressions[0].name if action.expressions else ""
    tables = action.args.get("tables") or []
    name = name or (tables[0].name if tables else "")
    column = table.column(name)
    if column is None:
        if action.args.get("exists"):
            return []
        raise with_sqlstate(
            SqlValidationError(f"column {name} of {table.name} does not exist"), "42703"
        )
    if column.primary_key or any(column.name in i.columns for i in table.indexes):
        raise NotSupportedError("dropping a key or indexed column")
    definition = table.with_columns([c for c in table.columns if c is not column])
    sqlite = f"ALTER TABLE {quote_ident(table.name)} DROP COLUMN {quote_ident(column.name)}"
    return [ddl_change("alter_table", table.name, qualified, [sqlite], definition)]


def _rename_column(action: exp.RenameColumn, table: TableDef, qualified: exp.Expr) -> list[Change]:
    """RENAME COLUMN old TO new, carrying the rename into checks and indexes."""
    old = table.column(action.this.name)
    new_name = action.args["to"].name
    if old is None:
        raise with_sqlstate(
            SqlValidationError(f"column {action.this.name} of {table.name} does not exist"),
            "42703",
        )
    if table.column(new_name) is not None:
        raise with_sqlstate(
            ConflictError(f"column {new_name} of {table.name} already exists"), "42701"
        )
    columns = [replace(c, name=new_name) if c is old else c for c in table.columns]
    columns = [replace(c, check=_rename_in(c.check, old.name, new_name)) for c in columns]
    indexes = [
        IndexDef(i.name, [new_name if n == old.name else n for n in i.columns], i.unique)
        for i in table.indexes
    ]
    pattern = re.compile(rf"\b{re.escape(old.name)}\b", re.IGNORECASE)
    constraints = [pattern.sub(new_name, c) for c in table.constraints]
    definition = replace(table, columns=columns, indexes=indexes, constraints=constraints)
    sqlite = (
        f"ALTER TABLE {quote_ident(table.name)} RENAME COLUMN {quote_ident(old.name)} "
        f"TO {quote_ident(new_name)}"
    )
    return [ddl_change("alter_table", table.name, qualified, [sqlite], definition)]


def _rename_in(text: str | None, old: str, new: str) -> str | None:
    """Rename column references inside a stored CHECK expression."""
    if text is None:
        return None
    tree = parse_fragment(text).copy()
    for column in tree.find_all(exp.Column):
        if column.name.lower() == old.lower():
            column.set("this", exp.to_identifier(new))
    return tree.sql("postgres")


def _rename_table(
    action: exp.AlterRename, table: TableDef, qualified: exp.Expr, catalog: Catalog
) -> list[Change]:
    """RENAME TO: stays in its schema."""
    target = action.this
    if target.db and target.db.lower() != table.schema:
        raise NotSupportedError("moving a table to another schema")
    new_name = f"{table.schema}.{target.name.lower()}"
    if any(references_table(other, table.name) for other in catalog.tables.values()):
        raise NotSupportedError(f"renaming {table.name}, which other tables reference")
    if any(reads_relation(view, table.name) for view in catalog.views.values()):
        raise NotSupportedError(f"renaming {table.name}, which views read")
    if new_name in catalog.tables:
        raise with_sqlstate(ConflictError(f"table {new_name} already exists"), "42P07")
    definition = replace(table, name=new_name)
    sqlite = f"ALTER TABLE {quote_ident(table.name)} RENAME TO {quote_ident(new_name)}"
    return [ddl_change("alter_table", table.name, qualified, [sqlite], definition)]
