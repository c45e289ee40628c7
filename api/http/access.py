"""The security layer's hooks, remembered per principal between policy changes.

`Database` asks its access hook for a rewrite, an authorizer and a write check on every
request. The server resolves each bearer to the same `Principal` object for as long as it is
valid (`Backend.principal`), so the hooks built for it can be kept until keys or policies
change (`Backend.refresh` calls `forget`), instead of being rebuilt on every request.
"""

from __future__ import annotations

import threading
from typing import Any

from api.database import Authorizer, WriteCheck
from api.rls.access import SecurityLayer
from api.sql import Rewrite

MAX_REMEMBERED = 10_000
_Hooks = tuple[Any, Rewrite | None, Authorizer | None, WriteCheck | None]


class RememberedAccess:
    """An `AccessControl` over a `SecurityLayer`, keyed by principal object identity."""

    def __init__(self, layer: SecurityLayer) -> None:
        self._layer = layer
        self._lock = threading.Lock()
        self._hooks: dict[int, _Hooks] = {}

    def rewrite_for(self, principal: Any) -> Rewrite | None:
        return self._hooks_of(principal)[1]

    def authorizer_for(self, principal: Any) -> Authorizer | None:
        return self._hooks_of(principal)[2]

    def check_writes(self, principal: Any) -> WriteCheck | None:
        return self._hooks_of(principal)[3]

    def forget(self) -> None:
        """Drop every remembered hook (keys or policies changed)."""
        with self._lock:
            self._hooks.clear()

    def _hooks_of(self, principal: Any) -> _Hooks:
        found = self._hooks.get(id(principal))
        if found is not None and found[0] is principal:
            return found
        hooks = (
            principal,
            self._layer.rewrite_for(principal),
            self._layer.authorizer_for(principal),
            self._layer.check_writes(principal),
        )
        with self._lock:
            if len(self._hooks) >= MAX_REMEMBERED:
                self._hooks.clear()
            self._hooks[id(principal)] = hooks
        return hooks
