"""Reads of past states: the state after record N, built from the nearest base plus replay.

The base is the newest of: a cached state at or below N, a valid checkpoint at or below N,
or an empty database. The state is materialised in memory and kept in an LRU cache bounded
by bytes (page count x page size), so a series of reads near one LSN pays for replay once.
Materialising runs under the reader's deadline: it is checked between replayed records and
inside each, and a cancelled materialisation leaves nothing cached.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from eventlog.keys import KeyRing
from projections.checkpoints import CheckpointStore
from projections.deadline import Deadline
from projections.errors import LsnOutOfRangeError
from projections.folds import FoldRegistry
from projections.limits import apply_limits
from projections.meta import configure, init_schema
from projections.replay import fold_records
from projections.source import LogSource

DEFAULT_CACHE_BYTES = 64 * 1024 * 1024


@dataclass
class _State:
    conn: sqlite3.Connection
    size: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    cached: bool = False
    closed: bool = False

    def close(self) -> None:
        """Close the connection (caller holds `lock`)."""
        self.closed = True
        self.conn.close()


class TimeTravel:
    """Materialises and caches past states of the projection."""

    def __init__(
        self,
        log: LogSource,
        checkpoints: CheckpointStore,
        ring: KeyRing,
        registry: FoldRegistry,
        *,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self._log = log
        self._checkpoints = checkpoints
        self._ring = ring
        self._registry = registry
        self._cache_bytes = cache_bytes
        self._states: OrderedDict[int, _State] = OrderedDict()
        self._lock = threading.Lock()

    @contextmanager
    def state_at(self, lsn: int, deadline: Deadline | None = None) -> Iterator[sqlite3.Connection]:
        """A connection holding the state after record `lsn` (use it only inside the block;
        it is shared with other readers of the same LSN, one at a time). Building it stops
        with `StatementCanceledError` once `deadline` passes."""
        head = self._log.head_lsn
        if lsn < 0 or lsn > head:
            raise LsnOutOfRangeError(f"LSN {lsn} is outside 0..{head}", lsn, head)
        state = self._acquire(lsn, deadline or Deadline())
        try:
            yield state.conn
        finally:
            if not state.cached:
                state.close()
            state.lock.release()

    def _acquire(self, lsn: int, deadline: Deadline) -> _State:
        """The state at `lsn` with its lock held, from the cache or newly materialised."""
        while True:
            with self._lock:
                state = self._states.get(lsn)
                if state is not None:
                    self._states.move_to_end(lsn)
            if state is None:
                state = self._materialise(lsn, deadline)
                self._remember(lsn, state)
            state.lock.acquire()
            if not state.closed:
                return state
            state.lock.release()

    def cached_lsns(self) -> list[int]:
        """LSNs whose states are cached, least recently used first."""
        with self._lock:
            return list(self._states)

    def clear(self) -> None:
        """Drop every cached state."""
        with self._lock:
            states, self._states = list(self._states.values()), OrderedDict()
        for state in states:
            with state.lock:
                state.close()

    def _materialise(self, lsn: int, deadline: Deadline) -> _State:
        """Build the state at `lsn` from the best base and the log records after it."""
        conn = apply_limits(
            sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        )
        configure(conn)
        try:
            base = self._load_base(conn, lsn)
            if base < lsn:
                with deadline.watching(conn):
                    records = deadline.bounded(self._log.read(base + 1, lsn))
                    fold_records(conn, records, self._registry)
        except BaseException:
            conn.close()
            deadline.check()  # an interrupted fold is reported as the cancellation it is
            raise
        page_count = conn.execute("PRAGMA page_count").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("PRAGMA query_only=ON")
        return _State(conn, int(page_count) * int(page_size))

    def _load_base(self, conn: sqlite3.Connection, lsn: int) -> int:
        """Fill `conn` with the newest known state at or below `lsn`; return its LSN."""
        cached = self._nearest_cached(lsn)
        checkpoint = self._checkpoints.newest_valid(self._log, self._ring, max_lsn=lsn)
        if cached is not None and (checkpoint is None or cached[0] >= checkpoint.lsn):
            cached_lsn, state = cached
            with state.lock:
                conn.deserialize(state.conn.serialize())
            return cached_lsn
        if checkpoint is not None:
            try:
                conn.deserialize(checkpoint.path.read_bytes())
                return checkpoint.lsn
            except FileNotFoundError:  # retired since it was chosen: replay from the start
                pass
        init_schema(conn)
        return 0

    def _nearest_cached(self, lsn: int) -> tuple[int, _State] | None:
        with self._lock:
            below = [(at, state) for at, state in self._states.items() if at <= lsn]
        return max(below, key=lambda item: item[0]) if below else None

    def _remember(self, lsn: int, state: _State) -> None:
        """Cache `state`, evicting least recently used states beyond the byte budget (a state
        larger than the whole budget, or one another reader cached first, is used once)."""
        evicted: list[_State] = []
        with self._lock:
            if lsn not in self._states and state.size <= self._cache_bytes:
                state.cached = True
                self._states[lsn] = state
                total = sum(s.size for s in self._states.values())
                while total > self._cache_bytes:
                    _, old = self._states.popitem(last=False)
                    total -= old.size
                    evicted.append(old)
        for old in evicted:
            with old.lock:
                old.close()
