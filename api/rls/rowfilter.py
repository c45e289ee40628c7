"""Policies evaluated on row images: could this principal SELECT (or write) this row?

Pushed data (realtime, CDC fan-out) carries a row image, not a query, and storage decides on
object rows it builds itself; so the principal's policies are evaluated on the image:
``SELECT 1 FROM (SELECT :c0 AS col0, ...) AS t WHERE <using>`` on a projection connection
(policy subqueries read the tables of the snapshot). The compiled SQL is cached per (table,
action, columns); values are always bound parameters.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from sqlglot import exp

from api.auth.principal import Principal
from api.rls.policy import PolicySet
from api.rls.predicates import bind_predicate
from api.sql.translate import generate
from projections.apply import physical_name


class RowFilter:
    """Visibility of row images for one principal under one policy set."""

    def __init__(self, policies: PolicySet, principal: Principal) -> None:
        self._policies = policies
        self._principal = principal
        self._compiled: dict[tuple[str, ...], str | None] = {}

    def visible(self, conn: sqlite3.Connection, table: str, row: Mapping[str, Any]) -> bool:
        """True when ``row`` of logical table ``N.t`` is one the principal may read."""
        return self.passes(conn, table, "select", row)

    def passes(
        self,
        conn: sqlite3.Connection,
        table: str,
        action: str,
        row: Mapping[str, Any],
        use_check: bool = False,
    ) -> bool:
        """True when the policies for ``action`` let ``row`` through: their ``using``, or with
        ``use_check`` their write check (for a row about to be written)."""
        if self._principal.kind == "admin":
            return True
        namespace, _, _ = table.partition(".")
        if namespace != self._principal.default_namespace:
            return False
        if self._principal.bypasses_rls:
            return True
        columns = tuple(row)
        key = (table, action, str(use_check), *columns)
        if key not in self._compiled:
            self._compiled[key] = self._compile(table, action, use_check, columns)
        sql = self._compiled[key]
        if sql is None:
            return False
        params = {f"c{i}": row[name] for i, name in enumerate(columns)}
        return bool(conn.execute(sql, params).fetchall())

    def _compile(
        self, table: str, action: str, use_check: bool, columns: Sequence[str]
    ) -> str | None:
        """The evaluation query, or None when no policy lets anything through."""
        principal = self._principal
        predicates = []
        for policy in self._policies.applicable(table, action, principal.kind):
            predicate = policy.write_check() if use_check else policy.using_expr
            if predicate is not None:
                bound = bind_predicate(predicate, principal.sub, principal.claims)
                predicates.append(exp.paren(bound))
        if not predicates:
            return None
        image = exp.select(
            *[
                exp.alias_(exp.Placeholder(this=f"c{i}"), c, quoted=True)
                for i, c in enumerate(columns)
            ]
        )
        name = table.partition(".")[2]
        query = exp.select("1").from_(image.subquery(name)).where(exp.or_(*predicates)).limit(1)
        return generate(_physical(query))


def _physical(query: exp.Expr) -> exp.Expr:
    """Logical ``N.t`` table references as the projection's physical ``"N.t"`` tables."""
    for table in list(query.find_all(exp.Table)):
        if table.db:
            logical = f"{table.db}.{table.name}"
            alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name))
            renamed = exp.Table(this=exp.to_identifier(physical_name(logical), quoted=True))
            renamed.set("alias", alias)
            table.replace(renamed)
    return query
