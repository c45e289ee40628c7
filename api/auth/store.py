"""The key registry as a projection: "auth" records folded into ``_bkg_api_keys``.

Folding into the projection database means keys are rebuilt from the log with everything
else (rebuild, replay, restore) and every process reading the projection sees the same keys.
The fold goes through :func:`api.auth.registry.key_transition`, the same transition the
in-memory registry uses. ``_bkg_security_meta`` counts changes per kind, so a process can
tell in one query whether its cached registry (or policy set) is stale.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from api.auth.apikeys import ApiKeyRecord
from api.auth.registry import KeyRegistry, KeyState, key_transition
from projections.folds import Event

KEYS_TABLE = "_bkg_api_keys"
META_TABLE = "_bkg_security_meta"
_COLUMNS = (
    "id", "prefix", "hash", "scope", "namespace", "name", "created_at", "expires_at",
    "revoked_at", "rotated_to", "grace_until", "scram",
)  # fmt: skip


def ensure_table(conn: sqlite3.Connection) -> None:
    """Create the key table if missing (idempotent)."""
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} (id TEXT PRIMARY KEY, prefix TEXT NOT NULL,"
        " hash TEXT NOT NULL, scope TEXT NOT NULL, namespace TEXT, name TEXT,"
        " created_at REAL NOT NULL, expires_at REAL, revoked_at REAL, rotated_to TEXT,"
        " grace_until REAL, scram TEXT)"
    )
    known = {row[1] for row in conn.execute(f"PRAGMA table_info({KEYS_TABLE})").fetchall()}
    if "scram" not in known:  # a projection folded before verifiers were kept
        conn.execute(f"ALTER TABLE {KEYS_TABLE} ADD COLUMN scram TEXT")


def bump_version(conn: sqlite3.Connection, kind: str) -> None:
    """Count one change of ``kind`` ("keys", "policies")."""
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {META_TABLE} (kind TEXT PRIMARY KEY, version INTEGER NOT NULL)"
    )
    conn.execute(
        f"INSERT INTO {META_TABLE} (kind, version) VALUES (?, 1)"
        " ON CONFLICT (kind) DO UPDATE SET version = version + 1",
        (kind,),
    )


def read_version(conn: sqlite3.Connection, kind: str) -> int:
    """How many changes of ``kind`` were folded (0 when none or no table yet).

    Reads run to completion (``fetchall``): a half-read cursor would keep the snapshot's read
    transaction open and block the store's WAL checkpoint.
    """
    try:
        rows = conn.execute(f"SELECT version FROM {META_TABLE} WHERE kind = ?", (kind,)).fetchall()
    except sqlite3.OperationalError:
        return 0
    return int(rows[0][0]) if rows else 0


def fold_auth(conn: sqlite3.Connection, event: Event) -> None:
    """Fold one "auth" record into ``_bkg_api_keys`` (other auth payload types are ignored)."""
    ensure_table(conn)
    states = key_transition(event.payload, lambda key_id: _load(conn, key_id))
    for state in states:
        conn.execute(
            f"INSERT OR REPLACE INTO {KEYS_TABLE} ({', '.join(_COLUMNS)})"
            f" VALUES ({', '.join('?' * len(_COLUMNS))})",
            _row(state),
        )
    if states:
        bump_version(conn, "keys")


def load_key_registry(conn: sqlite3.Connection) -> KeyRegistry:
    """The registry as the projection holds it."""
    known = {row[1] for row in conn.execute(f"PRAGMA table_info({KEYS_TABLE})").fetchall()}
    if not known:
        return KeyRegistry()
    columns = [name if name in known else f"NULL AS {name}" for name in _COLUMNS]
    rows = conn.execute(f"SELECT {', '.join(columns)} FROM {KEYS_TABLE}").fetchall()
    return KeyRegistry(_state(row) for row in rows)


def _load(conn: sqlite3.Connection, key_id: str) -> KeyState | None:
    rows = conn.execute(
        f"SELECT {', '.join(_COLUMNS)} FROM {KEYS_TABLE} WHERE id = ?", (key_id,)
    ).fetchall()
    return _state(rows[0]) if rows else None


def _row(state: KeyState) -> tuple[Any, ...]:
    r = state.record
    return (
        r.id, r.prefix, r.hash, r.scope, r.namespace, r.name, r.created_at, r.expires_at,
        state.revoked_at, state.rotated_to, state.grace_until, r.scram,
    )  # fmt: skip


def _state(row: tuple[Any, ...]) -> KeyState:
    record = ApiKeyRecord(*row[:8], *row[11:12])
    return KeyState(record, revoked_at=row[8], rotated_to=row[9], grace_until=row[10])
