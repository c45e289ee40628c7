"""Who a bearer string is: an API key as the projection holds the keys, or a JWT.

`Bearers` keeps the key registry folded into the projection (`api.auth.store`) and reloads
it when the projection's key counter moves; `resolve` turns a bearer into a `Principal`
(`api.auth.principal.resolve_principal`) or raises `UnauthorizedError`. Every door resolves
its callers here (HTTP through `api.http.principals`, which remembers the answers; the
PostgreSQL protocol's password; the CLI's `--as`).
"""

from __future__ import annotations

import sqlite3

from api.auth.principal import Principal, resolve_principal
from api.auth.registry import KeyRegistry
from api.auth.store import load_key_registry, read_version
from api.auth.tokens import TokenService


class Bearers:
    """The API keys and token service of one data directory."""

    def __init__(self, tokens: TokenService) -> None:
        self.tokens = tokens
        self._keys = KeyRegistry()
        self._version = -1

    @property
    def keys(self) -> KeyRegistry:
        """The key registry (a new object after every change: callers may compare it)."""
        return self._keys

    def refresh(self, conn: sqlite3.Connection) -> None:
        """Reload the keys from a projection connection if they changed there."""
        version = read_version(conn, "keys")
        if version != self._version:
            self._keys, self._version = load_key_registry(conn), version

    def resolve(self, bearer: str | None, now_s: float | None = None) -> Principal:
        """The principal behind a bearer string (API key or JWT)."""
        return resolve_principal(bearer, self._keys, self.tokens, now_s)
