"""Caps on what one principal holds at once (open `/realtime` streams).

Rate limits bound how often a principal asks; a long-lived stream is asked for once and then
holds a subscriber, its buffer and a connection for as long as it stays open. `Slots` counts
those per principal identity (`Principal.key`) and refuses the one over the cap with
:class:`RateLimitedError` (429 with `Retry-After`), so one tenant cannot hold every
connection the server has. A cap of 0 means no cap.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from api.auth.errors import RateLimitedError

RETRY_AFTER_S = 5.0


class Slots:
    """At most `limit` concurrent holdings of `what` per principal identity."""

    def __init__(self, limit: int, what: str) -> None:
        self.limit = limit
        self.what = what
        self._lock = threading.Lock()
        self._held: dict[str, int] = {}

    def acquire(self, key: str) -> Callable[[], None]:
        """Take one slot for `key`; the returned function gives it back (calling it again
        does nothing). Raises :class:`RateLimitedError` when `key` holds `limit` already."""
        with self._lock:
            held = self._held.get(key, 0)
            if self.limit > 0 and held >= self.limit:
                raise RateLimitedError(
                    RETRY_AFTER_S, f"at most {self.limit} {self.what} per principal"
                )
            self._held[key] = held + 1
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if released.is_set():
                    return
                released.set()
                left = self._held.get(key, 1) - 1
                if left > 0:
                    self._held[key] = left
                else:
                    self._held.pop(key, None)

        return release

    def held(self, key: str) -> int:
        """How many slots `key` holds now."""
        with self._lock:
            return self._held.get(key, 0)
