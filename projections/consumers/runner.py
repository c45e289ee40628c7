"""Running a named consumer: catch up from its cursor, then follow the log live.

Each runner owns a thread with its own event loop, so a slow or failing consumer never
touches the writer or the server's loop: the log only wakes it (`wait_for_async`), never
waits for it. A batch is handed to the consumer; once `handle` returns its effects are
durable and the cursor moves past the batch. A failed batch is retried after a growing
pause, from the same cursor, with the consumer restarted first (so nothing half-sent can
arrive after the retry). Delivery is therefore at-least-once, in LSN order.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from contextlib import suppress
from typing import Protocol

from projections.consumers.cursor import Position
from projections.consumers.sealed import SealedRecord, SpanSource, read_sealed
from projections.consumers.stats import ConsumerStats

logger = logging.getLogger(__name__)

MAX_BATCH = 2000
RETRY_FIRST_S = 0.05
RETRY_MAX_S = 2.0


class Consumer(Protocol):
    """What a runner drives. `handle` returns once the batch's effects are durable."""

    @property
    def name(self) -> str: ...

    async def start(self) -> None: ...

    async def handle(self, batch: Sequence[SealedRecord]) -> None: ...

    async def stop(self) -> None: ...


class FollowSource(SpanSource, Protocol):
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
    ) -> None:
        self.consumer = consumer
        self.source = source
        self.position = position
        self.max_batch = max_batch
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
        """Cancel the consumer between batches' effects and wait for its thread."""
        loop, task, thread = self._loop, self._task, self._thread
        if loop is None or task is None or thread is None:
            return
        if not loop.is_closed():
            with suppress(RuntimeError):
                loop.call_soon_threadsafe(task.cancel)
        thread.join(timeout)

    def wait_until(self, lsn: int, timeout: float | None = None) -> bool:
        """Block until the cursor reaches `lsn`; False on timeout."""
        with self._advanced:
            return self._advanced.wait_for(lambda: self._cursor >= lsn, timeout)

    # -- the loop ------------------------------------------------------------------------

    async def run(self) -> None:
        """Catch up from the position, then follow the log until cancelled."""
        self._set_cursor(self.position.load())
        self.stats.started(self._cursor)
        started, pause = False, RETRY_FIRST_S
        try:
            while True:
                head = self.source.head_lsn
                if head <= self._cursor:
                    await self.source.wait_for_async(self._cursor + 1)
                    continue
                try:
                    if not started:
                        await self.consumer.start()
                        started = True
                    await self._deliver(min(head, self._cursor + self.max_batch))
                    pause = RETRY_FIRST_S
                except Exception as exc:
                    logger.warning("consumer %s failed, retrying: %s", self.consumer.name, exc)
                    self.stats.failed(exc)
                    if started:
                        with suppress(Exception):
                            await self.consumer.stop()
                        started = False
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, RETRY_MAX_S)
        finally:
            self.stats.stopped()
            if started:
                with suppress(Exception):
                    await self.consumer.stop()

    async def _deliver(self, last: int) -> None:
        before = self._cursor
        lsn = await deliver(self.consumer, self.source, self.position, before, last)
        if lsn > before:
            self._set_cursor(lsn)
            self.stats.advanced(lsn, lsn - before)

    def _set_cursor(self, lsn: int) -> None:
        with self._advanced:
            self._cursor = lsn
            self._advanced.notify_all()


async def deliver(
    consumer: Consumer, source: SpanSource, position: Position, after: int, last: int
) -> int:
    """One batch: read `after+1..last`, hand it over, then move the durable position past it.
    Returns the new position."""
    batch = list(read_sealed(source, after + 1, last))
    if not batch:
        return after
    await consumer.handle(batch)
    lsn = batch[-1].record.lsn
    position.save(lsn)
    return lsn


async def catch_up(
    consumer: Consumer, source: SpanSource, position: Position, max_batch: int = MAX_BATCH
) -> int:
    """Bring a consumer up to the source's current head once, without following (for
    commands that run beside a server, reading its log with `eventlog.LogReader`)."""
    cursor, head = position.load(), source.head_lsn
    await consumer.start()
    try:
        while cursor < head:
            cursor = await deliver(
                consumer, source, position, cursor, min(head, cursor + max_batch)
            )
    finally:
        await consumer.stop()
    return cursor
