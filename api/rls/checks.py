"""The policy check of the rows a user's INSERT or UPDATE wrote, on the images it produced.

A statement's new rows are checked after it ran, on the row images the SQL engine captured
(``Outcome.changes``: exactly what is logged, replayed and pushed), never by evaluating the
statement's expressions a second time. So an owner computed by ``random()`` or ``now()`` is
checked with the value that was stored. Postgres semantics, per row of the written table:

- INSERT: the new row passes an insert policy's ``check`` (a policy without ``check`` uses
  its ``using``; permissive policies OR'ed); with RETURNING it must also pass a select
  policy, since the statement hands it back.
- UPDATE: the new row passes an update policy's ``check`` (else ``using``) and a select
  policy (an UPDATE reads the rows it changes; Postgres checks the select policies on the
  new row whenever the statement reads the table). So an UPDATE can neither give a row
  away nor move it out of the principal's sight.

A failing row raises :class:`PolicyViolationError` (403 ``FORBIDDEN``, SQLSTATE 42501); the
commit pipeline then rolls the whole request back and appends nothing. Rows written by
foreign-key actions (cascades on other tables) are not checked, as in Postgres.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from typing import Any

from api.auth.principal import Principal
from api.rls.errors import PolicyViolationError
from api.rls.policy import PolicySet
from api.rls.rowfilter import RowFilter
from api.sql import Outcome


class WriteChecker:
    """Checks the new rows of one principal's write statements (``AccessControl.check_writes``)."""

    def __init__(self, policies: PolicySet, principal: Principal) -> None:
        self._rows = RowFilter(policies, principal)

    def __call__(self, conn: sqlite3.Connection, outcome: Outcome) -> None:
        """Raise unless every row the statement wrote to its target passes (``conn`` is the
        writer connection, inside the request's transaction: policy subqueries see the
        state the statement left)."""
        table = outcome.target
        if table is None or outcome.is_ddl:
            return
        written: dict[str, list[Mapping[str, Any]]] = {"insert": [], "update": []}
        for change in outcome.changes:
            rows = written.get(change["op"])
            if rows is not None and change["table"] == table and change["new"] is not None:
                rows.append(change["new"])
        inserted, updated = written["insert"], written["update"]
        seen = updated + inserted if outcome.columns else updated
        if not (
            self._rows.all_pass(conn, table, "insert", inserted, use_check=True)
            and self._rows.all_pass(conn, table, "update", updated, use_check=True)
            and self._rows.all_pass(conn, table, "select", seen)
        ):
            raise PolicyViolationError(table)
