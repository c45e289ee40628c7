"""Password hashes: argon2id (`argon2-cffi`) with OWASP's minimum parameters (19 MiB, two
passes), in the PHC string format that names its own parameters, so they can be raised
later without invalidating stored hashes. Hashing is slow on purpose: callers run it off
the event loop."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored`; with no stored hash (no such user, or a user
    without a password) a dummy hash is checked, so the answer takes as long either way."""
    try:
        return _HASHER.verify(stored or _dummy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy() -> str:
    return _HASHER.hash("not a password of anyone")
