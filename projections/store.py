"""The SQLite projection under data/projections/: one writer connection, snapshot readers.

The store file may be stale or torn after a crash (it runs with synchronous=OFF); a marker
file written by a clean `close()` and removed by `open()` tells the two apart, and
`projections.repair` rebuilds a store that was not closed cleanly. The marker also holds
the SHA-256 of the closed file, so a file damaged while the server was stopped is rebuilt
rather than trusted (hashing runs at about 1 GB/s, a quarter of a second for a 230 MiB
store). A store found malformed while serving is marked damaged: it answers nothing more
and is not marked clean, so the next open rebuilds it. An exclusive lock on
data/projections/LOCK keeps two processes from folding into the same store.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import sqlite3
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from eventlog.segments import file_sha256, fsync_dir, write_atomic
from projections.errors import StoreDamagedError, StoreLockedError
from projections.fsync import fsync_path
from projections.meta import connect, init_schema, read_applied_lsn
from projections.source import LogSource, record_at

Authorizer = Callable[[int, str | None, str | None, str | None, str | None], int]
"""A SQLite authorizer callback (`sqlite3.Connection.set_authorizer`)."""
logger = logging.getLogger(__name__)
STORE_FILE = "store.sqlite"
CLEAN_MARKER = "CLEAN"
LOCK_FILE = "LOCK"
DIGEST_PREFIX = "sha256="


class StoreLock:
    """The exclusive lock on a store directory, held for as long as the store is in use."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self._fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(self._fd, 200, 0).decode(errors="replace").strip()
            os.close(self._fd)
            raise StoreLockedError(
                f"projection store {directory} is held by {holder or 'another process'}"
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, f"pid {os.getpid()}".encode(), 0)

    def take_clean_marker(self) -> bytes | None:
        """Remove the clean-shutdown marker and return what it said (None if there was no
        marker next to a store file). From here until the next clean close the store counts
        as dirty."""
        marker = self.directory / CLEAN_MARKER
        try:
            content = marker.read_bytes()
        except FileNotFoundError:
            return None
        marker.unlink()
        fsync_dir(self.directory)
        return content if (self.directory / STORE_FILE).exists() else None

    def mark_clean(self, content: bytes) -> None:
        """Write the clean-shutdown marker (crash-safely: a torn marker would read as a
        different claim, not as no claim)."""
        write_atomic(self.directory / CLEAN_MARKER, content)

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class Snapshot:
    """A pooled read connection inside a read transaction, and the LSN whose state that
    transaction sees (-1 while it holds none). The transaction stays open between uses
    while no commit happens, which saves a BEGIN, a lookup and a ROLLBACK per read.
    `memo` holds what the layers above derived from that transaction's state (the SQL
    catalogue, say); it is emptied whenever the transaction ends, so nothing in it outlives
    the state it was read from. `authorizer` is the SQLite authorizer installed on the
    connection (see `ProjectionStore.acquire`)."""

    __slots__ = ("authorizer", "conn", "lsn", "memo")

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.lsn = -1
        self.memo: dict[str, object] = {}
        self.authorizer: Authorizer | None = None

    def authorize(self, authorizer: Authorizer | None) -> None:
        """Install `authorizer` on the connection (None: none) unless it is installed
        already: installing one expires every statement SQLite has prepared on the
        connection, which must then be prepared again, asking the new authorizer."""
        if authorizer is not self.authorizer:
            self.conn.set_authorizer(authorizer)
            self.authorizer = authorizer

    def refresh(self, current: int) -> None:
        """Start a new read transaction unless the open one already sees `current`."""
        if self.lsn == current:
            return
        self.end()
        self.conn.execute("BEGIN")
        try:
            self.lsn = read_applied_lsn(self.conn)
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise

    def end(self) -> None:
        """Close the open read transaction, if any, so it pins no old WAL frames."""
        self.memo.clear()
        if self.lsn >= 0:
            self.conn.execute("ROLLBACK")
            self.lsn = -1


class _Lease:
    """Context manager lending a snapshot (see `ProjectionStore.snapshot`)."""

    __slots__ = ("_snapshot", "_store")

    def __init__(self, store: ProjectionStore) -> None:
        self._store = store
        self._snapshot: Snapshot | None = None

    def __enter__(self) -> Snapshot:
        self._snapshot = self._store.acquire()
        return self._snapshot

    def __exit__(self, *exc: object) -> None:
        if self._snapshot is not None:
            self._store.release(self._snapshot)


class ProjectionStore:
    """The live projection: the write connection and a pool of snapshot read connections."""

    SWEEP_INTERVAL_S = 0.1

    def __init__(self, lock: StoreLock) -> None:
        self.lock = lock
        self.path = lock.directory / STORE_FILE
        self._readers: queue.SimpleQueue[Snapshot] = queue.SimpleQueue()
        self._all_readers: list[Snapshot] = []
        self._swept = time.monotonic()
        self.write_conn = connect(str(self.path))
        self.write_memo: dict[str, object] = {}
        """What the layers above derived from the write connection's state (the SQL
        catalogue, say), kept across writes: whoever changes that state otherwise than by
        row writes (DDL, a rollback, a replay) empties it (`projections.pipeline` does on
        every rollback and failed job)."""
        init_schema(self.write_conn)
        self.applied_lsn = read_applied_lsn(self.write_conn)
        self.damaged = ""

    def mark_damaged(self, reason: str) -> StoreDamagedError:
        """Refuse every further read and write: the file is damaged (``reason``); returns
        the error to raise."""
        if not self.damaged:
            logger.error(
                "projection store %s is damaged: %s; restart to rebuild", self.path, reason
            )
        self.damaged = self.damaged or reason
        return self._damaged_error()

    def check_usable(self) -> None:
        """Raise `StoreDamagedError` once the store has been found damaged."""
        if self.damaged:
            raise self._damaged_error()

    def _damaged_error(self) -> StoreDamagedError:
        return StoreDamagedError(
            f"the projection is damaged ({self.damaged}); it is rebuilt from the log on the "
            "next start (or by `bkgdb rebuild`)"
        )

    def snapshot(self) -> _Lease:
        """A consistent read transaction and the applied LSN it sees (read in the same
        transaction, so the two always agree). A pooled reader whose open transaction
        already sees the newest commit is reused as it is."""
        return _Lease(self)

    def committed(self, lsn: int) -> None:
        """Note a commit through `lsn` (called by the only writer, after COMMIT), and now and
        then end the read transactions of idle readers so that they pin no old WAL frames."""
        self.applied_lsn = lsn
        now = time.monotonic()
        if now - self._swept < self.SWEEP_INTERVAL_S:
            return
        self._swept = now
        idle: list[Snapshot] = []
        with suppress(queue.Empty):
            while True:
                idle.append(self._readers.get_nowait())
        for reader in idle:
            if reader.lsn != lsn:
                reader.end()
            self._readers.put(reader)

    def acquire(self, authorizer: Authorizer | None = None) -> Snapshot:
        """Borrow a snapshot of the newest committed state, with `authorizer` installed on
        its connection (None: none); give it back with `release`.

        A snapshot keeps the authorizer it was last lent with, so that a principal's
        statements stay prepared between its reads; one lent with another (or with none)
        has it replaced first, and the new read transaction of a refresh is begun with none
        (it reads the applied LSN, which no principal's authorizer allows)."""
        if self.damaged:
            raise self._damaged_error()
        try:
            snapshot = self._readers.get_nowait()
        except queue.Empty:
            snapshot = Snapshot(connect(str(self.path), read_only=True))
            self._all_readers.append(snapshot)
        if snapshot.lsn != self.applied_lsn:
            snapshot.authorize(None)
            snapshot.refresh(self.applied_lsn)
        if snapshot.authorizer is not authorizer:
            snapshot.authorize(authorizer)
        return snapshot

    def release(self, snapshot: Snapshot) -> None:
        """Return a borrowed snapshot to the pool."""
        self._readers.put(snapshot)

    def close_connections(self) -> None:
        """Close every connection, leaving the lock held and the store unmarked."""
        for reader in self._all_readers:
            reader.conn.close()
        self._all_readers.clear()
        with suppress(sqlite3.Error):
            self.write_conn.close()

    def close(self, log: LogSource | None = None) -> None:
        """Fold the WAL into the main file, mark the store clean and release the lock.

        With `log`, the marker also names the applied LSN and the log's chain hash there,
        so that a store later paired with a different log is noticed and rebuilt; it always
        holds the file's SHA-256. A damaged store is abandoned instead (never marked clean).
        """
        if self.damaged:
            self.abandon()
            return
        for reader in self._all_readers:
            reader.end()
        self.write_conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.close_connections()
        fsync_path(self.path)
        record = record_at(log, self.applied_lsn) if log and self.applied_lsn else None
        claim = f"{record.lsn} {record.chain_hash.hex()} " if record else ""
        claim += DIGEST_PREFIX + file_sha256(self.path)
        self.lock.mark_clean(claim.encode())
        self.lock.release()

    def abandon(self) -> None:
        """Release everything without marking the store clean, so the next open repairs it
        (used when the store's state is uncertain, e.g. after a failed fold or append)."""
        self.close_connections()
        self.lock.release()


def discard_store_files(directory: Path) -> None:
    """Delete the store database and its WAL/shared-memory files (caller holds the lock)."""
    for suffix in ("", "-wal", "-shm"):
        with suppress(FileNotFoundError):
            (directory / (STORE_FILE + suffix)).unlink()
    with suppress(FileNotFoundError):
        (directory / CLEAN_MARKER).unlink()
    fsync_dir(directory)
