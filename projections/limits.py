"""SQLite's resource limits, applied to every connection that runs statements.

SQLite's compiled-in limits allow a single value of 1 GB, a statement of 1 GB and ten
attached databases; one statement could then make the process allocate gigabytes
(`randomblob(1e9)`). Each connection the server opens for statements (the write connection,
snapshot readers, past states) gets these instead. The largest value is well above the
log's largest record (16 MiB), so no logged write can fail to replay because of it.
"""

from __future__ import annotations

import sqlite3

MIB = 1024 * 1024

LIMITS: dict[str, tuple[int, int]] = {
    # name as reported to clients: (sqlite3 limit category, value)
    "length": (sqlite3.SQLITE_LIMIT_LENGTH, 64 * MIB),
    "sql_length": (sqlite3.SQLITE_LIMIT_SQL_LENGTH, 4 * MIB),
    "expr_depth": (sqlite3.SQLITE_LIMIT_EXPR_DEPTH, 1000),
    "compound_select": (sqlite3.SQLITE_LIMIT_COMPOUND_SELECT, 500),
    "variable_number": (sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32766),
    "function_arg": (sqlite3.SQLITE_LIMIT_FUNCTION_ARG, 127),
    "like_pattern_length": (sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 50000),
    "trigger_depth": (sqlite3.SQLITE_LIMIT_TRIGGER_DEPTH, 1000),
    "attached": (sqlite3.SQLITE_LIMIT_ATTACHED, 0),
}
LENGTH_LIMIT = LIMITS["length"][1]


def apply_limits(conn: sqlite3.Connection) -> sqlite3.Connection:
    """Set every limit of `LIMITS` on `conn` (never raising one above SQLite's build)."""
    for category, value in LIMITS.values():
        conn.setlimit(category, min(value, conn.getlimit(category)))
    return conn
