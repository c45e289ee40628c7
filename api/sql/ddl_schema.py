"""Plan DROP SCHEMA [IF EXISTS] name [RESTRICT | CASCADE].

RESTRICT (the default) refuses a schema that still holds tables, views, functions or types, as
Postgres does (2BP01, ``dependent_objects_still_exist``); CASCADE drops its views (each after
the views that read it), its functions, then its tables (each one only after the tables that
reference it; sequences as ``drop_sequence``) and its enum types, as ordinary changes, then
the schema.  A table of another schema that references one of them, or a view of another
schema that reads one, keeps the drop from happening: Postgres would drop that foreign-key
constraint or view, which bkg-db does not do behind the caller's back.
"""

from __future__ import annotations

from sqlglot import exp

from api.sql.catalog import Catalog, TableDef
from api.sql.ddl_build import Change, ddl_change, references_table
from api.sql.ddl_view import drop_views_of_schema
from api.sql.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    NotSupportedError,
    with_sqlstate,
)
from projections.apply import DEFAULT_NAMESPACE, quote_ident


def plan_drop_schema(statement: exp.Drop, name: str, catalog: Catalog) -> list[Change]:
    """The changes of one DROP SCHEMA statement (none for IF EXISTS of a missing schema)."""
    if name == DEFAULT_NAMESPACE:
        raise ForbiddenError(f"schema {name} cannot be dropped")
    if name not in catalog.schemas:
        if statement.args.get("exists"):
            return []
        raise with_sqlstate(NotFoundError(f"schema {name} does not exist"), "3F000")
    inside = [t for t in catalog.tables.values() if t.schema == name]
    views = [v.name for v in catalog.views.values() if v.schema == name]
    functions = [f.name for f in catalog.functions.values() if f.schema == name]
    types = [t for t in catalog.enums if t.split(".", 1)[0] == name]
    if (inside or views or functions or types) and not statement.args.get("cascade"):
        names = ", ".join(sorted([*(t.name for t in inside), *views, *functions, *types]))
        raise _dependents(f"cannot drop schema {name} because other objects depend on it: {names}")
    changes = drop_views_of_schema(name, catalog)
    changes.extend(
        ddl_change("drop_function", function, statement, [], None) for function in functions
    )
    for table in _drop_order(inside, catalog):
        action = "drop_sequence" if table.name in catalog.sequences else "drop_table"
        sqlite = [f"DROP TABLE {quote_ident(table.name)}"]
        changes.append(ddl_change(action, table.name, statement, sqlite, None))
    changes.extend(ddl_change("drop_type", enum, statement, [], None) for enum in types)
    return [*changes, ddl_change("drop_schema", name, statement, [], None)]


def _drop_order(inside: list[TableDef], catalog: Catalog) -> list[TableDef]:
    """The schema's tables, each after every other table that references it."""
    names = {t.name for t in inside}
    for other in catalog.tables.values():
        referenced = [t.name for t in inside if references_table(other, t.name)]
        if other.name not in names and referenced:
            raise _dependents(f"table {other.name} references {referenced[0]}")
    ordered: list[TableDef] = []
    remaining = list(inside)
    while remaining:
        free = [
            t
            for t in remaining
            if not any(o is not t and references_table(o, t.name) for o in remaining)
        ]
        if not free:
            raise NotSupportedError("dropping tables that reference each other in a cycle")
        ordered.extend(free)
        remaining = [t for t in remaining if t not in free]
    return ordered


def _dependents(message: str) -> ConflictError:
    """Postgres' ``dependent_objects_still_exist`` (2BP01)."""
    return with_sqlstate(ConflictError(message), "2BP01")
