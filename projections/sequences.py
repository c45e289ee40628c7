"""SQL sequences on a projection connection: ``nextval``, ``currval`` and ``setval``.

A sequence ``ns.s`` is a one-row table ``"ns.s"`` (``last_value``, ``start_value``,
``increment_by``, ``min_value``, ``max_value``, ``cycle``, ``is_called``) created by its DDL
change. The functions registered here read and update that row with ordinary statements on
the same connection, so the row-capture triggers log each step as an update row image and
replaying the log leaves every sequence exactly where the writer left it. They run on the
writer's connection only: the SQL layer sends statements that call them to the writer.
"""

from __future__ import annotations

import sqlite3

from projections.bounds import Refusal, record_refusal

NEXTVAL_FUNCTION = "_bkg_nextval"
CURRVAL_FUNCTION = "_bkg_currval"
SETVAL_FUNCTION = "_bkg_setval"
COLUMNS = (
    "last_value",
    "start_value",
    "increment_by",
    "min_value",
    "max_value",
    "cycle",
    "is_called",
)


class SequenceError(Exception):
    """A sequence refused a step (exhausted, out of bounds, or currval before nextval); the
    refusal is recorded for the SQL layer's error mapping with Postgres's SQLSTATE."""

    def __init__(self, message: str, sqlstate: str) -> None:
        super().__init__(message)
        record_refusal(Refusal(None, 0, message, sqlstate))


def register(conn: sqlite3.Connection) -> None:
    """Register the sequence functions on ``conn``."""

    def row(name: str) -> tuple[int, int, int, int, int, int, int]:
        found = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM {_quote(name)}").fetchone()
        if found is None:
            raise SequenceError(f"sequence {name} has no state", "55000")
        return tuple(found)

    def nextval(name: str) -> int:
        last, _, step, low, high, cycle, called = row(name)
        value = last + step if called else last
        if value > high or value < low:
            if not cycle:
                bound = "maximum" if value > high else "minimum"
                message = f"nextval: reached {bound} value of sequence {name}"
                raise SequenceError(message, "2200H")
            value = low if step > 0 else high
        conn.execute(f"UPDATE {_quote(name)} SET last_value = ?, is_called = 1", (value,))
        return value

    def currval(name: str) -> int:
        last, *_, called = row(name)
        if not called:
            raise SequenceError(f"currval of sequence {name} is not yet defined", "55000")
        return last

    def setval(name: str, value: int, called: int = 1) -> int:
        _, _, _, low, high, _, _ = row(name)
        if not low <= value <= high:
            message = f"setval: value {value} is out of bounds for sequence {name}"
            raise SequenceError(message, "22003")
        conn.execute(
            f"UPDATE {_quote(name)} SET last_value = ?, is_called = ?", (value, 1 if called else 0)
        )
        return value

    conn.create_function(NEXTVAL_FUNCTION, 1, nextval)
    conn.create_function(CURRVAL_FUNCTION, 1, currval)
    conn.create_function(SETVAL_FUNCTION, 2, setval)
    conn.create_function(SETVAL_FUNCTION, 3, setval)


def _quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'
