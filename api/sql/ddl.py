"""Plan DDL statements as change records (payload contract, op "ddl").

Planning reads the catalogue and produces the change; the engine then applies it with
``projections.apply.apply_ddl`` exactly as replay will, so live and rebuilt state cannot
diverge.  IF [NOT] EXISTS statements that have nothing to do produce no change.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlglot import exp

from api.sql.catalog import Catalog, ColumnDef, IndexDef, TableDef
from api.sql.ddl_alter import plan_alter
from api.sql.ddl_build import (
    Change,
    check_width,
    column_def,
    ddl_change,
    qualify,
    references_table,
    sqlite_create_table,
    table_constraint,
)
from api.sql.ddl_function import plan_drop_function
from api.sql.ddl_schema import plan_drop_schema
from api.sql.ddl_view import check_no_dependent_views, plan_drop_view
from api.sql.enums import plan_create_type, plan_drop_type
from api.sql.errors import (
    ConflictError,
    NotFoundError,
    NotSupportedError,
    SqlValidationError,
    UnacceptableNameError,
    with_sqlstate,
)
from api.sql.names import namespace_problem
from api.sql.parse import StatementInfo, logical_name
from api.sql.sequences import plan_create_sequence, plan_drop_sequence
from projections.apply import quote_ident

_CREATES: dict[str, Callable[[exp.Create, StatementInfo, Catalog], list[Change]]] = {
    "TYPE": plan_create_type,
    "SEQUENCE": plan_create_sequence,
}
_DROPS: dict[str, Callable[[exp.Drop, StatementInfo, Catalog], list[Change]]] = {
    "VIEW": plan_drop_view,
    "FUNCTION": plan_drop_function,
    "TYPE": plan_drop_type,
    "SEQUENCE": plan_drop_sequence,
}


def plan_ddl(statement: exp.Expression, info: StatementInfo, catalog: Catalog) -> list[Change]:
    """Changes for one DDL statement (already classified as ``ddl``)."""
    kind = str(statement.args.get("kind") or "").upper()
    if isinstance(statement, exp.Create) and kind == "SCHEMA":
        return _create_schema(statement, catalog)
    if isinstance(statement, exp.Drop) and kind == "SCHEMA":
        return plan_drop_schema(statement, info.target or "", catalog)
    if isinstance(statement, exp.Create) and kind == "TABLE":
        return _create_table(statement, info, catalog)
    if isinstance(statement, exp.Create) and kind == "INDEX":
        return _create_index(statement, info, catalog)
    if isinstance(statement, exp.Drop) and kind == "TABLE":
        return _drop_table(statement, info, catalog)
    if isinstance(statement, exp.Drop) and kind == "INDEX":
        return _drop_index(statement, info, catalog)
    if isinstance(statement, exp.Create) and kind in _CREATES:
        return _CREATES[kind](statement, info, catalog)
    if isinstance(statement, exp.Drop) and kind in _DROPS:
        return _DROPS[kind](statement, info, catalog)
    if isinstance(statement, exp.Alter) and kind == "TABLE":
        return plan_alter(statement, info, catalog)
    raise NotSupportedError(f"{type(statement).__name__.upper()} {kind} is not supported")


def _create_schema(statement: exp.Create, catalog: Catalog) -> list[Change]:
    """CREATE SCHEMA: a catalogue entry only, for a name a namespace key can be issued for."""
    name = (statement.this.db or statement.this.name).lower()
    problem = namespace_problem(name)
    if problem is not None:
        raise UnacceptableNameError(f'unacceptable schema name "{name[:80]}": {problem}')
    if name in catalog.schemas:
        if statement.args.get("exists"):
            return []
        raise with_sqlstate(ConflictError(f"schema {name} already exists"), "42P06")
    return [ddl_change("create_schema", name, statement, [], None)]


def _create_table(statement: exp.Create, info: StatementInfo, catalog: Catalog) -> list[Change]:
    """CREATE TABLE [IF NOT EXISTS] with column and table constraints."""
    schema = statement.this
    if not isinstance(schema, exp.Schema) or statement.expression is not None:
        raise NotSupportedError("CREATE TABLE ... AS with a column list is not supported")
    if statement.args.get("properties"):
        raise NotSupportedError(f"CREATE TABLE option {statement.args['properties'].sql()}")
    name = info.target or ""
    _check_new_table(name, catalog, bool(statement.args.get("exists")))
    if catalog.relation_exists(name):
        return []
    check_width(name, sum(isinstance(i, exp.ColumnDef) for i in schema.expressions))
    columns: list[ColumnDef] = []
    pg_constraints, sqlite_constraints, pk = [], [], None
    for item in schema.expressions:
        # The table under construction is visible, so it can reference itself.
        pending = replace(catalog, tables={**catalog.tables, name: TableDef(name, columns)})
        if isinstance(item, exp.ColumnDef):
            columns.append(column_def(item, info.namespace, pending))
            continue
        pg_text, sqlite_text, item_pk = table_constraint(item, info.namespace, pending)
        if item_pk is not None:
            pk = item_pk
        else:
            pg_constraints.append(pg_text)
            sqlite_constraints.append(sqlite_text)
    definition = _with_primary_key(TableDef(name, columns, [], pg_constraints), pk)
    create = sqlite_create_table(definition, sqlite_constraints)
    qualified = qualify(statement, info.namespace)
    return [ddl_change("create_table", name, qualified, [create], definition)]


def _check_new_table(name: str, catalog: Catalog, if_not_exists: bool) -> None:
    """The schema must exist; the table must not, unless IF NOT EXISTS."""
    schema = name.split(".", 1)[0]
    if schema not in catalog.schemas:
        raise with_sqlstate(NotFoundError(f"schema {schema} does not exist"), "3F000")
    if catalog.relation_exists(name) and not if_not_exists:
        raise with_sqlstate(ConflictError(f"relation {name} already exists"), "42P07")


def _with_primary_key(definition: TableDef, pk: list[str] | None) -> TableDef:
    """Apply a table-level PRIMARY KEY and make a lone serial column the key."""
    columns = list(definition.columns)
    if pk is not None:
        if any(c.primary_key for c in columns):
            raise SqlValidationError(f"multiple primary keys for table {definition.name}")
        lowered = {p.lower() for p in pk}
        missing = lowered - {c.name.lower() for c in columns}
        if missing:
            raise with_sqlstate(
                SqlValidationError(f"primary key column {sorted(missing)[0]} does not exist"),
                "42703",
            )
        columns = [
            replace(c, primary_key=True, nullable=False) if c.name.lower() in lowered else c
            for c in columns
        ]
    serials = [c for c in columns if c.type.endswith("serial")]
    if serials and not any(c.primary_key for c in columns) and len(serials) == 1:
        columns = [
            replace(c, primary_key=True, nullable=False) if c in serials else c for c in columns
        ]
    keyed = [c for c in columns if c.primary_key]
    if any(c.type.endswith("serial") for c in columns) and not (
        len(keyed) == 1 and keyed[0].type.endswith("serial")
    ):
        raise NotSupportedError("serial columns are supported as the sole primary key only")
    return definition.with_columns(columns)


def _create_index(statement: exp.Create, info: StatementInfo, catalog: Catalog) -> list[Change]:
    """CREATE [UNIQUE] INDEX [IF NOT EXISTS] name ON table (columns)."""
    index = statement.this
    table = catalog.table(info.target or "")
    params = index.args.get("params")
    ordered = params.args.get("columns") if params else None
    if not ordered or not all(isinstance(o.this, exp.Column) for o in ordered):
        raise NotSupportedError("indexes on expressions are not supported")
    names = [o.this.name for o in ordered]
    for column in names:
        if table.column(column) is None:
            raise with_sqlstate(
                SqlValidationError(f"column {column} of {table.name} does not exist"), "42703"
            )
    short = index.name or f"{table.short_name}_{'_'.join(names)}_idx"
    logical = f"{table.schema}.{short.lower()}"
    if catalog.index_owner(logical) is not None:
        if statement.args.get("exists"):
            return []
        raise with_sqlstate(ConflictError(f"index {logical} already exists"), "42P07")
    unique = bool(statement.args.get("unique"))
    cols = ", ".join(
        quote_ident(o.this.name) + (" DESC" if o.args.get("desc") else "") for o in ordered
    )
    sqlite = f"CREATE {'UNIQUE ' if unique else ''}INDEX {quote_ident(logical)} ON " + (
        f"{quote_ident(table.name)} ({cols})"
    )
    definition = replace(table, indexes=[*table.indexes, IndexDef(logical, names, unique)])
    qualified = qualify(statement, info.namespace)
    return [ddl_change("create_index", table.name, qualified, [sqlite], definition)]


def _drop_table(statement: exp.Drop, info: StatementInfo, catalog: Catalog) -> list[Change]:
    """DROP TABLE [IF EXISTS]; refused while another table references it."""
    if len(statement.args.get("tables") or []) != 1:
        raise NotSupportedError("DROP TABLE of several tables is not supported")
    name = info.target or ""
    if name not in catalog.tables:
        if statement.args.get("exists"):
            return []
        raise NotFoundError(f"table {name} does not exist")
    for other in catalog.tables.values():
        if other.name != name and references_table(other, name):
            raise with_sqlstate(
                ConflictError(f"table {name} is referenced by {other.name}"), "2BP01"
            )
    check_no_dependent_views(catalog, name)
    if name in catalog.sequences:
        raise NotSupportedError(f"{name} is a sequence: use DROP SEQUENCE")
    sqlite = [f"DROP TABLE {quote_ident(name)}"]
    return [ddl_change("drop_table", name, qualify(statement, info.namespace), sqlite, None)]


def _drop_index(statement: exp.Drop, info: StatementInfo, catalog: Catalog) -> list[Change]:
    """DROP INDEX [IF EXISTS] ns.name."""
    tables = statement.args.get("tables") or []
    if len(tables) != 1:
        raise NotSupportedError("DROP INDEX of several indexes is not supported")
    logical = logical_name(tables[0], info.namespace)
    owner = catalog.index_owner(logical)
    if owner is None:
        if statement.args.get("exists"):
            return []
        raise with_sqlstate(NotFoundError(f"index {logical} does not exist"), "42704")
    definition = replace(owner, indexes=[i for i in owner.indexes if i.name != logical])
    sqlite = [f"DROP INDEX {quote_ident(logical)}"]
    qualified = qualify(statement, info.namespace)
    return [ddl_change("drop_index", owner.name, qualified, sqlite, definition)]
