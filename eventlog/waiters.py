"""Waking readers when the durable head moves: threads and asyncio tasks, no polling."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Protocol

from eventlog.record import Record


class Followable(Protocol):
    """A growing sequence of records: the log, or a replica's kept history of it."""

    def read(self, from_lsn: int = 1, to_lsn: int | None = None) -> Iterator[Record]: ...

    async def wait_for_async(self, lsn: int) -> None: ...


async def follow(source: Followable, from_lsn: int = 1) -> AsyncIterator[Record]:
    """Every record of `source` from `from_lsn` on: first what it holds, then each as it
    arrives, parked on the head's waiters in between (no gap, no busy loop)."""
    next_lsn = max(from_lsn, 1)
    while True:
        for record in source.read(next_lsn):
            yield record
            next_lsn = record.lsn + 1
        await source.wait_for_async(next_lsn)


class HeadWaiters:
    """Threads wait on a condition; asyncio tasks park a future on their own loop."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._futures: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def advance(self) -> None:
        """Called by the writer after a group is durable."""
        with self._cond:
            self._cond.notify_all()
            futures, self._futures = self._futures, []
        for loop, future in futures:
            if not loop.is_closed():
                loop.call_soon_threadsafe(_settle, future)

    def wait(self, ready: Callable[[], bool], timeout: float | None) -> bool:
        with self._cond:
            return self._cond.wait_for(ready, timeout)

    async def wait_async(self, ready: Callable[[], bool]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            future: asyncio.Future[None] = loop.create_future()
            with self._cond:
                if ready():
                    return
                self._futures.append((loop, future))
            await future


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
