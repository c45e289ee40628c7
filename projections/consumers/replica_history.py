"""A read replica's history: the verified records it applied, kept beside their effects.

The primary replays past changes (realtime resume, `from_lsn`) from its log. A replica has
no log of its own, so `KafkaReplica` keeps every record it folds, as the frame it verified
and its chain value, in the `_bkg_history` table of its store, written in the same
transaction as the record's effects and the applied LSN: after any crash, history and state
end at the same LSN. `ReplicaHistory` reads that table back the way readers read the log
(`head_lsn`, `read`, `follow`), which is all the realtime hub and its catch-up need.

History begins where the store began folding (`base_lsn`, kept in `_bkg_history_base`): 0
for a replica built from LSN 1, the checkpoint's LSN for one seeded from a checkpoint (or
the applied LSN of a store made before history was kept). A replica told to keep only its
newest N records (`trim_history`) moves the base up as it goes, but never past what the
realtime hub has fanned out: a batch larger than N (a catch-up after an outage) is kept
until the hub has read it. Reading records up to the base raises
`HistoryUnavailableError`: those changes exist only on the primary.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Iterator

from eventlog.framing import HEADER_SIZE
from eventlog.record import Record, unpack_body
from eventlog.waiters import HeadWaiters, follow
from projections.consumers.errors import HistoryUnavailableError
from projections.meta import read_applied_lsn
from projections.store import ProjectionStore

HISTORY_TABLE = "_bkg_history"
BASE_TABLE = "_bkg_history_base"
PAGE_RECORDS = 256
"""Records read per query: a reader holds no snapshot while its caller works on a page."""


def ensure_history(conn: sqlite3.Connection) -> None:
    """Create the history tables if missing (idempotent); a store that had none so far
    keeps history from its applied LSN on."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {HISTORY_TABLE}"
            " (lsn INTEGER PRIMARY KEY, chain BLOB NOT NULL, frame BLOB NOT NULL)"
        )
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {BASE_TABLE}"
            " (id INTEGER PRIMARY KEY CHECK (id = 1), lsn INTEGER NOT NULL)"
        )
        conn.execute(
            f"INSERT OR IGNORE INTO {BASE_TABLE} (id, lsn) VALUES (1, ?)",
            (read_applied_lsn(conn),),
        )
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def keep_records(conn: sqlite3.Connection, records: Iterable[Record]) -> None:
    """Add applied records to the history; call inside the transaction of their effects."""
    conn.executemany(
        f"INSERT INTO {HISTORY_TABLE} (lsn, chain, frame) VALUES (?, ?, ?)",
        ((r.lsn, r.chain_hash, r.frame) for r in records),
    )


def trim_history(
    conn: sqlite3.Connection, head_lsn: int, keep: int, read_through: int | None = None
) -> None:
    """Forget records but the newest `keep` up to `head_lsn`, moving the base past them,
    and none after `read_through` (a reader, the realtime hub, still needs those); call
    inside the transaction that applied `head_lsn`."""
    cut = head_lsn - keep if read_through is None else min(head_lsn - keep, read_through)
    if cut > history_base(conn):
        conn.execute(f"DELETE FROM {HISTORY_TABLE} WHERE lsn <= ?", (cut,))
        conn.execute(f"UPDATE {BASE_TABLE} SET lsn = ? WHERE id = 1", (cut,))


def history_base(conn: sqlite3.Connection) -> int:
    """The LSN after which the history is complete."""
    row = conn.execute(f"SELECT lsn FROM {BASE_TABLE} WHERE id = 1").fetchone()
    return int(row[0]) if row else read_applied_lsn(conn)


class ReplicaHistory:
    """The replica's records as the log's readers see them, read from snapshots of its
    store. The follower calls `advance` after each commit; `follow` wakes up then."""

    def __init__(self, store: ProjectionStore) -> None:
        self._store = store
        self._waiters = HeadWaiters()
        # The server's metrics set this on a log; a replica commits no groups of its own.
        self.commit_observer: Callable[..., None] | None = None

    @property
    def base_lsn(self) -> int:
        """The LSN after which the history is complete (it moves up when trimmed)."""
        with self._store.snapshot() as snapshot:
            return history_base(snapshot.conn)

    @property
    def head_lsn(self) -> int:
        """The last record applied (and kept)."""
        return self._store.applied_lsn

    def advance(self) -> None:
        """New records are committed and the store knows it: wake `follow` (any thread)."""
        self._waiters.advance()

    def read(
        self, from_lsn: int = 1, to_lsn: int | None = None, with_chain: bool = True
    ) -> Iterator[Record]:
        """Records `from_lsn`..`to_lsn` (inclusive; default the head), in order, with their
        chain values (`with_chain` is accepted for the log's signature: they are stored).
        Raises HistoryUnavailableError when `from_lsn` is not after `base_lsn`."""
        first, base = max(from_lsn, 1), self.base_lsn
        if first <= base:
            raise HistoryUnavailableError(
                f"this replica keeps the records after LSN {base} only (it was seeded there,"
                f" or keeps its newest records only); LSN {first} is on the primary",
                base,
            )
        last = self.head_lsn if to_lsn is None else min(to_lsn, self.head_lsn)
        while first <= last:
            with self._store.snapshot() as snapshot:
                rows = snapshot.conn.execute(
                    f"SELECT lsn, chain, frame FROM {HISTORY_TABLE}"
                    " WHERE lsn BETWEEN ? AND ? ORDER BY lsn LIMIT ?",
                    (first, last, PAGE_RECORDS),
                ).fetchall()
            if not rows:
                return
            if int(rows[0][0]) != first:
                raise HistoryUnavailableError(
                    f"LSN {first} was trimmed from this replica's history while being read",
                    int(rows[0][0]) - 1,
                )
            for lsn, chain, frame in rows:
                yield _record(int(lsn), bytes(chain), bytes(frame))
            first = int(rows[-1][0]) + 1

    async def wait_for_async(self, lsn: int) -> None:
        """Until the head reaches `lsn` (woken by `advance`, no polling)."""
        await self._waiters.wait_async(lambda: self.head_lsn >= lsn)

    async def follow(self, from_lsn: int = 1) -> AsyncIterator[Record]:
        """Every record from `from_lsn` on: what the history holds, then as it is applied."""
        async for record in follow(self, from_lsn):
            yield record


def _record(lsn: int, chain: bytes, frame: bytes) -> Record:
    """A kept frame as the record it was verified as."""
    version, ts_us, kind, actor, namespace, payload = unpack_body(frame[HEADER_SIZE:])
    return Record(lsn, ts_us, kind, actor, namespace, payload, version, chain, frame)
