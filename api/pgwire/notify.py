"""LISTEN / NOTIFY / UNLISTEN between the sessions of one server, as Postgres delivers them.

Channels belong to a namespace: a session listens and notifies in its principal's namespace
only, so tenants never hear each other. A notification sent inside a transaction block is
delivered when the block commits (never when it rolls back); outside a block at once. Each
listener gets a NotificationResponse with the sender's process id, the channel and the
payload, when it is idle or after its current answer. Notifications are not logged: like
Postgres' they do not survive a restart (row changes, which are logged, stream on
`/realtime`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from api.pgwire.errors import PgError

MAX_PAYLOAD_BYTES = 8000
"""Postgres refuses longer payloads too."""
MAX_CHANNELS = 1000
"""Channels one session may listen on."""
_NAME = r'("[^"]+"|[A-Za-z_]\w*)'
_LISTEN = re.compile(rf"^\s*LISTEN\s+{_NAME}\s*;?\s*$", re.IGNORECASE)
_UNLISTEN = re.compile(rf"^\s*UNLISTEN\s+(\*|{_NAME})\s*;?\s*$", re.IGNORECASE)
_NOTIFY = re.compile(
    rf"^\s*NOTIFY\s+{_NAME}\s*(?:,\s*'((?:[^']|'')*)')?\s*;?\s*$", re.IGNORECASE | re.DOTALL
)
_FIRST_WORD = re.compile(r"^\s*(LISTEN|UNLISTEN|NOTIFY)\b", re.IGNORECASE)
Deliver = Callable[[int, str, str], None]
"""A listener: called with the sender's process id, the channel and the payload."""


@dataclass(frozen=True)
class NotifyStatement:
    """LISTEN, UNLISTEN (channel empty: `*`) or NOTIFY with its payload."""

    kind: str
    channel: str
    payload: str = ""


def notify_statement(sql: str) -> NotifyStatement | None:
    """The LISTEN/UNLISTEN/NOTIFY statement `sql` is, or None; 42601 when malformed."""
    first = _FIRST_WORD.match(sql)
    if first is None:
        return None
    word = first.group(1).upper()
    if word == "LISTEN" and (match := _LISTEN.match(sql)):
        return NotifyStatement("listen", _unquote(match.group(1)))
    if word == "UNLISTEN" and (match := _UNLISTEN.match(sql)):
        name = match.group(1)
        return NotifyStatement("unlisten", "" if name == "*" else _unquote(name))
    if word == "NOTIFY" and (match := _NOTIFY.match(sql)):
        payload = (match.group(2) or "").replace("''", "'")
        if len(payload.encode()) >= MAX_PAYLOAD_BYTES:
            raise PgError("22023", "payload string too long")
        return NotifyStatement("notify", _unquote(match.group(1)), payload)
    raise PgError("42601", f"syntax error in {word}")


def _unquote(name: str) -> str:
    return name[1:-1] if name.startswith('"') else name.lower()


class Notifier:
    """Who listens on which (namespace, channel); one per server."""

    def __init__(self) -> None:
        self._listeners: dict[tuple[str, str], dict[int, Deliver]] = {}

    def listen(self, namespace: str, channel: str, key: int, deliver: Deliver) -> None:
        self._listeners.setdefault((namespace, channel), {})[key] = deliver

    def unlisten(self, namespace: str, channel: str, key: int) -> None:
        listeners = self._listeners.get((namespace, channel))
        if listeners is not None:
            listeners.pop(key, None)
            if not listeners:
                del self._listeners[namespace, channel]

    def publish(self, namespace: str, channel: str, payload: str, pid: int) -> None:
        for deliver in list(self._listeners.get((namespace, channel), {}).values()):
            deliver(pid, channel, payload)


class Listening:
    """One session's side: its channels, and notifications held until its block commits."""

    def __init__(self, notifier: Notifier, namespace: str, key: int, deliver: Deliver) -> None:
        self.notifier, self.namespace, self.key, self.deliver = notifier, namespace, key, deliver
        self.channels: set[str] = set()
        self.held: list[tuple[str, str]] = []

    def run(self, statement: NotifyStatement, in_block: bool, pid: int) -> str:
        """Carry out a statement; its command tag."""
        if statement.kind == "listen":
            if statement.channel not in self.channels and len(self.channels) >= MAX_CHANNELS:
                raise PgError("54000", f"a session listens on at most {MAX_CHANNELS} channels")
            self.channels.add(statement.channel)
            self.notifier.listen(self.namespace, statement.channel, self.key, self.deliver)
            return "LISTEN"
        if statement.kind == "unlisten":
            for channel in [statement.channel] if statement.channel else list(self.channels):
                self.channels.discard(channel)
                self.notifier.unlisten(self.namespace, channel, self.key)
            return "UNLISTEN"
        if in_block:
            self.held.append((statement.channel, statement.payload))
        else:
            self.notifier.publish(self.namespace, statement.channel, statement.payload, pid)
        return "NOTIFY"

    def end_block(self, committed: bool, pid: int) -> None:
        """Deliver what the block notified if it committed; forget it otherwise."""
        held, self.held = self.held, []
        if committed:
            for channel, payload in dict.fromkeys(held):  # duplicates fold, as in Postgres
                self.notifier.publish(self.namespace, channel, payload, pid)

    def close(self) -> None:
        for channel in self.channels:
            self.notifier.unlisten(self.namespace, channel, self.key)
        self.channels.clear()
