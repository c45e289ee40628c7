"""The hub: one task per server follows the log and fans every change out to subscribers.

``position`` is the LSN of the last record fully fanned out. It moves only on the event loop,
between records, so a catch-up reader that finds itself at ``position`` and calls `join`
without awaiting in between cannot miss or repeat a record. Live subscribers cost the hub a
set entry each. A record costs one encoding per change and, per group of subscribers with
the same principal, filters and wire shape (`Subscriber.group`), one choice of what they
get (filters, one policy evaluation per row image for users, the frame in their format);
each subscriber then only queues the group's frames (those after its position, if it
joined inside the record) and is woken.

On a read replica the log is the replica's history, which it may trim (`--history-records`);
it never trims what the hub has not fanned out (`RealtimeService.read_through`). Should the
hub still find its next record gone (it started, or was restarted, while the replica
trimmed), its streams end with ``resync-required`` and it goes on from the history's head:
new subscribers start there.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager

from api.realtime.coltypes import ColumnTypes, ConnectionSource
from api.realtime.events import RecordEvents, learn_schema, record_events
from api.realtime.source import RecordSource
from api.realtime.subscriber import LazyConnection, Subscriber, fan_out
from api.rls.policy import PolicySet
from eventlog import Record
from projections.consumers.errors import HistoryUnavailableError
from projections.store import ProjectionStore

log = logging.getLogger("bkgdb.realtime")


class Hub:
    """Follows the log from its head at start; `join`/`leave` register subscribers."""

    def __init__(
        self, log_: RecordSource, connection: ConnectionSource, policies: Callable[[], PolicySet]
    ) -> None:
        self._log = log_
        self._connection = connection
        self.policies = policies
        self._types = ColumnTypes(connection)
        self._live: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self.loop = asyncio.get_running_loop()
        self.closed = False
        self.position = log_.head_lsn

    @property
    def subscribers(self) -> int:
        return len(self._live)

    @property
    def following(self) -> bool:
        """True while the hub's task follows the log (readable from any thread)."""
        task = self._task
        return (
            not self.closed and not self.loop.is_closed() and task is not None and not task.done()
        )

    def start(self) -> None:
        """Start following the log (once; again after a failure) on the hub's loop."""
        if not self.closed and (self._task is None or self._task.done()):
            self._task = self.loop.create_task(self._run(), name="realtime-hub")

    def join(self, subscriber: Subscriber) -> None:
        """Register a subscriber that has everything up to `position` (synchronous); a
        closed hub ends its stream instead."""
        if self.closed:
            subscriber.close()
            return
        self._live.add(subscriber)

    def leave(self, subscriber: Subscriber) -> None:
        self._live.discard(subscriber)

    def close(self) -> None:
        """Stop following and end every stream, for good (the server is stopping; clients
        resume elsewhere or later from their last id). Call it on the hub's loop."""
        self.closed = True
        if self._task is not None:
            self._task.cancel()
        self._close_streams()

    async def _run(self) -> None:
        while True:
            try:
                async for record in self._log.follow(self.position + 1):
                    self._fan_out(record)
                    self.position = record.lsn
            except HistoryUnavailableError as exc:
                self._skip_to_head(exc.base_lsn)
            except Exception:
                log.exception(
                    "realtime hub failed at LSN %d; closing its streams", self.position + 1
                )
                self._close_streams()
                return

    def _skip_to_head(self, history_after: int) -> None:
        """The next record is gone from the history: end every stream with
        ``resync-required`` and go on from the head."""
        head = self._log.head_lsn
        log.warning(
            "realtime hub fell behind the kept history (LSN %d is gone, it holds the records"
            " after LSN %d); its streams end with resync-required, it goes on from LSN %d",
            self.position + 1, history_after, head,
        )  # fmt: skip
        for subscriber in list(self._live):
            subscriber.lost_history(history_after)
        self._live.clear()
        self.position = head

    def _close_streams(self) -> None:
        for subscriber in list(self._live):
            subscriber.close()
        self._live.clear()

    def _fan_out(self, record: Record) -> None:
        """Offer each change of `record` to every subscriber that may see it."""
        if not self._live:
            learn_schema(record, self._types)
            return
        events = list(record_events(record, self._types))
        if not events:
            return
        batch = RecordEvents(record.lsn, events)
        policies = self.policies()
        with ExitStack() as stack:
            conn = LazyConnection(lambda: stack.enter_context(self._connection()))
            for subscriber in fan_out(list(self._live), batch, conn, policies):
                self._live.discard(subscriber)


def store_connection(store: ProjectionStore) -> ConnectionSource:
    """Connections on the projection's current committed state."""

    @contextmanager
    def connection() -> Iterator[sqlite3.Connection]:
        with store.snapshot() as snapshot:
            yield snapshot.conn

    def source() -> AbstractContextManager[sqlite3.Connection]:
        return connection()

    return source
