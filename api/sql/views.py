"""Views: stored as their Postgres query and expanded where a statement names them.

A view has no SQLite object. Before a statement is rewritten for row-level security and
translated, every reference to a view becomes a subquery of the view's query (whose table
names are schema-qualified when the view is created), so the rewrite sees the base tables and
a view always reads with the caller's rights and policies: Postgres 15's
``security_invoker = true``, the form Supabase recommends (``api.sql.inline`` repeats the
expansion for views over views).
"""

from __future__ import annotations

import functools

import sqlglot
from sqlglot import exp

from api.sql.catalog import ViewDef
from api.sql.errors import NotSupportedError, SqlValidationError, with_sqlstate
from api.sql.parse import logical_name, table_refs
from api.sql.reader import BkgPostgres


def expand_view_refs(
    expression: exp.Expr, namespace: str, views: dict[str, ViewDef], target: exp.Expr | None
) -> bool:
    """Replace references to views by their queries (in place); True if any was found.
    Writing to a view (``target``) is refused."""
    found = False
    for table in table_refs(expression):
        view = views.get(logical_name(table, namespace))
        if view is None:
            continue
        if table is target:
            verbs = {"insert": "insert into", "update": "update", "delete": "delete from"}
            action = verbs.get(type(expression).__name__.lower(), "write to")
            error = SqlValidationError(f"cannot {action} view {view.name}: views are read-only")
            raise with_sqlstate(error, "55000")
        alias = exp.TableAlias(this=exp.to_identifier(table.alias or table.name))
        table.replace(exp.Subquery(this=view_query(view.sql).copy(), alias=alias))
        found = True
    return found


@functools.lru_cache(maxsize=256)
def view_query(sql: str) -> exp.Query:
    """A stored view query, parsed (shared: copy before changing it)."""
    parsed = sqlglot.parse_one(sql, read=BkgPostgres)
    if not isinstance(parsed, exp.Query):
        raise NotSupportedError("a view must be defined by a query")
    return parsed
