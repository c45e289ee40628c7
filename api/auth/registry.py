"""The key registry: the state of every API key, folded from the "auth" events of the log.

Three events change it (all ``Entry(kind="auth")``):

- ``key.created`` — :meth:`ApiKeyRecord.to_event_payload`;
- ``key.revoked`` — ``{"id", "revoked_at"}``: the key stops working at once;
- ``key.rotated`` — ``{"old_id", "new": <key.created payload>, "rotated_at", "grace_until"}``:
  a new key replaces the old one, which keeps working until ``grace_until``.

:func:`key_transition` is the single transition function; the in-memory registry and the
SQLite projection (``api.auth.store``) both fold through it, so they cannot disagree.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from api.auth.apikeys import ApiKeyRecord, key_prefix, new_api_key
from api.auth.errors import KeySpecError, UnauthorizedError

KEY_CREATED = "key.created"
KEY_REVOKED = "key.revoked"
KEY_ROTATED = "key.rotated"


@dataclass(frozen=True)
class KeyState:
    """A key's record plus what happened to it since it was created."""

    record: ApiKeyRecord
    revoked_at: float | None = None
    rotated_to: str | None = None
    grace_until: float | None = None

    def valid_at(self, now_s: float) -> bool:
        """True while the key may authenticate: not revoked, expired, or past its grace."""
        if self.revoked_at is not None and now_s >= self.revoked_at:
            return False
        if self.grace_until is not None and now_s >= self.grace_until:
            return False
        return not self.record.is_expired(now_s)


def key_transition(
    payload: dict[str, Any], lookup: Callable[[str], KeyState | None]
) -> list[KeyState]:
    """The key states an auth event creates or changes (empty for unrelated auth events)."""
    kind = payload.get("type")
    if kind == KEY_CREATED:
        return [KeyState(ApiKeyRecord.from_event_payload(payload))]
    if kind == KEY_REVOKED:
        current = lookup(str(payload["id"]))
        if current is None:
            return []
        return [replace(current, revoked_at=float(payload["revoked_at"]))]
    if kind == KEY_ROTATED:
        old = lookup(str(payload["old_id"]))
        new = KeyState(ApiKeyRecord.from_event_payload(payload["new"]))
        if old is None:
            return [new]
        grace_until = float(payload["grace_until"])
        if old.grace_until is not None:
            grace_until = min(grace_until, old.grace_until)
        return [replace(old, rotated_to=new.record.id, grace_until=grace_until), new]
    return []


def key_info(state: KeyState, now_s: float) -> dict[str, Any]:
    """What may be shown of a key: everything but its hash, plus whether it works now."""
    r = state.record
    return {
        "id": r.id,
        "prefix": r.prefix,
        "scope": r.scope,
        "namespace": r.namespace,
        "name": r.name,
        "created_at": r.created_at,
        "expires_at": r.expires_at,
        "revoked_at": state.revoked_at,
        "rotated_to": state.rotated_to,
        "grace_until": state.grace_until,
        "active": state.valid_at(now_s),
    }


def revoke_event(key_id: str, now_s: float) -> dict[str, Any]:
    """Payload of the auth event that revokes ``key_id``."""
    return {"type": KEY_REVOKED, "id": key_id, "revoked_at": now_s}


class KeyRegistry:
    """Every known key by id, with a prefix index for verifying a presented key."""

    def __init__(self, states: Iterable[KeyState] = ()) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, KeyState] = {}
        self._by_prefix: dict[str, set[str]] = {}
        for state in states:
            self._put(state)

    def apply(self, payload: dict[str, Any]) -> None:
        """Fold one auth event payload into the registry."""
        with self._lock:
            for state in key_transition(payload, self._by_id.get):
                self._put(state)

    def get(self, key_id: str) -> KeyState | None:
        """The state of ``key_id``, or None when no such key was ever created."""
        return self._by_id.get(key_id)

    def is_active(self, key_id: str, now_s: float) -> bool:
        """True while ``key_id`` exists and may authenticate (what a derived credential, a
        token minted or a URL signed with the key, needs to keep working)."""
        state = self._by_id.get(key_id)
        return state is not None and state.valid_at(now_s)

    def named(self, name: str) -> KeyState | None:
        """The key a name designates without its secret: its id, or its visible prefix
        when exactly one key has it (what a PostgreSQL user name may carry, so that the
        server can start a SCRAM exchange before any proof of the key arrives)."""
        with self._lock:
            state = self._by_id.get(name)
            if state is not None:
                return state
            ids = self._by_prefix.get(name, set())
            return self._by_id[next(iter(ids))] if len(ids) == 1 else None

    def states(self) -> list[KeyState]:
        """All keys, oldest first."""
        return sorted(self._by_id.values(), key=lambda s: (s.record.created_at, s.record.id))

    def verify(self, plaintext: str, now_s: float) -> ApiKeyRecord:
        """The record of a presented key; :class:`UnauthorizedError` unless it is valid now.

        Every candidate sharing the visible prefix is hashed and compared in constant time,
        and the same message is raised for unknown, revoked and expired keys so that a
        caller learns nothing about which keys exist.
        """
        prefix = key_prefix(plaintext)
        with self._lock:
            candidates = [self._by_id[k] for k in sorted(self._by_prefix.get(prefix, ()))]
        found: KeyState | None = None
        for state in candidates:
            if state.record.matches(plaintext):
                found = state
        if found is None or not found.valid_at(now_s):
            raise UnauthorizedError("invalid API key")
        return found.record

    def rotate_event(
        self, key_id: str, grace_seconds: float, ttl_seconds: int | None, now_s: float
    ) -> tuple[str, dict[str, Any]]:
        """Mint the successor of ``key_id``; return its plaintext and the key.rotated payload.

        The registry is not changed: the caller appends the payload to the log and the
        registry learns of it by folding, like every other reader.
        """
        old = self._by_id.get(key_id)
        if old is None or not old.valid_at(now_s):
            raise KeySpecError(f"no active key with id {key_id!r}")
        if grace_seconds < 0:
            raise KeySpecError("grace period must not be negative")
        plaintext, new = new_api_key(
            old.record.scope, old.record.namespace, old.record.name, ttl_seconds, now_s
        )
        payload = {
            "type": KEY_ROTATED,
            "old_id": key_id,
            "new": new.to_event_payload(),
            "rotated_at": now_s,
            "grace_until": now_s + grace_seconds,
        }
        return plaintext, payload

    def _put(self, state: KeyState) -> None:
        self._by_id[state.record.id] = state
        self._by_prefix.setdefault(state.record.prefix, set()).add(state.record.id)
