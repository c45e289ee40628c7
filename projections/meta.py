"""The projection's own bookkeeping: which LSN its tables reflect.

The applied LSN lives in a one-row table of the same SQLite database as the projected tables
and is written in the same transaction as the effects of the records up to it, so after any
crash the store resumes from `applied + 1` and never applies a record twice.
"""

from __future__ import annotations

import sqlite3

from projections.apply import ensure_internal_schema
from projections.limits import apply_limits

APPLIED_TABLE = "_bkg_applied"


def connect(path: str, *, read_only: bool = False) -> sqlite3.Connection:
    """Open a projection database in WAL mode with explicit transactions.

    synchronous=OFF trades the store's own durability for speed: the log is the truth and an
    unclean shutdown is repaired from checkpoint + log (see `projections.repair`). Every
    connection runs under the resource limits of `projections.limits`.
    """
    conn = apply_limits(sqlite3.connect(path, isolation_level=None, check_same_thread=False))
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    if read_only:
        conn.execute("PRAGMA query_only=ON")
    return conn


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
