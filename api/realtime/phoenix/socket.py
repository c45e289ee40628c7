"""One `/realtime/v1/websocket` connection: its channels and what clients send on them.

`PhoenixSocket.handle` takes one text frame and answers through the outbox, never waiting
on the client: joins (``phx_join``: postgres_changes bindings, broadcast and presence
options, the channel's ``access_token``, and our ``from_lsn``), ``phx_leave``, ``broadcast``,
``presence`` (track/untrack), ``access_token`` (a new token for the channel) and
``heartbeat`` on the topic ``phoenix``. A malformed frame or too many messages end the socket
(`SocketClosedError`); anything wrong with one channel's message is that channel's error reply,
and no other socket notices either.

Who a channel is: the socket's principal (its ``apikey``: an API key or a token), or the
principal of the join's ``access_token`` (a user's JWT), which must belong to the same
namespace. A token's expiry closes its channel when it comes (a ``system`` error, then
``phx_close``), as does a revoked key at the next heartbeat.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from api.auth.errors import AuthError, RateLimitedError
from api.auth.principal import Principal
from api.http.backend import Backend
from api.readers import OverloadedError
from api.realtime.access import Access, Filters
from api.realtime.catchup import CatchUp
from api.realtime.errors import HistoryGoneError, RealtimeError, SubscriptionError
from api.realtime.events import OBJECTS_TABLE
from api.realtime.hub import Hub, store_connection
from api.realtime.phoenix.bindings import Binding, parse_bindings
from api.realtime.phoenix.changes import ChannelSubscriber
from api.realtime.phoenix.outbox import Outbox
from api.realtime.phoenix.rooms import Member, Rooms
from api.realtime.phoenix.wire import Message, decode, decode_binary, encode, reply
from api.realtime.position import Position, start_position
from api.realtime.source import check_readable
from api.sql import Catalog

PREFIX = "realtime:"
PHOENIX = "phoenix"
CHECK_EVERY_S = 15.0
STOPPED = "RealtimeRestarting: the change feed stopped; rejoin"


@dataclass(frozen=True)
class Limits:
    """What one socket may do."""

    max_channels: int = 100
    max_frame_bytes: int = 256 * 1024
    messages_per_s: float = 100.0
    burst: int = 1000


class SocketClosedError(RealtimeError):
    """The socket must close: `code` and `reason` go to the client in the close frame."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class JoinRefusedError(RealtimeError):
    """A join (or a new token) refused: the reason is Supabase's ``Code: message``."""


@dataclass(eq=False)
class Channel:
    """A joined topic."""

    topic: str
    join_ref: str | None
    principal: Principal
    token: str | None
    member: Member
    ack: bool
    subscriber: ChannelSubscriber | None = None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    expiry: asyncio.TimerHandle | None = None


class PhoenixSocket:
    """The channels of one connection."""

    def __init__(
        self, backend: Backend, rooms: Rooms, principal: Principal, token: str, vsn: str,
        outbox: Outbox, limits: Limits = Limits(),
    ) -> None:  # fmt: skip
        self.backend = backend
        self.rooms = rooms
        self.principal = principal
        self.token = token
        self.vsn = vsn
        self.outbox = outbox
        self.limits = limits
        self.channels: dict[str, Channel] = {}
        self._allowance = float(limits.burst)
        self._checked = self._verified = time.monotonic()

    @property
    def room_space(self) -> str:
        """Rooms are per namespace (admins share one space of their own)."""
        return self.principal.namespace or "*"

    async def handle(self, frame: str | bytes) -> None:
        """One frame from the client (text; or binary: a 2.0.0 user broadcast push)."""
        limit = self.limits.max_frame_bytes
        if len(frame) > limit or (
            isinstance(frame, str) and len(frame) * 4 > limit and len(frame.encode()) > limit
        ):
            raise SocketClosedError(1009, f"frames are at most {self.limits.max_frame_bytes} bytes")
        self._pace()
        try:
            if isinstance(frame, str):
                message = decode(frame, self.vsn)
            else:
                message = decode_binary(frame, self.vsn)
        except RealtimeError as exc:
            raise SocketClosedError(1003 if isinstance(frame, bytes) else 1007, str(exc)) from exc
        if message.topic == PHOENIX:
            if message.event == "heartbeat":
                self._check_credentials()
                self._reply(message, "ok", {})
            return
        if message.event == "phx_join":
            await self._join(message)
            return
        channel = self.channels.get(message.topic)
        if channel is None:
            self._reply(message, "error", {"reason": "unmatched topic"})
            return
        self._channel_message(channel, message)

    def close(self) -> None:
        """The connection is gone: every channel leaves."""
        for channel in list(self.channels.values()):
            self._drop(channel)

    def _pace(self) -> None:
        """A token bucket over the client's messages: too many ends the socket."""
        now = time.monotonic()
        rate, burst = self.limits.messages_per_s, self.limits.burst
        self._allowance = min(burst, self._allowance + (now - self._checked) * rate)
        self._checked = now
        if self._allowance < 1:
            raise SocketClosedError(1008, "Too many messages per second")
        self._allowance -= 1

    # joins ---------------------------------------------------------------------------

    async def _join(self, message: Message) -> None:
        topic = message.topic
        try:
            if not topic.startswith(PREFIX) or topic == PREFIX:
                raise JoinRefusedError("TopicNameRequired: You must provide a topic name")
            old = self.channels.get(topic)
            if old is not None:
                self._drop(old)
            if len(self.channels) >= self.limits.max_channels:
                raise JoinRefusedError("ChannelRateLimitReached: Too many channels")
            channel, bindings, start = await self._open(message)
        except JoinRefusedError as exc:
            self._reply(message, "error", {"reason": str(exc)})
            return
        self._start(channel, message, bindings, start)

    async def _open(self, message: Message) -> tuple[Channel, list[Binding], Position | None]:
        """Everything a join checks before it answers (nothing is registered yet)."""
        payload = message.payload
        config = payload.get("config") or {}
        if not isinstance(config, dict):
            raise JoinRefusedError("InvalidJoinPayload: config must be an object")
        if config.get("private"):
            raise JoinRefusedError("PrivateChannelsUnsupported: private channels are not served")
        token = payload.get("access_token") or payload.get("user_token")
        principal = self._principal(token)
        try:
            bindings = parse_bindings(config.get("postgres_changes"))
            start = _start_position(config)
        except SubscriptionError as exc:
            raise JoinRefusedError(f"InvalidJoinPayload: {exc}") from exc
        self._check_scope(principal, bindings)
        await self._check_exist(principal, bindings)
        if start is not None:
            await self._check_start(start)
        broadcast = _section(config, "broadcast")
        presence = _section(config, "presence")
        key = presence.get("key") or ""
        member = Member(
            vsn=self.vsn,
            topic=message.topic,
            send=self.outbox.put,
            self_broadcast=bool(broadcast.get("self")),
            presence_key=key if isinstance(key, str) and key else str(uuid.uuid4()),
        )
        channel = Channel(
            message.topic, message.join_ref, principal, token if principal is not self.principal
            else None, member, bool(broadcast.get("ack")),
        )  # fmt: skip
        return channel, bindings, start

    def _start(
        self, channel: Channel, message: Message, bindings: list[Binding], start: Position | None
    ) -> None:
        """Register the channel and answer, with no await between: changes after the reply
        are the channel's, none before it."""
        self.channels[channel.topic] = channel
        self.rooms.enter(self.room_space, channel.member)
        echoed = [{**b.echo, "id": b.id} for b in bindings]
        self._reply(message, "ok", {"postgres_changes": echoed})
        presence = _section(message.payload.get("config") or {}, "presence")
        if presence.get("enabled") or presence.get("key"):
            state = self.rooms.state(self.room_space, channel.topic)
            self.outbox.put(encode(self.vsn, channel.topic, "presence_state", state))
        self._arm_expiry(channel)
        if not bindings:
            return
        hub = self.backend.realtime.hub()
        filters = _filters(bindings)
        after = start if start is not None else Position(hub.position)
        subscriber = ChannelSubscriber(
            Access(channel.principal, filters), after, bindings, channel.topic, self.vsn,
            self.outbox.put, lambda: self._shut(channel, STOPPED),
        )  # fmt: skip
        channel.subscriber = subscriber
        if after.done_through >= hub.position:
            hub.join(subscriber)
            self._subscribed(channel)
        else:
            task = asyncio.get_running_loop().create_task(self._catch_up(channel, hub))
            channel.tasks.append(task)

    async def _catch_up(self, channel: Channel, hub: Hub) -> None:
        """The log from the join's `from_lsn` up to the hub, at the client's pace, then the
        hub (joined with no await after the last check: nothing lost or repeated)."""
        subscriber = channel.subscriber
        assert subscriber is not None
        db = self.backend.db
        catchup = CatchUp(db.history, store_connection(db.store), hub.policies, subscriber)
        cursor = subscriber.after.done_through
        while cursor < hub.position:
            if not await self.outbox.room():
                return
            frames, _, cursor = await asyncio.to_thread(catchup.read, cursor + 1, hub.position)
            for frame in frames:
                if not self.outbox.put(frame):
                    return
        if self.channels.get(channel.topic) is channel:
            hub.join(subscriber)
            self._subscribed(channel)

    def _subscribed(self, channel: Channel) -> None:
        self._system(channel, "postgres_changes", "ok", "Subscribed to PostgreSQL")

    def _principal(self, token: Any) -> Principal:
        """The channel's principal: the join's token if it names another one than the
        socket's key (Supabase's publishable ``sb_`` keys are ignored, as Supabase does)."""
        if token is None or token == self.token or _publishable(token):
            return self.principal
        if not isinstance(token, str):
            raise JoinRefusedError("InvalidJWTToken: access_token must be a string")
        try:
            principal = self.backend.principal(token)
        except RateLimitedError as exc:
            raise JoinRefusedError(f"ClientJoinRateLimitReached: {exc}") from exc
        except AuthError as exc:
            raise JoinRefusedError(f"InvalidJWTToken: {exc}") from exc
        own = self.principal
        if own.kind != "admin" and principal.namespace != own.namespace:
            raise JoinRefusedError(
                f"Unauthorized: the token is for namespace {principal.namespace}, the"
                f" apikey for {own.namespace}"
            )
        return principal

    def _check_scope(self, principal: Principal, bindings: list[Binding]) -> None:
        """Every binding's schema within the principal's namespace (storage.objects: every
        namespace's, each sees its own buckets')."""
        for binding in bindings:
            if binding.qualified == OBJECTS_TABLE or principal.kind == "admin":
                continue
            if binding.schema != principal.namespace:
                raise JoinRefusedError(
                    f"Unauthorized: schema {binding.schema} is outside namespace"
                    f" {principal.namespace}"
                )

    async def _check_exist(self, principal: Principal, bindings: list[Binding]) -> None:
        """Named tables and schemas exist (the catalogue read on the reader pool)."""
        if not bindings:
            return
        store = self.backend.db.store

        def load() -> Catalog:
            with store.snapshot() as snap:
                return Catalog.load(snap.conn)

        try:
            catalog = await self.backend.off_loop(principal, load)
        except OverloadedError as exc:
            raise JoinRefusedError(f"ServerBusy: {exc}") from exc
        for binding in bindings:
            name = binding.qualified
            if name == OBJECTS_TABLE:
                continue
            if name is not None and name not in catalog.tables:
                raise JoinRefusedError(f"InvalidJoinPayload: table {name} does not exist")
            if name is None and binding.schema not in catalog.schemas:
                raise JoinRefusedError(
                    f"InvalidJoinPayload: schema {binding.schema} does not exist"
                )

    async def _check_start(self, start: Position) -> None:
        """`from_lsn` within the history this server holds."""
        history = self.backend.db.history
        head = history.head_lsn
        if start.lsn > head:
            raise JoinRefusedError(
                f"InvalidJoinPayload: from_lsn is beyond the log's head ({head})"
            )
        if start.done_through < head:
            try:
                await asyncio.to_thread(check_readable, history, start.done_through + 1)
            except HistoryGoneError as exc:
                raise JoinRefusedError(f"UnableToReplay: {exc}") from exc

    # messages on a joined channel ----------------------------------------------------

    def _channel_message(self, channel: Channel, message: Message) -> None:
        event, payload = message.event, message.payload
        if event == "phx_leave":
            self._drop(channel)
            self._reply(message, "ok", {})
            self.outbox.put(encode(self.vsn, channel.topic, "phx_close", {}, message.ref))
        elif event == "broadcast":
            self.rooms.broadcast(self.room_space, channel.member, payload)
            if channel.ack:
                self._reply(message, "ok", {})
        elif event == "presence":
            self._presence(channel, message)
        elif event == "access_token":
            self._refresh(channel, payload.get("access_token"))

    def _presence(self, channel: Channel, message: Message) -> None:
        kind, meta = message.payload.get("event"), message.payload.get("payload", {})
        if kind == "track" and isinstance(meta, dict):
            self.rooms.track(self.room_space, channel.member, meta)
        elif kind == "untrack":
            self.rooms.untrack(self.room_space, channel.member)
        else:
            self._reply(message, "error", {"reason": "Presence track payload must be a map"})
            return
        self._reply(message, "ok", {})

    def _refresh(self, channel: Channel, token: Any) -> None:
        """A new token for the channel: its principal from now on, or the channel closes."""
        if token is None or token == channel.token or _publishable(token):
            return
        try:
            principal = self._principal(token)
            if channel.subscriber is not None:
                self._check_scope(principal, channel.subscriber.bindings)
        except JoinRefusedError as exc:
            self._shut(channel, str(exc))
            return
        channel.principal = principal
        channel.token = token if principal is not self.principal else None
        if channel.subscriber is not None:
            filters = channel.subscriber.access.filters
            channel.subscriber.access = Access(principal, filters)
        self._arm_expiry(channel)

    # credentials ---------------------------------------------------------------------

    def _arm_expiry(self, channel: Channel) -> None:
        """Close the channel when its token expires."""
        if channel.expiry is not None:
            channel.expiry.cancel()
            channel.expiry = None
        exp = channel.principal.claims.get("exp")
        if isinstance(exp, int | float):
            delay = max(0.0, float(exp) - time.time())
            channel.expiry = asyncio.get_running_loop().call_later(
                delay, self._shut, channel, "InvalidJWTToken: Token has expired"
            )

    def _check_credentials(self) -> None:
        """At a heartbeat, at most once per `CHECK_EVERY_S` (verifying a key costs a key
        derivation, and heartbeats come as often as the client likes): the socket's key and
        every channel's credential still hold (a revoked key ends the socket or the
        channel; an expired token its channel)."""
        now = time.monotonic()
        if now - self._verified < CHECK_EVERY_S:
            return
        self._verified = now
        if not _still_valid(self.backend, self.principal, self.token):
            raise SocketClosedError(1008, "Unauthorized: the apikey is no longer valid")
        for channel in list(self.channels.values()):
            if channel.token is not None and not _still_valid(
                self.backend, channel.principal, channel.token
            ):
                self._shut(channel, "Unauthorized: the access token is no longer valid")

    # leaving -------------------------------------------------------------------------

    def _shut(self, channel: Channel, reason: str) -> None:
        """Close one channel from the server's side: a ``system`` error, then ``phx_close``."""
        if self.channels.get(channel.topic) is not channel:
            return
        self._drop(channel)
        self._system(channel, "system", "error", reason)
        self.outbox.put(encode(self.vsn, channel.topic, "phx_close", {}, None, channel.join_ref))

    def _drop(self, channel: Channel) -> None:
        if self.channels.get(channel.topic) is channel:
            del self.channels[channel.topic]
        self.rooms.leave(self.room_space, channel.member)
        for task in channel.tasks:
            task.cancel()
        if channel.expiry is not None:
            channel.expiry.cancel()
        if channel.subscriber is not None:
            channel.subscriber.close()
            self.backend.realtime.hub().leave(channel.subscriber)

    # sending -------------------------------------------------------------------------

    def _reply(self, message: Message, status: str, response: dict[str, Any]) -> None:
        self.outbox.put(reply(self.vsn, message, status, response))

    def _system(self, channel: Channel, extension: str, status: str, text: str) -> None:
        payload = {
            "message": text,
            "status": status,
            "extension": extension,
            "channel": channel.topic.removeprefix(PREFIX),
        }
        self.outbox.put(encode(self.vsn, channel.topic, "system", payload))


def _still_valid(backend: Backend, principal: Principal, token: str) -> bool:
    key_id = principal.key_id
    if key_id is not None and not backend.bearers.keys.is_active(key_id, time.time()):
        return False
    try:
        backend.bearers.resolve(token)
    except AuthError:
        return False
    return True


def _publishable(token: Any) -> bool:
    """Supabase's publishable keys (``sb_...``), which its clients may send as a token."""
    return isinstance(token, str) and token.startswith("sb_")


def _section(config: dict[str, Any], name: str) -> dict[str, Any]:
    section = config.get(name)
    return section if isinstance(section, dict) else {}


def _start_position(config: dict[str, Any]) -> Position | None:
    from_lsn = config.get("from_lsn")
    if from_lsn is None:
        return None
    if not isinstance(from_lsn, int) or isinstance(from_lsn, bool):
        raise SubscriptionError("from_lsn must be an integer")
    return start_position(None, from_lsn)


def _filters(bindings: list[Binding]) -> Filters:
    """The hub's coarse filter: the union of the bindings' tables and ops."""
    tables = [b.qualified for b in bindings]
    ops = frozenset(op for b in bindings for op in b.ops)
    if any(t is None for t in tables):
        return Filters(None, ops)
    return Filters(frozenset(t for t in tables if t is not None), ops)
