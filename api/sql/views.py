"""Views: stored as their Postgres query and expanded where a statement names them.

A view has no SQLite object. Before a statement is rewritten for row-level security and
translated, every reference to a view becomes a subquery of the view's query (whose table
names are schema-qualified when the view is created), so the rewrite sees the base tables and
a view always reads with the caller's rights and policies: Postgres 15's
``security_invoker = true``, the form Supabase recommends. A view over views expands until
only tables are left; a definition that reaches itself (possible through CREATE OR REPLACE)
is refused as Postgres refuses it.
"""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp

from api.sql.catalog import Catalog
from api.sql.errors import NotSupportedError, SqlValidationError, with_sqlstate
from api.sql.parse import logical_name, table_refs
from api.sql.reader import BkgPostgres

MAX_VIEW_DEPTH = 32
"""Views nested deeper than this are refused (a cycle would otherwise expand forever)."""


def expand_views(expression: exp.Expression, namespace: str, catalog: Catalog) -> exp.Expression:
    """Replace references to views by their queries (in place); writing to a view is refused."""
    if not catalog.views:
        return expression
    target = _write_target(expression)
    for _ in range(MAX_VIEW_DEPTH):
        found = False
        for table in table_refs(expression):
            view = catalog.views.get(logical_name(table, namespace))
            if view is None:
                continue
            if table is target:
                verb = {"insert": "insert into", "update": "update", "delete": "delete from"}
                action = verb[type(expression).__name__.lower()]
                error = SqlValidationError(f"cannot {action} view {view.name}: views are read-only")
                raise with_sqlstate(error, "55000")
            alias = exp.TableAlias(this=exp.to_identifier(table.alias or table.name))
            table.replace(exp.Subquery(this=view_query(view.sql).copy(), alias=alias))
            found = True
        if not found:
            return expression
    raise with_sqlstate(
        SqlValidationError("infinite recursion detected in the definitions of views"), "42P17"
    )


def _write_target(expression: exp.Expression) -> exp.Expr | None:
    """The table an INSERT, UPDATE or DELETE writes, if the statement is one."""
    if not isinstance(expression, exp.Insert | exp.Update | exp.Delete):
        return None
    target: exp.Expr = expression.this
    return target.this if isinstance(target, exp.Schema) else target


@functools.lru_cache(maxsize=256)
def view_query(sql: str) -> exp.Query:
    """A stored view query, parsed (shared: copy before changing it)."""
    parsed = sqlglot.parse_one(sql, read=BkgPostgres)
    if not isinstance(parsed, exp.Query):
        raise NotSupportedError("a view must be defined by a query")
    return parsed
