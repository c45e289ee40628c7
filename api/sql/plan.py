"""``ReadPlan``: a read statement with everything about it decided once.

A read repeated with new parameters (a point SELECT by key, say) needs no parse, no
classification, no rewrite and no translation again: those depend only on the statement
text, the namespace, the rewrite (its ``cache_key``) and the catalogue. A plan holds their
result and the token of the catalogue it was made under (not the catalogue itself: plans
kept by the thousand must not keep old catalogues alive); running it is binding the
parameters, the SQLite call, the bounded fetch and the conversion of values that need one.
A plan is only valid on a connection that sees its catalogue (``token``): a DDL change makes
a new catalogue, and its holder must then ask the engine for a new plan.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from api.sql.binding import Params, bind
from api.sql.bounded import ResultLimits, fetch_bounded
from api.sql.catalog import Catalog
from api.sql.limits import BIGINT
from api.sql.results import typed_rows
from api.sql.sqlite_errors import translate_error
from api.sql.translate import Translated
from projections.tracing import span

_SEQUENCES = (list, tuple)
_SELECT = {"db.operation": "SELECT"}


class ReadPlan:
    """A translated read statement (see the module docstring); shared between threads and
    never changed after it is made, except for the column names it learns on its first
    run (always the same ones for its catalogue)."""

    __slots__ = ("_columns", "_plain", "families", "sql", "token", "translated", "types")

    def __init__(self, translated: Translated, catalog: Catalog) -> None:
        self.translated = translated
        self.token = catalog.token
        self.sql = translated.sql
        self.types = translated.types
        self.families = translated.families
        self._columns: tuple[str, ...] | None = None
        self._plain = -1 if translated.params or translated.coercions else translated.positional
        """How many parameters a list bound as it is has (-1: the statement has named or
        coerced parameters, so no list is)."""

    def run(
        self, conn: sqlite3.Connection, params: Params, limits: ResultLimits
    ) -> tuple[list[str], list[list[Any]]]:
        """Column names and typed rows of the statement on `conn` (which must see the
        plan's catalogue); SQLite errors leave as SqlError, a result beyond `limits` as
        `LimitExceededError`."""
        bindings: Any = params if _plain(params, self._plain) else bind(params, self.translated)
        try:
            with span("sql.execute", _SELECT):
                cursor = conn.execute(self.sql, bindings)
                rows = fetch_bounded(cursor, limits)
        except sqlite3.Error as exc:
            raise translate_error(exc) from exc
        columns = self._columns
        if columns is None:
            columns = self._columns = tuple(d[0] for d in cursor.description or ())
        if self.families is None:
            return list(columns), [list(row) for row in rows]
        return list(columns), typed_rows(rows, self.families)


def _plain(params: Params, count: int) -> bool:
    """Whether SQLite can bind `params` as they are: a list (or tuple) of `count` texts,
    floats, NULLs and 64-bit integers. Otherwise the full binding decides (and explains any
    refusal)."""
    if not isinstance(params, _SEQUENCES) or len(params) != count:
        return False
    for value in params:
        of = type(value)
        if of is int:
            if value not in BIGINT:
                return False
        elif of is not str and of is not float and value is not None:
            return False
    return True
