"""Guards for the write target of INSERT, UPDATE and DELETE under row-level security.

Reads are guarded by wrapping tables (``api.rls.rewrite``); the written table is guarded here,
inside the statement itself, so SQLite enforces the policies while it writes and nothing has
to be checked afterwards:

- DELETE: ``WHERE (...) AND <delete using> AND <select using>``: only visible rows go, and
  RETURNING can only return rows that were visible.
- UPDATE: the same for the old row, and additionally the policy ``check`` evaluated on the
  *new* row, obtained by substituting each SET expression for its column; with RETURNING the
  new row must also be visible. A row whose new image fails is not updated.
- INSERT: the source rows go through ``SELECT * FROM (WITH _bkg_rls_new(cols) AS (<source>)
  SELECT ... FROM _bkg_rls_new WHERE <check>) WHERE TRUE`` (and visibility with RETURNING);
  rows that fail are not inserted. The statement still starts with INSERT (drivers count
  rows by the leading keyword) and ``WHERE TRUE`` keeps ON CONFLICT unambiguous for SQLite.
  The statement must name its columns, and every column the check reads must be among
  them, so a default can never stand in for a checked value.

Rows that fail a check are left out rather than raising, so ``rowcount`` tells the client how
many rows were written; no other principal's row is ever touched or returned.
"""

from __future__ import annotations

from sqlglot import exp

from api.rls.errors import AccessDeniedError

NEW_ROWS = "_bkg_rls_new"


def guard_delete(stmt: exp.Expr, ref: str, allowed: exp.Expr) -> None:
    """Restrict a DELETE to rows ``allowed`` (a predicate over the target's columns)."""
    add_where(stmt, bind_row(allowed, ref, {}))


def guard_update(
    stmt: exp.Update, ref: str, allowed: exp.Expr, check: exp.Expr, visible: exp.Expr | None
) -> None:
    """Restrict an UPDATE to allowed old rows whose new image passes ``check`` (and
    ``visible``, when the statement returns rows)."""
    new_row = check if visible is None else exp.and_(exp.paren(check), exp.paren(visible))
    condition = exp.and_(
        exp.paren(bind_row(allowed, ref, {})),
        exp.paren(bind_row(new_row, ref, _assignments(stmt))),
    )
    add_where(stmt, condition)


def guard_insert(stmt: exp.Insert, check: exp.Expr, visible: exp.Expr | None) -> None:
    """Route an INSERT's source rows through ``check`` (and ``visible`` with RETURNING)."""
    _refuse_upsert(stmt)
    schema, source = stmt.this, stmt.expression
    if not isinstance(schema, exp.Schema) or not schema.expressions or source is None:
        raise AccessDeniedError("an INSERT under row-level security must name its columns")
    columns = [ident.name.lower() for ident in schema.expressions]
    new_row = check if visible is None else exp.and_(exp.paren(check), exp.paren(visible))
    bound = bind_row(new_row, NEW_ROWS, {})
    for column in bound.find_all(exp.Column):
        if column.table == NEW_ROWS and column.name.lower() not in columns:
            raise AccessDeniedError(f"the policy check reads column {column.name!r}: name it")
    alias = exp.TableAlias(
        this=exp.to_identifier(NEW_ROWS), columns=[exp.to_identifier(c) for c in columns]
    )
    cte = exp.CTE(this=source.pop(), alias=alias)
    rows = exp.select(*[exp.column(c, table=NEW_ROWS) for c in columns]).from_(NEW_ROWS)
    checked = rows.where(bound)
    checked.set("with_", exp.With(expressions=[cte]))
    outer = exp.select("*").from_(
        exp.Subquery(this=checked, alias=exp.TableAlias(this=exp.to_identifier(NEW_ROWS)))
    )
    stmt.set("expression", outer.where(exp.true()))


def bind_row(predicate: exp.Expr, ref: str, assignments: dict[str, exp.Expr]) -> exp.Expr:
    """A copy of a row predicate whose own columns read ``ref`` — or, for columns an UPDATE
    assigns, the assigned expression (the new row image)."""
    bound = exp.paren(predicate.copy())
    for column in _row_columns(bound):
        value = assignments.get(column.name.lower())
        if value is not None:
            column.replace(exp.paren(value.copy()))
        else:
            column.set("table", exp.to_identifier(ref))
    return bound


def _row_columns(predicate: exp.Expr) -> list[exp.Column]:
    """The predicate's unqualified columns outside its subqueries: the row's own columns."""
    return [
        column
        for column in predicate.find_all(exp.Column)
        if not column.table and column.find_ancestor(exp.Select) is None
    ]


def _assignments(stmt: exp.Update) -> dict[str, exp.Expr]:
    """Column -> assigned expression of an UPDATE's SET list."""
    found: dict[str, exp.Expr] = {}
    for item in stmt.expressions:
        if not (isinstance(item, exp.EQ) and isinstance(item.this, exp.Column)):
            raise AccessDeniedError("only SET column = expression is supported under RLS")
        found[item.this.name.lower()] = item.expression
    return found


def _refuse_upsert(stmt: exp.Insert) -> None:
    """ON CONFLICT DO UPDATE and INSERT OR REPLACE could change rows the user cannot see."""
    conflict = stmt.args.get("conflict")
    updates = isinstance(conflict, exp.OnConflict) and (
        conflict.args.get("expressions") or "UPDATE" in str(conflict.args.get("action")).upper()
    )
    if stmt.args.get("alternative") or updates:
        raise AccessDeniedError("upserts are not available under row-level security")


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
