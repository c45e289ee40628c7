"""Idempotency keys: a retried write with the same key and body gets the original answer.

The store is a small SQLite file of its own (WAL, ``synchronous=FULL``), so answers survive a
restart. Entries are keyed by (principal id, key): one principal can never replay another's
answer. A request reserves its key before it runs (``begin``), and records its answer after
the write is durable (``complete``) or releases the key when it failed (``abandon``):

- same key, same request hash, answered  -> the stored answer is returned, nothing runs;
- same key, different request hash        -> :class:`IdempotencyConflictError` (409);
- same key, still running                 -> :class:`IdempotencyConflictError` (409);
- a reservation older than ``pending_timeout_s`` is treated as abandoned (its process died).

Answers are kept for ``window_s`` (default 24 h) and purged lazily. The one gap: a process
that dies after its write is durable but before ``complete`` leaves no answer, so the retry
runs again once the reservation times out.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from api.auth.errors import IdempotencyConflictError, KeySpecError

MAX_KEY_LENGTH = 255
_TABLE = "_bkg_idempotency"


@dataclass(frozen=True)
class StoredResponse:
    """The answer recorded for an idempotency key."""

    status: int
    body: Any


def request_hash(method: str, path: str, body: bytes) -> str:
    """Fingerprint of a request: a key reused for a different request is a conflict."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotencyStore:
    """Reservations and answers per (principal, key), in a SQLite file."""

    def __init__(
        self, path: Path, window_s: float = 86400.0, pending_timeout_s: float = 60.0
    ) -> None:
        self._window_s = window_s
        self._pending_timeout_s = pending_timeout_s
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(
            f"CREATE TABLE IF NOT EXISTS {_TABLE} (principal TEXT NOT NULL, key TEXT NOT NULL,"
            " request_hash TEXT NOT NULL, created_at REAL NOT NULL, status INTEGER,"
            " body TEXT, PRIMARY KEY (principal, key))"
        )

    def begin(
        self, principal: str, key: str, req_hash: str, now: float | None = None
    ) -> StoredResponse | None:
        """The stored answer to replay, or None after reserving the key for this request."""
        if not key or len(key) > MAX_KEY_LENGTH:
            raise KeySpecError(f"Idempotency-Key must have 1 to {MAX_KEY_LENGTH} characters")
        clock = time.time() if now is None else now
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                found = self._reserve(principal, key, req_hash, clock)
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")
        return found

    def complete(self, principal: str, key: str, status: int, body: Any) -> None:
        """Record the answer of a reserved key (call once the write is durable)."""
        with self._lock:
            self._conn.execute(
                f"UPDATE {_TABLE} SET status = ?, body = ? WHERE principal = ? AND key = ?",
                (status, json.dumps(body, separators=(",", ":")), principal, key),
            )

    def abandon(self, principal: str, key: str) -> None:
        """Release a reservation whose request failed, so that a retry may run."""
        with self._lock:
            self._conn.execute(
                f"DELETE FROM {_TABLE} WHERE principal = ? AND key = ? AND status IS NULL",
                (principal, key),
            )

    def close(self) -> None:
        self._conn.close()

    def _reserve(
        self, principal: str, key: str, req_hash: str, clock: float
    ) -> StoredResponse | None:
        """Inside a write transaction: replay, refuse, or insert a reservation."""
        self._conn.execute(f"DELETE FROM {_TABLE} WHERE created_at < ?", (clock - self._window_s,))
        row = self._conn.execute(
            f"SELECT request_hash, created_at, status, body FROM {_TABLE}"
            " WHERE principal = ? AND key = ?",
            (principal, key),
        ).fetchone()
        if row is not None:
            stored_hash, created_at, status, body = row
            if stored_hash != req_hash:
                raise IdempotencyConflictError("Idempotency-Key was used for another request")
            if status is not None:
                return StoredResponse(int(status), json.loads(body))
            if clock - created_at < self._pending_timeout_s:
                raise IdempotencyConflictError("a request with this Idempotency-Key is running")
        self._conn.execute(
            f"INSERT OR REPLACE INTO {_TABLE} (principal, key, request_hash, created_at)"
            " VALUES (?, ?, ?, ?)",
            (principal, key, req_hash, clock),
        )
        return None
