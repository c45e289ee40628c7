"""Reading the folded account tables (on a projection snapshot's connection).

Every read is scoped by namespace: a user, session or token of another namespace is simply
not found. Reads run to completion (`fetchall`), so no snapshot stays open.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any

from api.gotrue.records import TABLES


@dataclass(frozen=True)
class Row:
    """One row of an account table, by column name."""

    values: dict[str, Any]

    def __getitem__(self, column: str) -> Any:
        return self.values[column]


def _select(
    conn: sqlite3.Connection, table: str, where: str, params: list[Any], tail: str = ""
) -> list[Row]:
    name, columns = TABLES[table]
    try:
        rows = conn.execute(
            f"SELECT {', '.join(columns)} FROM {name} WHERE {where} {tail}", params
        ).fetchall()
    except sqlite3.OperationalError:  # no account was ever folded: no table yet
        return []
    return [Row(dict(zip(columns, row, strict=True))) for row in rows]


def _one(rows: list[Row]) -> Row | None:
    return rows[0] if rows else None


def user_by_email(conn: sqlite3.Connection, namespace: str, email: str) -> Row | None:
    return _one(_select(conn, "users", "namespace = ? AND email = ?", [namespace, email]))


def user_by_id(conn: sqlite3.Connection, namespace: str, user_id: str) -> Row | None:
    return _one(_select(conn, "users", "namespace = ? AND id = ?", [namespace, user_id]))


def users(conn: sqlite3.Connection, namespace: str, offset: int, limit: int) -> list[Row]:
    tail = "ORDER BY created_at, id LIMIT ? OFFSET ?"
    return _select(conn, "users", "namespace = ?", [namespace, limit, offset], tail)


def user_count(conn: sqlite3.Connection, namespace: str) -> int:
    """How many users `namespace` has (the admin list's `X-Total-Count`)."""
    try:
        row = conn.execute(
            f"SELECT count(*) FROM {TABLES['users'][0]} WHERE namespace = ?", [namespace]
        ).fetchone()
    except sqlite3.OperationalError:  # no account was ever folded: no table yet
        return 0
    return int(row[0])


def identities(conn: sqlite3.Connection, user_id: str) -> list[Row]:
    return _select(conn, "identities", "user_id = ?", [user_id], "ORDER BY created_at")


def session(conn: sqlite3.Connection, namespace: str, session_id: str) -> Row | None:
    return _one(_select(conn, "sessions", "namespace = ? AND id = ?", [namespace, session_id]))


def sessions_of(conn: sqlite3.Connection, user_id: str) -> list[Row]:
    return _select(conn, "sessions", "user_id = ?", [user_id])


def refresh_token(conn: sqlite3.Connection, namespace: str, hashed: str) -> Row | None:
    return _one(_select(conn, "refresh_tokens", "namespace = ? AND hash = ?", [namespace, hashed]))


def recovery(conn: sqlite3.Connection, namespace: str, hashed: str) -> Row | None:
    return _one(_select(conn, "recoveries", "namespace = ? AND hash = ?", [namespace, hashed]))
