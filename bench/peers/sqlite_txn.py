"""Peer (b): SQLite WAL, ``synchronous=FULL``, one INSERT per transaction per connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from bench.load import Managed, Write

BUSY_TIMEOUT_S = 120.0
"""Long enough that 64 writers queue on SQLite's lock instead of failing with SQLITE_BUSY."""


class SqliteTxn(Managed):
    """Each write is ``BEGIN IMMEDIATE; INSERT; COMMIT`` on the thread's own connection.

    ``synchronous=FULL`` in WAL mode fsyncs the WAL at every commit, so an acknowledged
    insert is durable: the same promise ours makes.
    """

    name = "sqlite_txn"

    def __init__(self, directory: Path) -> None:
        self.path = directory / "peer.sqlite3"

    def open(self) -> None:
        """Create the database in WAL mode with its one table."""
        with closing(self._connect()) as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)")

    def count(self) -> int:
        """Rows committed so far (for tests)."""
        with closing(self._connect()) as conn:
            row = conn.execute("SELECT count(*) FROM events").fetchone()
        return int(row[0])

    def fill(self, rows: int, payload: bytes) -> None:
        """Insert ``rows`` payloads in one transaction (set-up for scan benchmarks)."""
        with closing(self._connect()) as conn:
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO events (payload) VALUES (?)", ((payload,) for _ in range(rows))
            )
            conn.execute("COMMIT")

    def scan(self) -> int:
        """Read every row in id order, as a sequential log scan would; returns the count."""
        with closing(self._connect()) as conn:
            return sum(1 for _ in conn.execute("SELECT id, payload FROM events ORDER BY id"))

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, isolation_level=None, timeout=BUSY_TIMEOUT_S, check_same_thread=False
        )
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    @contextmanager
    def session(self) -> Iterator[Write]:
        """The thread's own connection; one transaction per write."""
        with closing(self._connect()) as conn:

            def write(payload: bytes) -> None:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO events (payload) VALUES (?)", (payload,))
                conn.execute("COMMIT")

            yield write
