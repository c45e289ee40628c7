"""Consumer statistics: lag, throughput and errors.

The runner updates a `ConsumerStats` from its own thread; `/metrics` (see
`service.register_gauges`) or anything else takes a `StatsSnapshot` at any time.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

RATE_WINDOW_S = 10.0


@dataclass(frozen=True)
class StatsSnapshot:
    """One consumer at one moment. `lag` is records between its cursor and the log head."""

    name: str
    cursor_lsn: int
    head_lsn: int
    records_total: int
    errors_total: int
    records_per_second: float
    running: bool
    last_error: str | None

    @property
    def lag(self) -> int:
        return max(self.head_lsn - self.cursor_lsn, 0)


class ConsumerStats:
    """Counters of one consumer; `head` reads the log's durable head when asked."""

    def __init__(self, name: str, head: Callable[[], int]) -> None:
        self.name = name
        self._head = head
        self._lock = threading.Lock()
        self._cursor = 0
        self._records = 0
        self._errors = 0
        self._last_error: str | None = None
        self._running = False
        self._window: deque[tuple[float, int]] = deque()

    def started(self, cursor: int) -> None:
        with self._lock:
            self._cursor, self._running = cursor, True

    def stopped(self) -> None:
        with self._lock:
            self._running = False

    def advanced(self, cursor: int, records: int) -> None:
        """A batch of `records` finished; the cursor now stands at `cursor`."""
        now = time.monotonic()
        with self._lock:
            self._cursor = cursor
            self._records += records
            self._last_error = None
            self._window.append((now, records))
            while self._window and now - self._window[0][0] > RATE_WINDOW_S:
                self._window.popleft()

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self._errors += 1
            self._last_error = f"{type(error).__name__}: {error}"

    def snapshot(self) -> StatsSnapshot:
        now = time.monotonic()
        with self._lock:
            recent = [(t, n) for t, n in self._window if now - t <= RATE_WINDOW_S]
            span = max(now - recent[0][0], 1.0) if recent else 1.0
            rate = sum(n for _, n in recent) / span
            return StatsSnapshot(
                name=self.name,
                cursor_lsn=self._cursor,
                head_lsn=self._head(),
                records_total=self._records,
                errors_total=self._errors,
                records_per_second=rate,
                running=self._running,
                last_error=self._last_error,
            )
