"""Broadcast and presence: the channels of one topic in one namespace, on this server.

A room is keyed by the namespace of the socket's principal and the topic, so two tenants
using the topic ``room1`` never meet. Broadcasts go to every member (the sender too when it
joined with ``broadcast.self``); presence keeps, per member, what it tracked under its key
and sends ``presence_diff`` to every member when that changes. Nothing here is durable or
crosses servers (Supabase's presence is a CRDT across its cluster; ours is one process).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.realtime.phoenix.wire import encode

Send = Callable[[bytes], bool]


@dataclass(eq=False)
class Member:
    """One joined channel as its room sees it."""

    vsn: str
    topic: str
    send: Send
    self_broadcast: bool
    presence_key: str
    tracked: dict[str, Any] | None = None
    phx_ref: str = ""


@dataclass
class Room:
    members: set[Member] = field(default_factory=set)


class Rooms:
    """Every room of the server."""

    def __init__(self) -> None:
        self._rooms: dict[tuple[str, str], Room] = {}

    def enter(self, namespace: str, member: Member) -> None:
        self._rooms.setdefault((namespace, member.topic), Room()).members.add(member)

    def leave(self, namespace: str, member: Member) -> None:
        """Remove a member (its presence leaves with it)."""
        key = (namespace, member.topic)
        room = self._rooms.get(key)
        if room is None or member not in room.members:
            return
        if member.tracked is not None:
            self.untrack(namespace, member)
        room.members.discard(member)
        if not room.members:
            del self._rooms[key]

    def broadcast(self, namespace: str, sender: Member, payload: dict[str, Any]) -> None:
        """A client's broadcast to the room (each frame encoded once per protocol version)."""
        frames: dict[str, bytes] = {}
        for member in self._members(namespace, sender.topic):
            if member is sender and not sender.self_broadcast:
                continue
            frame = frames.get(member.vsn)
            if frame is None:
                frame = frames[member.vsn] = encode(member.vsn, member.topic, "broadcast", payload)
            member.send(frame)

    def state(self, namespace: str, topic: str) -> dict[str, Any]:
        """The ``presence_state`` of a room."""
        state: dict[str, Any] = {}
        for member in self._members(namespace, topic):
            if member.tracked is not None:
                entry = state.setdefault(member.presence_key, {"metas": []})
                entry["metas"].append(_meta(member))
        return state

    def track(self, namespace: str, member: Member, meta: dict[str, Any]) -> None:
        """Track (or replace) what a member shows; every member gets the diff."""
        leaves = _entry(member) if member.tracked is not None else {}
        member.tracked, member.phx_ref = meta, secrets.token_urlsafe(9)
        self._diff(namespace, member.topic, _entry(member), leaves)

    def untrack(self, namespace: str, member: Member) -> None:
        if member.tracked is None:
            return
        leaves = _entry(member)
        member.tracked = None
        self._diff(namespace, member.topic, {}, leaves)

    def _diff(
        self, namespace: str, topic: str, joins: dict[str, Any], leaves: dict[str, Any]
    ) -> None:
        payload = {"joins": joins, "leaves": leaves}
        frames: dict[str, bytes] = {}
        for member in self._members(namespace, topic):
            frame = frames.get(member.vsn)
            if frame is None:
                frame = frames[member.vsn] = encode(member.vsn, topic, "presence_diff", payload)
            member.send(frame)

    def _members(self, namespace: str, topic: str) -> list[Member]:
        room = self._rooms.get((namespace, topic))
        return list(room.members) if room is not None else []


def _meta(member: Member) -> dict[str, Any]:
    return {**(member.tracked or {}), "phx_ref": member.phx_ref}


def _entry(member: Member) -> dict[str, Any]:
    return {member.presence_key: {"metas": [_meta(member)]}}
