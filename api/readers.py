"""The reader pool: where statements are parsed, planned and read, off the event loop.

A fixed set of threads (created on first use, then reused) runs the work of requests; each
read borrows its own snapshot connection (`projections.store`). Admission is bounded and
fair:

- at most `threads` pieces of work run at once, and at most `per_key` of one key (a
  namespace), so one tenant's slow statements never hold every reader;
- work that cannot start waits in a queue of at most `queue_limit` entries, of which one
  key may hold at most half; beyond that `run` refuses at once with `OverloadedError`
  (the HTTP door answers 503 with `Retry-After`), so nothing waits without bound. Waiting
  counts against the statement's deadline, which the caller created before `run`.

A worker that finishes takes the oldest queued work whose key is below its cap and runs it
itself, so dispatch never needs the event loop: a request costs one hand-off to a thread
and one back.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
RETRY_AFTER_S = 1


class OverloadedError(Exception):
    """The pool and its queue are full (for this key or for all); retry later."""

    def __init__(self, message: str, retry_after: int = RETRY_AFTER_S) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class PoolSettings:
    """Sizes of the reader pool (the `bkgdb serve` flags)."""

    threads: int = 8
    queue_limit: int = 128
    per_key: int | None = None
    """Concurrent work of one key; None: half the threads (at least 1)."""

    @property
    def key_cap(self) -> int:
        return self.per_key if self.per_key is not None else max(1, self.threads // 2)


@dataclass
class _Work:
    key: str
    fn: Callable[[], Any]
    future: Future[Any]


class ReaderPool:
    """Bounded, fair execution of blocking work for the event loop (see the module doc)."""

    def __init__(self, settings: PoolSettings) -> None:
        self.settings = settings
        self._cap = min(settings.key_cap, settings.threads)
        self._executor = ThreadPoolExecutor(settings.threads, thread_name_prefix="bkg-reader")
        self._lock = threading.Lock()
        self._busy = 0
        self._running: dict[str, int] = {}
        self._queued: dict[str, int] = {}
        self._waiting: deque[_Work] = deque()
        self.refused = 0

    @property
    def busy(self) -> int:
        """Threads running work now."""
        return self._busy

    @property
    def queued(self) -> int:
        """Work admitted and waiting for a thread."""
        return len(self._waiting)

    async def run(self, key: str, fn: Callable[[], T]) -> T:
        """Run `fn` on a reader thread and return its result (or raise its exception);
        `OverloadedError` when it can neither start nor wait."""
        work = _Work(key, fn, Future())
        with self._lock:
            if self._busy < self.settings.threads and self._running.get(key, 0) < self._cap:
                self._busy += 1
                self._running[key] = self._running.get(key, 0) + 1
                start = True
            else:
                self._enqueue(work)
                start = False
        if start:
            self._executor.submit(self._serve, work)
        result: T = await asyncio.wrap_future(work.future)
        return result

    def close(self) -> None:
        """Stop taking work; queued work fails, running work finishes."""
        with self._lock:
            waiting, self._waiting = list(self._waiting), deque()
        for work in waiting:
            work.future.cancel()
        self._executor.shutdown(wait=False)

    def _enqueue(self, work: _Work) -> None:
        """Queue `work` (caller holds the lock) or refuse it."""
        queued = self._queued.get(work.key, 0)
        if len(self._waiting) >= self.settings.queue_limit or queued >= max(
            1, self.settings.queue_limit // 2
        ):
            self.refused += 1
            raise OverloadedError("the server is busy; retry later")
        self._queued[work.key] = queued + 1
        self._waiting.append(work)

    def _serve(self, work: _Work | None) -> None:
        """A worker: run `work`, then queued work its key allows, until none is left."""
        while work is not None:
            if work.future.set_running_or_notify_cancel():
                try:
                    work.future.set_result(work.fn())
                except BaseException as exc:
                    work.future.set_exception(exc)
            work = self._next(work.key)

    def _next(self, finished: str) -> _Work | None:
        """Release `finished`'s slot and take the oldest queued work whose key has room."""
        with self._lock:
            self._running[finished] -= 1
            if not self._running[finished]:
                del self._running[finished]
            for index, work in enumerate(self._waiting):
                if self._running.get(work.key, 0) < self._cap:
                    del self._waiting[index]
                    self._queued[work.key] -= 1
                    if not self._queued[work.key]:
                        del self._queued[work.key]
                    self._running[work.key] = self._running.get(work.key, 0) + 1
                    return work
            self._busy -= 1
            return None
