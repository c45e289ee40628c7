"""Per-principal rate limits: a token bucket per principal identity (``Principal.key``:
kind, namespace and id, so equal subjects of two namespaces never share a bucket).

Each principal kind has a budget per minute (defaults: admin 1000, namespace 100, user 50);
the bucket holds at most one minute's budget and refills continuously, so short bursts are
absorbed and the long-run rate is the budget. A refused request learns how long to wait.
Idle buckets are forgotten once full, so memory stays bounded by the active principals.

Sign-in attempts of `/auth/v1` are counted the same way under budgets of their own, keyed
by what is attacked rather than by who asks: ``sign_in_email`` per namespace and email,
``sign_in_address`` per client address (:meth:`RateLimiter.try_acquire_key`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from api.auth.errors import RateLimitedError
from api.auth.principal import Principal

DEFAULT_PER_MINUTE: Mapping[str, float] = MappingProxyType(
    {
        "admin": 1000.0,
        "namespace": 100.0,
        "user": 50.0,
        "anon": 50.0,
        "sign_in_email": 10.0,
        "sign_in_address": 60.0,
    }
)
_SWEEP_EVERY = 1024


@dataclass
class _Bucket:
    tokens: float
    updated: float


@dataclass
class RateLimiter:
    """Token buckets keyed by principal identity; ``per_minute`` maps principal kind ->
    budget."""

    per_minute: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PER_MINUTE))
    _buckets: dict[str, _Bucket] = field(default_factory=dict, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _calls: int = field(default=0, init=False, repr=False)

    def try_acquire(self, principal: Principal, now: float | None = None) -> float:
        """Take one request from the principal's bucket: 0.0 if allowed, else the seconds to
        wait before the next request would be (the ``Retry-After`` value)."""
        return self.try_acquire_key(principal.kind, principal.key, now)

    def try_acquire_key(self, budget_name: str, key: str, now: float | None = None) -> float:
        """Take one request from the bucket `key` under the budget `budget_name` (a principal
        kind, `sign_in_email`, `sign_in_address`): as :meth:`try_acquire`."""
        clock = time.monotonic() if now is None else now
        budget = self.per_minute.get(budget_name)
        if budget is None or budget <= 0:
            return 0.0 if budget is None else 60.0
        rate = budget / 60.0
        with self._lock:
            bucket = self._buckets.get(f"{budget_name}/{key}")
            if bucket is None:
                bucket = self._buckets[f"{budget_name}/{key}"] = _Bucket(budget, clock)
            bucket.tokens = min(budget, bucket.tokens + (clock - bucket.updated) * rate)
            bucket.updated = clock
            self._sweep(clock)
            if bucket.tokens >= 1.0:
                bucket.tokens -= 1.0
                return 0.0
            return (1.0 - bucket.tokens) / rate

    def check(self, principal: Principal, now: float | None = None) -> None:
        """Like :meth:`try_acquire`, raising :class:`RateLimitedError` when refused."""
        wait = self.try_acquire(principal, now)
        if wait > 0:
            raise RateLimitedError(wait)

    def _sweep(self, clock: float) -> None:
        """Now and then, drop buckets that have refilled completely (caller holds the lock)."""
        self._calls += 1
        if self._calls % _SWEEP_EVERY:
            return
        for key, bucket in list(self._buckets.items()):
            if clock - bucket.updated > 60.0:
                del self._buckets[key]
