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
and one back. Both are as plain as they can be (a queue the threads wait on, the answer
set on the caller's loop with `call_soon_threadsafe`): an executor's future, chained to an
asyncio future, cost a point read more CPU than its SQLite statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections import deque
from collections.abc import Callable
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


class _Work:
    """One piece of work and the future its caller awaits on `loop`."""

    __slots__ = ("fn", "future", "key", "loop")

    def __init__(self, key: str, fn: Callable[[], Any], loop: asyncio.AbstractEventLoop) -> None:
        self.key, self.fn, self.loop = key, fn, loop
        self.future: asyncio.Future[Any] = loop.create_future()

    def settle(self, result: Any, error: BaseException | None) -> None:
        """On a reader thread: hand the outcome to the caller's loop."""
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody awaits it any more
            self.loop.call_soon_threadsafe(_settle, self.future, result, error)

    def cancel(self) -> None:
        """From any thread: the caller gets CancelledError (unless already answered)."""
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.future.cancel)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    """On the loop: the outcome, unless the caller has stopped waiting (cancelled)."""
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


class ReaderPool:
    """Bounded, fair execution of blocking work for the event loop (see the module doc)."""

    def __init__(self, settings: PoolSettings) -> None:
        self.settings = settings
        self._cap = min(settings.key_cap, settings.threads)
        self._tasks: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
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
        work = _Work(key, fn, asyncio.get_running_loop())
        with self._lock:
            if self._busy < self.settings.threads and self._running.get(key, 0) < self._cap:
                self._busy += 1
                self._running[key] = self._running.get(key, 0) + 1
                if len(self._threads) < self._busy:
                    self._add_thread()
                start = True
            else:
                self._enqueue(work)
                start = False
        if start:
            self._tasks.put(work)
        result: T = await work.future
        return result

    def close(self) -> None:
        """Stop taking work; queued work fails, running work finishes."""
        with self._lock:
            waiting, self._waiting = list(self._waiting), deque()
            threads = len(self._threads)
        for work in waiting:
            work.cancel()
        for _ in range(threads):
            self._tasks.put(None)

    def _add_thread(self) -> None:
        """One more reader thread (caller holds the lock): threads are made as work first
        needs them, up to `threads`, and then kept."""
        thread = threading.Thread(
            target=self._worker, name=f"bkg-reader_{len(self._threads)}", daemon=True
        )
        self._threads.append(thread)
        thread.start()

    def _worker(self) -> None:
        while (work := self._tasks.get()) is not None:
            self._serve(work)

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
        """A worker: run `work`, then queued work its key allows, until none is left. The
        slot is given back before the answer is, so a caller that has its answer never
        sees the pool still busy with it."""
        while work is not None:
            result: Any = None
            error: BaseException | None = None
            ran = not work.future.cancelled()  # its caller may have stopped waiting
            if ran:
                try:
                    result = work.fn()
                except BaseException as exc:
                    error = exc
            following = self._next(work.key)
            if ran:
                work.settle(result, error)
            work = following

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
