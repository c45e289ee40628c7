"""Plan CREATE [OR REPLACE] VIEW and DROP VIEW as change records.

The change carries the view's definition (its query, schema-qualified, and its column
names); replay stores it in the catalogue as it is, so a rebuilt projection expands the view
exactly as the live one did. Creating a view checks its query by describing it on the
projection (unknown tables or columns fail the statement and append nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from sqlglot import exp

from api.sql.catalog import Catalog, ViewDef
from api.sql.ddl_build import Change, qualify
from api.sql.errors import (
    BadRequestError,
    ConflictError,
    NotFoundError,
    NotSupportedError,
    SqlValidationError,
    with_sqlstate,
)
from api.sql.parse import StatementInfo, cte_names, logical_name
from api.sql.translate import postgres_name
from api.sql.views import view_query

Describe = Callable[[exp.Expr, Catalog], list[str]]
"""Output column names of a (stored-form) query, checked against a catalogue."""
_PROPERTIES = {"security_invoker"}


def plan_create_view(
    statement: exp.Create, info: StatementInfo, catalog: Catalog, describe: Describe
) -> list[Change]:
    """CREATE [OR REPLACE] VIEW name [(columns)] AS query."""
    _check_properties(statement)
    target = statement.this
    columns = None
    if isinstance(target, exp.Schema):
        columns = [c.name for c in target.expressions]
        target = target.this
    query = statement.expression
    if not isinstance(target, exp.Table) or not isinstance(query, exp.Query):
        raise NotSupportedError("CREATE VIEW needs a name and a query")
    if query.find(exp.Parameter, exp.Placeholder):
        raise BadRequestError("a view's query cannot have parameters")
    name = logical_name(target, info.namespace)
    schema = name.split(".", 1)[0]
    if schema not in catalog.schemas:
        raise NotFoundError(f"schema {schema} does not exist")
    if name in catalog.tables or (name in catalog.views and not statement.args.get("replace")):
        raise with_sqlstate(ConflictError(f"relation {name} already exists"), "42P07")
    stored = stored_query(query, info.namespace, columns)
    # Described with the new definition in place, so a view that would reach itself fails.
    pending = ViewDef(name=name, sql=stored.sql("postgres"), columns=[])
    names = describe(stored.copy(), replace(catalog, views={**catalog.views, name: pending}))
    if len(set(names)) != len(names):
        raise with_sqlstate(SqlValidationError(f"view {name} has duplicate column names"), "42701")
    view = ViewDef(name=name, sql=stored.sql("postgres"), columns=names)
    logged = qualify(statement, info.namespace)
    logged.set("expression", stored)
    return [_change("create_view", name, logged, view)]


def plan_drop_view(statement: exp.Drop, info: StatementInfo, catalog: Catalog) -> list[Change]:
    """DROP VIEW [IF EXISTS] name [, ...]; refused while another view reads it."""
    if statement.args.get("cascade"):
        raise NotSupportedError("DROP VIEW ... CASCADE is not supported")
    changes: list[Change] = []
    names = [logical_name(t, info.namespace) for t in statement.args.get("tables") or []]
    for name in names:
        if name not in catalog.views:
            if statement.args.get("exists"):
                continue
            raise NotFoundError(f"view {name} does not exist")
        others = [v for v in catalog.views.values() if v.name not in names]
        check_no_dependent_views(
            Catalog(catalog.token, catalog.schemas, {}, {v.name: v for v in others}), name
        )
        logged = exp.Drop(
            this=exp.to_table(name), kind="VIEW", exists=bool(statement.args.get("exists"))
        )
        changes.append(_change("drop_view", name, logged, None))
    return changes


def reads_relation(view: ViewDef, relation: str) -> bool:
    """Whether a view's query names ``relation`` (a table or a view, ``ns.name``)."""
    query = view_query(view.sql)
    local = cte_names(query)
    return any(
        f"{t.db}.{t.name}".lower() == relation
        for t in query.find_all(exp.Table)
        if t.db and t.name.lower() not in local
    )


def drop_views_of_schema(schema: str, catalog: Catalog) -> list[Change]:
    """drop_view changes for every view of ``schema``, each after the views that read it;
    refused (2BP01) while a view of another schema reads one of its views or tables."""
    inside = {v.name: v for v in catalog.views.values() if v.schema == schema}
    for other in catalog.views.values():
        if other.schema == schema:
            continue
        for relation in [*inside, *(t for t in catalog.tables if t.startswith(f"{schema}."))]:
            if reads_relation(other, relation):
                error = ConflictError(f"view {other.name} depends on {relation}")
                raise with_sqlstate(error, "2BP01")
    changes: list[Change] = []
    while inside:
        free = [
            name
            for name in inside
            if not any(o.name != name and reads_relation(o, name) for o in inside.values())
        ]
        for name in free or list(inside):
            logged = exp.Drop(this=exp.to_table(name), kind="VIEW")
            changes.append(_change("drop_view", name, logged, None))
            del inside[name]
    return changes


def check_no_dependent_views(catalog: Catalog, relation: str) -> None:
    """Refuse to drop a table or view that a view reads (Postgres: 2BP01)."""
    for view in catalog.views.values():
        if reads_relation(view, relation):
            error = ConflictError(f"cannot drop {relation}: view {view.name} depends on it")
            raise with_sqlstate(error, "2BP01")


def _check_properties(statement: exp.Create) -> None:
    """WITH (security_invoker = true) is what every bkg-db view does; others are refused."""
    properties = statement.args.get("properties")
    for prop in properties.expressions if properties else []:
        key = prop.this.name.lower() if isinstance(prop, exp.Property) else ""
        value = prop.args.get("value") if isinstance(prop, exp.Property) else None
        if key not in _PROPERTIES:
            raise NotSupportedError(f"view option {prop.sql('postgres')} is not supported")
        if isinstance(value, exp.Boolean) and not value.this:
            raise NotSupportedError("views always run with the caller's rights (security_invoker)")


def stored_query(query: exp.Query, namespace: str, columns: list[str] | None) -> exp.Query:
    """The form a view's query is stored in: table names qualified with ``namespace`` (CTE
    names excepted), outputs named as Postgres names them, or by the view's column list."""
    stored = query.copy()
    local = cte_names(stored)
    for table in stored.find_all(exp.Table):
        if table.name and not table.db and table.name.lower() not in local:
            table.set("db", exp.to_identifier(namespace))
    first = stored
    while isinstance(first, exp.SetOperation):
        first = first.this
    if not isinstance(first, exp.Select):
        raise NotSupportedError("a view must be defined by a SELECT")
    outputs = first.expressions
    if columns is not None and len(columns) > len(outputs):
        error = SqlValidationError("CREATE VIEW specifies more column names than columns")
        raise with_sqlstate(error, "42601")
    first.set("expressions", [_named(node, i, columns) for i, node in enumerate(outputs)])
    return stored


def _named(node: exp.Expr, position: int, columns: list[str] | None) -> exp.Expr:
    """An output of a view's query under the name the view gives it."""
    if columns is not None and position < len(columns):
        if node.is_star:
            raise NotSupportedError("a view column list with SELECT * is not supported")
        return exp.alias_(node.unalias(), columns[position], quoted=True)
    if isinstance(node, exp.Alias | exp.Column | exp.Star) or node.is_star:
        return node
    return exp.alias_(node, postgres_name(node), quoted=True)


def _change(action: str, name: str, statement: exp.Expr, view: ViewDef | None) -> Change:
    """A DDL change record for a view."""
    return {
        "op": "ddl",
        "table": name,
        "action": action,
        "sql": statement.sql("postgres"),
        "sqlite": [],
        "definition": view.to_dict() if view else None,
    }
