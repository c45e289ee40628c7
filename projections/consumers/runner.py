"""Running a named consumer: catch up from its cursor, then follow the log live.

Each runner owns a thread with its own event loop, so a slow or failing consumer never
touches the writer or the server's loop: the log only wakes it (`wait_for_async`), never
waits for it. Batches are dispatched in LSN order and may be in flight together (up to
`window`); they complete in order, and the durable cursor follows the completed ones (saved
at most every 0.1 s while busy, and whenever the consumer goes idle or stops).
A failure stops the consumer, and after a growing pause everything from the cursor on is
dispatched again to a restarted consumer. Delivery is therefore at-least-once, in LSN order.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Iterator, Sequence
from contextlib import suppress
from typing import Protocol

from eventlog import SealedRecord
from projections.consumers.cursor import Position
from projections.consumers.errors import ConsumerError
from projections.consumers.stats import ConsumerStats
from projections.tracing import root_span

logger = logging.getLogger(__name__)

MAX_BATCH = 1000
WINDOW = 4
SAVE_INTERVAL_S = 0.1
RETRY_FIRST_S = 0.05
RETRY_MAX_S = 2.0


class Consumer(Protocol):
    """What a runner drives. `dispatch` starts a batch and returns an awaitable that
    completes once the batch's effects are durable; batches complete in dispatch order."""

    @property
    def name(self) -> str: ...

    async def start(self) -> None: ...

    async def dispatch(self, batch: Sequence[SealedRecord]) -> Awaitable[object]: ...

    async def stop(self) -> None: ...


class SealedSource(Protocol):
    """A log to read records with their seals from: `eventlog.EventLog` in the server's
    process, `eventlog.LogReader` beside it."""

    @property
    def head_lsn(self) -> int: ...

    def read_sealed(
        self, from_lsn: int = 1, to_lsn: int | None = None
    ) -> Iterator[SealedRecord]: ...


class FollowSource(SealedSource, Protocol):
    """A log that can wake a waiter when its head reaches an LSN (`eventlog.EventLog`)."""

    async def wait_for_async(self, lsn: int) -> None: ...


class ConsumerRunner:
    """Feeds one consumer from its position, on its own thread (`start`/`stop`) or awaited
    directly (`run`)."""

    def __init__(
        self,
        consumer: Consumer,
        source: FollowSource,
        position: Position,
        max_batch: int = MAX_BATCH,
        window: int = WINDOW,
    ) -> None:
        self.consumer = consumer
        self.source = source
        self.position = position
        self.max_batch = max_batch
        self.window = window
        self.stats = ConsumerStats(consumer.name, lambda: source.head_lsn)
        self._cursor = 0
        self._advanced = threading.Condition()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def cursor(self) -> int:
        return self._cursor

    # -- on a thread of its own --------------------------------------------------------------

    def start(self) -> None:
        """Run the consumer on a daemon thread with its own event loop."""
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._thread_main, args=(ready,), name=f"bkg-consumer-{self.consumer.name}"
        )
        self._thread.daemon = True
        self._thread.start()
        ready.wait()

    def _thread_main(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._task = loop.create_task(self.run())
        ready.set()
        with suppress(asyncio.CancelledError):
            loop.run_until_complete(self._task)
        loop.close()

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel the consumer (between durable steps) and wait for its thread."""
        loop, task, thread = self._loop, self._task, self._thread
        if loop is None or task is None or thread is None:
            return
        if not loop.is_closed():
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout)

    def wait_until(self, lsn: int, timeout: float | None = None) -> bool:
        """Block until the durable position reaches `lsn`; False on timeout."""
        with self._advanced:
            return self._advanced.wait_for(lambda: self._cursor >= lsn, timeout)

    # -- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        """Catch up from the position, then follow the log until cancelled."""
        self._set_cursor(self.position.load())
        self.stats.started(self._cursor)
        pause = RETRY_FIRST_S
        try:
            while True:
                try:
                    await self.consumer.start()
                    await self._pump()
                except Exception as exc:
                    logger.warning(
                        "consumer %s failed, retrying: %s",
                        self.consumer.name,
                        exc,
                        extra={
                            "event": "consumer_error",
                            "consumer": self.consumer.name,
                            "position": self._cursor,
                            "error": type(exc).__name__,
                        },
                    )
                    self.stats.failed(exc)
                    with suppress(Exception):
                        await self.consumer.stop()
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, RETRY_MAX_S)
        finally:
            self.stats.stopped()
            with suppress(Exception):
                await self.consumer.stop()

    async def _pump(self) -> None:
        """Dispatch batches ahead while fewer than `window` are in flight; complete the
        oldest otherwise; sleep on the log when there is nothing to do.

        The position is saved at most every `SAVE_INTERVAL_S` while busy (a save costs two
        fsyncs, and the loop cannot send meanwhile), before sleeping, and when stopping; a
        crash in between only means a little more is delivered again."""
        in_flight: deque[tuple[int, int, Awaitable[object]]] = deque()
        dispatched = completed = self._cursor
        saved_at = time.monotonic()
        try:
            while True:
                head = self.source.head_lsn
                if dispatched < head and len(in_flight) < self.window:
                    last = min(head, dispatched + self.max_batch)
                    batch = list(self.source.read_sealed(dispatched + 1, last))
                    if not batch:
                        raise ConsumerError(f"the log holds no records {dispatched + 1}..{last}")
                    with root_span(
                        f"consumer.batch {self.consumer.name}", _batch_attributes(batch)
                    ):
                        done = await self.consumer.dispatch(batch)
                    in_flight.append((batch[-1].record.lsn, len(batch), done))
                    dispatched = batch[-1].record.lsn
                elif in_flight:
                    lsn, count, done = in_flight.popleft()
                    await done
                    completed = lsn
                    self.stats.advanced(lsn, count)
                    if time.monotonic() - saved_at >= SAVE_INTERVAL_S:
                        self._save(completed)
                        saved_at = time.monotonic()
                else:
                    self._save(completed)
                    await self.source.wait_for_async(dispatched + 1)
        finally:
            for _, _, done in in_flight:
                _discard(done)
            self._save(completed)

    def _save(self, lsn: int) -> None:
        """Make `lsn` the durable position (if it moved) and wake `wait_until` callers."""
        if lsn > self._cursor:
            self.position.save(lsn)
            self._set_cursor(lsn)

    def _set_cursor(self, lsn: int) -> None:
        with self._advanced:
            self._cursor = lsn
            self._advanced.notify_all()


def _batch_attributes(batch: Sequence[SealedRecord]) -> dict[str, int]:
    """What a consumer's batch span says: how many records, which LSNs."""
    return {
        "bkg.records": len(batch),
        "bkg.first_lsn": batch[0].record.lsn,
        "bkg.last_lsn": batch[-1].record.lsn,
    }


def _discard(done: Awaitable[object]) -> None:
    """Drop a batch's completion that will not be awaited: cancel it, or take its failure
    (it is retried from the cursor) so that asyncio does not report it as never retrieved."""
    if not isinstance(done, asyncio.Future):
        return
    if not done.done():
        done.cancel()
    elif not done.cancelled():
        done.exception()


async def catch_up(
    consumer: Consumer, source: SealedSource, position: Position, max_batch: int = MAX_BATCH
) -> int:
    """Bring a consumer up to the source's current head once, one batch at a time, without
    following (for commands beside a server, reading its log with `eventlog.LogReader`)."""
    cursor, head = position.load(), source.head_lsn
    await consumer.start()
    try:
        while cursor < head:
            batch = list(source.read_sealed(cursor + 1, min(head, cursor + max_batch)))
            if not batch:
                break
            await (await consumer.dispatch(batch))
            cursor = batch[-1].record.lsn
            position.save(cursor)
    finally:
        await consumer.stop()
    return cursor
