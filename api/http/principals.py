"""Bearer strings to principals, remembered while they cannot have changed.

Verifying a credential costs more than the rest of a point read's authentication, and a
client presents the same one on every request. What may be remembered:

- a verified JWT until its `exp`: its signature cannot change; a token derived from an API
  key is only taken from memory while that key is still valid now (revocation, expiry and
  rotation grace are checked on every hit, as for the key itself);
- an API key while the key registry is the same object (any key event makes the security
  layer load a new one) and the key is still valid now (expiry and rotation grace are
  checked on every hit).

Keys are remembered under a SHA-256 of the bearer, never the plaintext. The same principal
object comes back for the same credential, which lets the access hooks be remembered too
(`api.http.access`).
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import TypeVar

from api.auth.apikeys import KEY_PREFIX
from api.auth.bearers import Bearers
from api.auth.principal import Principal
from api.auth.registry import KeyRegistry, KeyState

MAX_REMEMBERED = 10_000
V = TypeVar("V")


class Principals:
    """`resolve(bearer)` with memory; raises what `Bearers.resolve` raises."""

    def __init__(self, bearers: Bearers) -> None:
        self._bearers = bearers
        self._lock = threading.Lock()
        self._tokens: dict[bytes, tuple[Principal, float]] = {}
        self._keys: dict[bytes, tuple[Principal, KeyRegistry, KeyState]] = {}

    def resolve(self, bearer: str | None) -> Principal:
        """The principal a bearer stands for (401 errors come from `Bearers.resolve`)."""
        if bearer is None:
            return self._bearers.resolve(bearer)
        digest = hashlib.sha256(bearer.encode("utf-8", "surrogatepass")).digest()
        now = time.time()
        if bearer.startswith(KEY_PREFIX):
            return self._api_key(bearer, digest, now)
        token = self._tokens.get(digest)
        if token is not None and now < token[1] and self._key_active(token[0], now):
            return token[0]
        principal = self._bearers.resolve(bearer)
        self._remember(self._tokens, digest, (principal, float(principal.claims["exp"])))
        return principal

    def _api_key(self, bearer: str, digest: bytes, now: float) -> Principal:
        registry = self._bearers.keys
        known = self._keys.get(digest)
        if known is not None and known[1] is registry and known[2].valid_at(now):
            return known[0]
        principal = self._bearers.resolve(bearer)
        state = registry.get(str(principal.key_id))
        if state is not None and registry is self._bearers.keys:
            self._remember(self._keys, digest, (principal, registry, state))
        return principal

    def _key_active(self, principal: Principal, now: float) -> bool:
        """Whether the API key a remembered token derives from (if any) still works."""
        return principal.key_id is None or self._bearers.keys.is_active(principal.key_id, now)

    def _remember(self, memory: dict[bytes, V], key: bytes, value: V) -> None:
        with self._lock:
            if len(memory) >= MAX_REMEMBERED:
                memory.clear()
            memory[key] = value
