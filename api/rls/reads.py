"""Guards for tables a statement reads under row-level security.

A read is filtered in one of two ways, both equivalent to reading only the visible rows:

- **in place**: the select policy's predicate, its columns qualified with the table's alias,
  is ANDed into the WHERE of the query whose FROM holds the table (or of an inner join), or
  into the ON of a LEFT JOIN whose right side the table is. Filtering before or after an inner
  join, or on the preserved side of a LEFT JOIN, gives the same rows. This keeps the table a
  plain table, so the SQL layer still types its columns and SQLite still uses its indexes.
- **wrapped**: ``(SELECT * FROM N.t WHERE <predicate>) AS <alias>`` everywhere else: tables
  under RIGHT/FULL joins, UPDATE ... FROM, DELETE ... USING, a LEFT JOIN without ON, an alias
  that is not unique in its FROM, and predicates with subqueries (whose unqualified names must
  resolve against the protected table alone, not against the user's other tables).
"""

from __future__ import annotations

from sqlglot import exp

from api.rls.writes import add_where, bind_row

_GUARD_MARK = "bkg_rls_guarded"


def guard_read(table: exp.Table, namespace: str, name: str, predicate: exp.Expr) -> None:
    """Filter the rows the statement reads from ``table`` (namespace.name) by ``predicate``."""
    alias = table.alias_or_name
    point = None if predicate.find(exp.Select) else _injection_point(table, alias)
    mark_guarded(table)
    if isinstance(point, exp.Select):
        add_where(point, bind_row(predicate, alias))
    elif isinstance(point, exp.Join):
        guard = bind_row(predicate, alias)
        on = exp.and_(guard, exp.paren(point.args["on"], copy=False), copy=False)
        point.set("on", on)
    else:
        _wrap(table, namespace, name, predicate)


def mark_guarded(table: exp.Table) -> None:
    """Record on the node that its rows are filtered (or that it is trusted policy text)."""
    table.meta[_GUARD_MARK] = True


def is_guarded(table: exp.Table) -> bool:
    """True for tables marked by :func:`mark_guarded`."""
    return bool(table.meta.get(_GUARD_MARK))


def _injection_point(table: exp.Table, alias: str) -> exp.Select | exp.Join | None:
    """Where the predicate may be added in place, or None when the table must be wrapped."""
    parent = table.parent
    query = parent.parent if parent is not None else None
    if not isinstance(query, exp.Select) or not _unique_alias(query, alias):
        return None
    if isinstance(parent, exp.From):
        return query if _no_outer_right_joins(query) else None
    if not isinstance(parent, exp.Join) or parent.this is not table:
        return None
    side = parent.side.upper()
    if side == "LEFT":
        return parent if parent.args.get("on") is not None else None
    if side or parent.args.get("using"):
        return None
    return query if _no_outer_right_joins(query) else None


def _no_outer_right_joins(query: exp.Select) -> bool:
    """RIGHT and FULL joins make earlier tables nullable: WHERE would drop their NULL rows."""
    return all(j.side.upper() not in ("RIGHT", "FULL") for j in query.args.get("joins") or [])


def _unique_alias(query: exp.Select, alias: str) -> bool:
    """The alias names exactly one item of the query's FROM and JOINs."""
    items: list[exp.Expr] = []
    from_ = query.args.get("from_")
    if from_ is not None:
        items.append(from_.this)
    items.extend(join.this for join in query.args.get("joins") or [])
    return sum(1 for item in items if item.alias_or_name.lower() == alias.lower()) == 1


def _wrap(table: exp.Table, namespace: str, name: str, predicate: exp.Expr) -> None:
    """Replace a table read by the subquery of its visible rows, under the same alias."""
    alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(name))
    source = exp.Table(this=exp.to_identifier(name), db=exp.to_identifier(namespace))
    mark_guarded(source)
    visible = exp.Select(
        expressions=[exp.Star()], from_=exp.From(this=source), where=exp.Where(this=predicate)
    )
    table.replace(exp.Subquery(this=visible, alias=alias.pop()))
