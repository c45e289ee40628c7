"""Bounded memories shared by reader threads and the writer: `LRU` (thread-safe, evicts
the least recently used entry) and `Memo` (no lock, forgets everything when full)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """At most ``size`` entries; the least recently used one is evicted first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value for ``key`` (now most recently used), or None."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Store ``value``, evicting the oldest entries beyond the size."""
        with self._lock:
            self._data[key] = value
            while len(self._data) > self._size:
                self._data.popitem(last=False)


class Memo(dict[K, V]):
    """At most ``size`` entries; when full, a new one makes it forget all the others.

    For the hottest look-ups (a read's plan), where `LRU`'s lock and bookkeeping would cost
    more than rebuilding a forgotten entry now and then: `get` is the dict's own, and every
    operation is one dict operation, atomic under the GIL."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def put(self, key: K, value: V) -> None:
        """Remember ``value``, first forgetting everything if ``size`` entries are held."""
        if len(self) >= self.size:
            self.clear()
        self[key] = value
