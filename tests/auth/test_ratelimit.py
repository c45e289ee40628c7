"""Token-bucket rate limits per principal."""

import math

import pytest

from api.auth.errors import RateLimitedError
from api.auth.principal import ADMIN, Principal, user_principal
from api.auth.ratelimit import RateLimiter


def test_user_gets_its_budget_then_a_retry_after() -> None:
    limiter = RateLimiter()
    alice = user_principal("alice", "shop")
    allowed = sum(limiter.try_acquire(alice, now=0.0) == 0.0 for _ in range(60))
    assert allowed == 50
    wait = limiter.try_acquire(alice, now=0.0)
    assert math.isclose(wait, 60 / 50)
    assert limiter.try_acquire(alice, now=wait) == 0.0
    with pytest.raises(RateLimitedError) as info:
        limiter.check(alice, now=wait)
    assert info.value.retry_after > 0


def test_buckets_are_per_principal_and_per_kind() -> None:
    limiter = RateLimiter()
    alice, bob = user_principal("alice", "shop"), user_principal("bob", "shop")
    shop_key = Principal(kind="namespace", id="key:1", namespace="shop")
    for _ in range(50):
        limiter.check(alice, now=0.0)
    assert limiter.try_acquire(alice, now=0.0) > 0
    assert limiter.try_acquire(bob, now=0.0) == 0.0
    assert sum(limiter.try_acquire(shop_key, now=0.0) == 0.0 for _ in range(150)) == 100
    assert sum(limiter.try_acquire(ADMIN, now=0.0) == 0.0 for _ in range(1100)) == 1000


def test_refill_is_continuous_and_capped() -> None:
    limiter = RateLimiter(per_minute={"user": 60})
    alice = user_principal("alice", "shop")
    for _ in range(60):
        limiter.check(alice, now=0.0)
    assert limiter.try_acquire(alice, now=0.5) > 0
    assert limiter.try_acquire(alice, now=1.0) == 0.0
    later = sum(limiter.try_acquire(alice, now=3600.0) == 0.0 for _ in range(100))
    assert later == 60


def test_configured_budgets_override_defaults() -> None:
    limiter = RateLimiter(per_minute={"user": 2, "admin": 0})
    alice = user_principal("alice", "shop")
    assert [limiter.try_acquire(alice, now=0.0) == 0.0 for _ in range(3)] == [True, True, False]
    assert limiter.try_acquire(ADMIN, now=0.0) == 60.0
