"""Guards for the write target of INSERT, UPDATE and DELETE under row-level security.

Reads are guarded by wrapping tables (``api.rls.reads``); the written table is guarded here,
inside the statement, for the rows it *touches*:

- DELETE and UPDATE: ``WHERE <using> AND <select using> AND (...)``: only visible rows the
  policies let the principal change are touched, and RETURNING can only return those.
- INSERT: upserts (``ON CONFLICT DO UPDATE``, ``INSERT OR REPLACE``) are refused, as they
  could change rows the principal cannot see.

The rows a statement *writes* are not checked here but after it ran, on the row images it
produced (``api.rls.checks``): an expression such as ``random()`` or ``now()`` is evaluated
once, so the row checked is the row stored, and a row that fails refuses the whole request
(Postgres' "new row violates row-level security policy") instead of being left out.
"""

from __future__ import annotations

from sqlglot import exp

from api.rls.errors import AccessDeniedError


def guard_existing(stmt: exp.Expr, ref: str, allowed: exp.Expr) -> None:
    """Restrict an UPDATE or DELETE to rows ``allowed`` (a predicate over the target's
    columns, which the statement calls ``ref``)."""
    add_where(stmt, bind_row(allowed, ref))


def refuse_upsert(stmt: exp.Insert) -> None:
    """ON CONFLICT DO UPDATE and INSERT OR REPLACE could change rows the user cannot see."""
    conflict = stmt.args.get("conflict")
    updates = isinstance(conflict, exp.OnConflict) and (
        conflict.args.get("expressions") or "UPDATE" in str(conflict.args.get("action")).upper()
    )
    if stmt.args.get("alternative") or updates:
        raise AccessDeniedError("upserts are not available under row-level security")


def bind_row(predicate: exp.Expr, ref: str) -> exp.Expr:
    """A copy of a row predicate whose own columns read the table called ``ref``."""
    bound = exp.paren(predicate.copy())
    for column in _row_columns(bound):
        column.set("table", exp.to_identifier(ref))
    return bound


def _row_columns(predicate: exp.Expr) -> list[exp.Column]:
    """The predicate's unqualified columns outside its subqueries: the row's own columns."""
    return [
        column
        for column in predicate.find_all(exp.Column)
        if not column.table and column.find_ancestor(exp.Select) is None
    ]


def add_where(stmt: exp.Expr, condition: exp.Expr) -> None:
    """AND ``condition`` into the statement's WHERE, ahead of the existing one: SQLite then
    tests the guard first, so the user's own terms (which may raise, e.g. on malformed JSON)
    are not evaluated on rows the guard rejects. Nodes of the statement are moved, never
    copied: other guards hold references into them."""
    where = stmt.args.get("where")
    if where is None:
        combined = condition
    else:
        combined = exp.and_(condition, exp.paren(where.this, copy=False), copy=False)
    stmt.set("where", exp.Where(this=combined))
