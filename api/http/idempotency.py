"""`Idempotency-Key` on writes: a retried request gets the first answer and appends nothing.

Responses are remembered per (principal identity, key) in a small SQLite file under
`consumers/`, so they survive restarts, for a window (default 24 h). The identity is
`Principal.key` (kind, namespace, id): equal subjects of two namespaces never see each
other's answers. A request carries a fingerprint of its method, path, query and body: the
same key with a different fingerprint is a 409 CONFLICT, as is a retry that arrives while
the first attempt is still running. Only successful (2xx) answers are kept; after a failure
the key is released so that a retry runs again.

A crash between a write's commit and the recording of its answer loses the answer, and a
retry then runs again: the window closes on durability of this file, not of the log.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from api.auth.errors import IdempotencyConflictError

MAX_KEY_LENGTH = 255
_PENDING = -1


@dataclass(frozen=True)
class StoredResponse:
    """The first answer to a request, replayed for its retries."""

    status: int
    body: bytes
    media_type: str


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    """A digest of everything that makes two requests the same request."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class IdempotencyStore:
    """Remembered answers keyed by principal identity (`Principal.key`) and Idempotency-Key."""

    def __init__(self, path: Path, window_s: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.window_s = window_s
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS responses (principal TEXT NOT NULL, key TEXT NOT NULL,"
            " fingerprint TEXT NOT NULL, status INTEGER NOT NULL, body BLOB, media_type TEXT,"
            " created_at REAL NOT NULL, PRIMARY KEY (principal, key))"
        )
        # Attempts that were running when the server stopped never finished: release them.
        self._conn.execute("DELETE FROM responses WHERE status = ?", (_PENDING,))

    def begin(self, principal: str, key: str, print_: str) -> StoredResponse | None:
        """The stored answer of an earlier identical request, or None after claiming the key
        for this attempt; :class:`IdempotencyConflictError` when the key is taken otherwise."""
        now = time.time()
        with self._lock:
            self._conn.execute("DELETE FROM responses WHERE created_at < ?", (now - self.window_s,))
            row = self._conn.execute(
                "SELECT fingerprint, status, body, media_type FROM responses"
                " WHERE principal = ? AND key = ?",
                (principal, key),
            ).fetchone()
            if row is None:
                self._conn.execute(
                    "INSERT INTO responses VALUES (?, ?, ?, ?, NULL, NULL, ?)",
                    (principal, key, print_, _PENDING, now),
                )
                return None
        if row[0] != print_:
            raise IdempotencyConflictError("Idempotency-Key was already used for another request")
        if row[1] == _PENDING:
            raise IdempotencyConflictError("a request with this Idempotency-Key is in progress")
        return StoredResponse(int(row[1]), bytes(row[2]), str(row[3]))

    def finish(self, principal: str, key: str, answer: StoredResponse) -> None:
        """Record the answer of a claimed key (2xx), or release the key (anything else)."""
        with self._lock:
            if 200 <= answer.status < 300:
                self._conn.execute(
                    "UPDATE responses SET status = ?, body = ?, media_type = ?"
                    " WHERE principal = ? AND key = ?",
                    (answer.status, answer.body, answer.media_type, principal, key),
                )
            else:
                self._release(principal, key)

    def release(self, principal: str, key: str) -> None:
        """Forget a claim whose attempt failed."""
        with self._lock:
            self._release(principal, key)

    def _release(self, principal: str, key: str) -> None:
        self._conn.execute(
            "DELETE FROM responses WHERE principal = ? AND key = ? AND status = ?",
            (principal, key, _PENDING),
        )

    def close(self) -> None:
        with self._lock:
            self._conn.close()
