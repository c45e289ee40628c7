"""The projection's own bookkeeping: which LSN its tables reflect.

The applied LSN lives in a one-row table of the same SQLite database as the projected tables
and is written in the same transaction as the effects of the records up to it, so after any
crash the store resumes from `applied + 1` and never applies a record twice.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from projections.aggfuncs import register as register_aggregates
from projections.apply import ensure_internal_schema
from projections.arrayfuncs import register as register_arrays
from projections.bounds import (
    BOUND_FUNCTION,
    MATCH_FUNCTION,
    Refusal,
    bound,
    bound_match,
    record_refusal,
)
from projections.datetimefuncs import register as register_datetime_functions
from projections.errors import ProjectionError
from projections.jsonfuncs import register as register_json_functions
from projections.limits import apply_limits
from projections.numeric import register as register_numeric
from projections.regexfuncs import register as register_regex_functions
from projections.sequences import register as register_sequences
from projections.textfuncs import register as register_text_functions
from projections.textsearch import register as register_text_search

APPLIED_TABLE = "_bkg_applied"
DIVISOR_FUNCTION = "_bkg_divisor"
"""Registered on every connection (with `projections.bounds.BOUND_FUNCTION`):
``_bkg_divisor(divisor, dividend)``
returns the divisor, refusing a zero one under a non-NULL dividend. SQLite answers NULL for
``x / 0`` and ``x % 0``; the SQL dialect wraps divisors in it so they fail like Postgres'
``division by zero`` (SQLSTATE 22012) instead."""
DIVISOR_ERROR = "user-defined function raised exception"
"""What sqlite3 reports when a registered function refuses (the divisor function or the
argument bound); `projections.bounds.take_refusal` tells which."""


def connect(path: str, *, read_only: bool = False) -> sqlite3.Connection:
    """Open a projection database in WAL mode with explicit transactions.

    synchronous=OFF trades the store's own durability for speed: the log is the truth and an
    unclean shutdown is repaired from checkpoint + log (see `projections.repair`). Every
    connection runs under the resource limits of `projections.limits`.
    """
    conn = apply_limits(sqlite3.connect(path, isolation_level=None, check_same_thread=False))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    configure(conn)
    if read_only:
        conn.execute("PRAGMA query_only=ON")
    return conn


def configure(conn: sqlite3.Connection) -> None:
    """Give a connection the semantics every statement, policy and replay relies on; call it
    on every connection that runs statements or folds records (outside a transaction).

    - ``foreign_keys``: REFERENCES, ON DELETE CASCADE / SET NULL are enforced (replay
      defers the checks to commit, see ``projections.apply.apply_changes``);
    - ``case_sensitive_like``: LIKE compares case-sensitively as in Postgres (ILIKE is
      translated to ``lower(a) LIKE lower(b)``);
    - the divisor function, so division by zero is an error as in Postgres;
    - the argument bound of `projections.bounds`, so no quadratic string function can hold
      the connection for long;
    - the sequence functions of `projections.sequences` (nextval, currval, setval) and the
      string functions of `projections.textfuncs` (lpad, split_part, ...), and the rounding of
      `numeric(p, s)` values of `projections.numeric`, the jsonb functions of
      `projections.jsonfuncs`, the interval functions of `projections.datetimefuncs`, the
      time-bounded regular expressions of `projections.regexfuncs`, the ordered aggregates
      of `projections.aggfuncs`, the array functions of `projections.arrayfuncs` and the
      full-text search of `projections.textsearch`.
    """
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA case_sensitive_like=ON")
    conn.create_function(DIVISOR_FUNCTION, 2, _divisor, deterministic=True)
    conn.create_function(BOUND_FUNCTION, 2, bound, deterministic=True)
    conn.create_function(MATCH_FUNCTION, 3, bound_match, deterministic=True)
    register_sequences(conn)
    register_text_functions(conn)
    register_numeric(conn)
    register_json_functions(conn)
    register_datetime_functions(conn)
    register_regex_functions(conn)
    register_aggregates(conn)
    register_arrays(conn)
    register_text_search(conn)
    # The pragma is deprecated; a SQLite built without it would silently fold case again.
    if conn.execute("SELECT 'a' LIKE 'A'").fetchone()[0]:
        raise ProjectionError("this SQLite cannot make LIKE case-sensitive (case_sensitive_like)")


def _divisor(value: Any, dividend: Any) -> Any:
    """``value`` unchanged unless it is zero (as SQLite would read it as a number) and the
    dividend is not NULL."""
    if dividend is not None and _is_zero(value):
        record_refusal(Refusal(None))
        raise ZeroDivisionError("division by zero")
    return value


def _is_zero(value: Any) -> bool:
    """True for 0, 0.0 and text SQLite's arithmetic reads as zero."""
    if isinstance(value, str):
        try:
            return float(value) == 0
        except ValueError:
            return False
    return not isinstance(value, bytes) and value == 0


def init_schema(conn: sqlite3.Connection) -> None:
    """Create the internal tables (idempotent): the SQL catalogue and the applied LSN."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        ensure_internal_schema(conn)
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {APPLIED_TABLE}"
            " (id INTEGER PRIMARY KEY CHECK (id = 1), lsn INTEGER NOT NULL)"
        )
        conn.execute(f"INSERT OR IGNORE INTO {APPLIED_TABLE} (id, lsn) VALUES (1, 0)")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def read_applied_lsn(conn: sqlite3.Connection) -> int:
    """The LSN of the last record folded into this database (0 for an empty store)."""
    row = conn.execute(f"SELECT lsn FROM {APPLIED_TABLE} WHERE id = 1").fetchone()
    return int(row[0]) if row else 0


def set_applied_lsn(conn: sqlite3.Connection, lsn: int) -> None:
    """Record `lsn` as applied; call inside the transaction that holds its effects."""
    conn.execute(f"UPDATE {APPLIED_TABLE} SET lsn = ? WHERE id = 1", (lsn,))
