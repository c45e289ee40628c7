"""The "accounts" records of the log and their fold into the `_bkg_auth_*` tables.

A record is `{"type": <what happened>, "ops": [...]}`: `type` names the event for people
reading the log or the audit trail (`user.signed_up`, `user.signed_in`, `token.refreshed`,
`user.updated`, `user.logged_out`, `user.recovery_requested`, `user.recovered`,
`user.deleted`, `session.revoked_on_reuse`, `user.created_by_admin`, ...); `ops` are row
images, applied in order: `{"op": "put", "table", "row"}` (the whole row, replacing one
with the same key) and `{"op": "delete", "table", "where": {column: value}}`. Row images
(never "what to do") keep the fold deterministic: a rebuild reproduces the tables exactly.
One request is one record, so a sign-up that also opens a session is one record too.

Only hashes of secrets are ever written: argon2id for passwords, SHA-256 for refresh and
recovery tokens (random 256-bit values, for which a fast hash is enough).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from projections.folds import Event

KIND = "accounts"
TABLES: Mapping[str, tuple[str, tuple[str, ...]]] = MappingProxyType(
    {
        "users": (
            "_bkg_auth_users",
            (
                "id", "namespace", "email", "password_hash", "user_metadata", "app_metadata",
                "created_at", "updated_at", "email_confirmed_at", "last_sign_in_at",
            ),
        ),
        "identities": (
            "_bkg_auth_identities",
            (
                "id", "user_id", "namespace", "provider", "identity_data", "created_at",
                "updated_at", "last_sign_in_at",
            ),
        ),
        "sessions": (
            "_bkg_auth_sessions",
            ("id", "user_id", "namespace", "created_at", "updated_at", "refreshed_at"),
        ),
        "refresh_tokens": (
            "_bkg_auth_refresh_tokens",
            ("hash", "session_id", "user_id", "namespace", "created_at", "revoked_at"),
        ),
        "recoveries": (
            "_bkg_auth_recoveries",
            ("hash", "user_id", "namespace", "created_at", "expires_at", "used_at"),
        ),
    }
)  # fmt: skip
"""Each table's name and columns; the first column is its key."""
_INDEXES = (
    "CREATE UNIQUE INDEX IF NOT EXISTS _bkg_auth_users_email ON _bkg_auth_users (namespace, email)",
    "CREATE INDEX IF NOT EXISTS _bkg_auth_sessions_user ON _bkg_auth_sessions (user_id)",
    "CREATE INDEX IF NOT EXISTS _bkg_auth_refresh_session ON _bkg_auth_refresh_tokens (session_id)",
)


def token_hash(token: str) -> str:
    """What is stored of a refresh or recovery token."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def put(table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    return {"op": "put", "table": table, "row": dict(row)}


def delete(table: str, **where: Any) -> dict[str, Any]:
    return {"op": "delete", "table": table, "where": where}


def record(event_type: str, *ops: dict[str, Any]) -> dict[str, object]:
    """The payload of one "accounts" record."""
    return {"type": event_type, "ops": list(ops)}


def ensure_tables(conn: sqlite3.Connection) -> None:
    """Create the tables if missing (idempotent)."""
    for name, columns in TABLES.values():
        defs = ", ".join(
            f"{c} {'TEXT PRIMARY KEY' if i == 0 else ''}" for i, c in enumerate(columns)
        )
        conn.execute(f"CREATE TABLE IF NOT EXISTS {name} ({defs})")
    for statement in _INDEXES:
        conn.execute(statement)


def fold_accounts(conn: sqlite3.Connection, event: Event) -> None:
    """Apply one "accounts" record's row images (unknown ops and tables are ignored, as a
    newer server's records would be by an older fold)."""
    ensure_tables(conn)
    for op in event.payload.get("ops", []):
        spec = TABLES.get(str(op.get("table"))) if isinstance(op, dict) else None
        if spec is None:
            continue
        name, columns = spec
        if op.get("op") == "put":
            row = op.get("row") or {}
            conn.execute(
                f"INSERT OR REPLACE INTO {name} ({', '.join(columns)})"
                f" VALUES ({', '.join('?' * len(columns))})",
                [row.get(column) for column in columns],
            )
        elif op.get("op") == "delete":
            where = {k: v for k, v in (op.get("where") or {}).items() if k in columns}
            if where:
                clause = " AND ".join(f"{column} = ?" for column in where)
                conn.execute(f"DELETE FROM {name} WHERE {clause}", list(where.values()))
