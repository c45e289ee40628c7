"""Inline views and SQL functions into a statement before it is rewritten and translated.

Views and functions may use each other; expansion repeats until only tables and built-in
functions are left. A definition that reaches itself (possible through CREATE OR REPLACE)
would expand forever and is refused as Postgres refuses it (42P17).
"""

from __future__ import annotations

from sqlglot import exp

from api.sql.catalog import Catalog
from api.sql.errors import LimitExceededError, SqlValidationError, with_sqlstate
from api.sql.functions import expand_calls
from api.sql.views import expand_view_refs

MAX_DEPTH = 32
"""Views and functions nested deeper than this are refused."""
MAX_NODES = 20_000
"""A statement whose expansion grows beyond this many syntax nodes is refused (54000): views
and functions that use each other several times could otherwise grow it exponentially, and
translating takes about a millisecond per thousand nodes."""


def inline(expression: exp.Expression, namespace: str, catalog: Catalog) -> exp.Expression:
    """``expression`` (changed in place) with every view and function call inlined."""
    if not catalog.views and not catalog.functions:
        return expression
    target = _write_target(expression)
    for _ in range(MAX_DEPTH):
        views = expand_view_refs(expression, namespace, catalog.views, target)
        calls = expand_calls(expression, namespace, catalog.functions)
        if not views and not calls:
            return expression
        size = sum(1 for _ in expression.walk())
        if size > MAX_NODES:
            raise LimitExceededError(
                f"the statement grows to more than {MAX_NODES} nodes when its views and"
                " functions are expanded",
                {"limit": "max_expanded_nodes", "value": MAX_NODES},
            )
    error = SqlValidationError(
        "infinite recursion detected in the definitions of views or functions"
    )
    raise with_sqlstate(error, "42P17")


def _write_target(expression: exp.Expression) -> exp.Expr | None:
    """The table an INSERT, UPDATE or DELETE writes, if the statement is one."""
    if not isinstance(expression, exp.Insert | exp.Update | exp.Delete):
        return None
    target: exp.Expr = expression.this
    return target.this if isinstance(target, exp.Schema) else target
