"""One subscriber as the hub sees it: its access, its position, a bounded buffer of frames.

An idle subscriber is a small object in the hub's set and a parked future: no task of its
own reads the log. The hub appends frames; the subscriber's stream takes them all at once
and writes them as one chunk. A subscriber whose buffer is full when the hub has more for it
has fallen behind: its buffer is dropped, it leaves the hub, and its stream ends with an
``overflow`` event naming the id to resume from (the last one it wrote). A subscriber whose
next changes are no longer in the history (a replica's hub that fell behind its trimmed
history) ends after what is queued with ``resync-required`` (see `api.realtime.stream`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass

from api.realtime.access import Access, View
from api.realtime.events import ChangeEvent, RecordEvents
from api.realtime.position import Position
from api.rls.policy import PolicySet

Verdicts = dict[tuple[tuple[str, ...], int], View]


@dataclass(frozen=True, slots=True)
class Share:
    """What the subscribers of one group (`Subscriber.group`) get of one record, chosen once
    for all of them: the events they may see and the frame of each, in order."""

    lsn: int
    events: tuple[ChangeEvent, ...]
    frames: tuple[bytes, ...]

    def after(self, position: Position) -> Share:
        """The part of the share that comes after `position` (a subscriber that joined
        inside the record)."""
        kept = [i for i, e in enumerate(self.events) if position.precedes(e.lsn, e.index)]
        return Share(
            self.lsn, tuple(self.events[i] for i in kept), tuple(self.frames[i] for i in kept)
        )


class GroupKey:
    """A hashable key whose hash is computed once (the hub looks it up for every subscriber
    of every record)."""

    __slots__ = ("_hash", "_parts")

    def __init__(self, parts: tuple[Hashable, ...]) -> None:
        self._parts = parts
        self._hash = hash(parts)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GroupKey) and other._parts == self._parts


class Subscriber:
    """A registered stream: what it may see, where it stands, what waits to be written."""

    __slots__ = (
        "_frames",
        "_group",
        "_grouped",
        "_last",
        "_quiet",
        "_timer",
        "_waiter",
        "access",
        "after",
        "beat",
        "closed",
        "heartbeat_s",
        "history_after",
        "limit",
        "overflowed",
    )

    def __init__(self, access: Access, after: Position, limit: int, heartbeat_s: float) -> None:
        self.access = access
        self.after = after
        self.limit = limit
        self.heartbeat_s = heartbeat_s
        self.overflowed = False
        self.closed = False
        self.history_after: int | None = None
        self.beat = False
        self._quiet = True
        self._timer: asyncio.TimerHandle | None = None
        self._frames: list[bytes] = []
        self._last: str | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._group: GroupKey | None = None
        self._grouped: Access | None = None

    @property
    def group(self) -> GroupKey:
        """What decides the frames this subscriber gets of a record, its position apart:
        its access (the whole principal and the filters, see `Access.signature`) and how it
        encodes frames (`shape`). The hub chooses a record's frames once per group. Built
        again when the access is replaced (a channel's new token)."""
        if self._grouped is not self.access or self._group is None:
            self._grouped = self.access
            self._group = GroupKey((self.shape(), self.access.signature))
        return self._group

    def shape(self) -> tuple[Hashable, ...]:
        """What, beside the event and its view, `frame_for` depends on (a subclass that
        encodes otherwise names its inputs here)."""
        return ("sse",)

    def queue(self, share: Share) -> bool:
        """Queue what this subscriber's group gets of a record (only what comes after its
        position); False (and the subscriber overflows) when the buffer is full. A record
        is taken whole, however many changes it has: a client that keeps up never overflows
        on one large transaction, and the frames are shared with every other subscriber,
        so the buffer holds references, not copies."""
        if self.after.lsn >= share.lsn:
            share = share.after(self.after)
        if not share.events:
            return True
        if len(self._frames) >= self.limit:
            return self._overflow()
        self._frames.extend(share.frames)
        self._last = share.events[-1].id
        self._wake()
        return True

    def frame_for(self, event: ChangeEvent, view: View) -> bytes | None:
        """The frame this subscriber gets of `event` seen as `view` (None: nothing). A
        subclass speaking another wire format (`api.realtime.phoenix`) encodes it its way."""
        if view is View.FULL:
            return event.frame
        if view is View.KEYED and event.keyed is not None:
            return event.keyed.frame
        return None

    def _overflow(self) -> bool:
        """Fallen behind: drop what is queued; the stream ends with ``overflow``."""
        self.overflowed = True
        self._frames.clear()
        self._wake()
        return False

    def close(self) -> None:
        """End the stream after what is queued (the server is stopping, or the hub failed)."""
        self.closed = True
        self._wake()

    def lost_history(self, history_after: int) -> None:
        """End the stream after what is queued with ``resync-required``: the changes that
        come next are gone from the history, which holds the records after `history_after`
        only."""
        self.history_after = history_after
        self._wake()

    def take(self) -> tuple[bytes, str | None]:
        """Everything queued as one chunk, and the id of its last event."""
        chunk = b"".join(self._frames)
        self._frames.clear()
        last, self._last = self._last, None
        return chunk, last

    async def wait(self) -> None:
        """Until something is queued, the subscriber overflows, closes or lost its history,
        or a heartbeat is due (`beat`): `heartbeat_s` passed with nothing written (see
        `wrote`)."""
        if self._frames or self.overflowed or self.closed or self.history_after is not None:
            return
        if self.beat:
            return
        loop = asyncio.get_running_loop()
        if self._timer is None:
            self._timer = loop.call_later(self.heartbeat_s, self._tick)
        self._waiter = waiter = loop.create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def wrote(self) -> None:
        """The stream wrote something: no heartbeat is due before another period passes."""
        self._quiet = False
        self.beat = False

    def stop(self) -> None:
        """The stream is over: drop the heartbeat timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        """Every `heartbeat_s` (one timer per subscriber, not one per wake-up): a period
        with nothing written makes a heartbeat due."""
        self._timer = asyncio.get_running_loop().call_later(self.heartbeat_s, self._tick)
        if self._quiet:
            self.beat = True
            self._wake()
        self._quiet = True

    def _wake(self) -> None:
        if self._waiter is not None:
            _settle(self._waiter)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class LazyConnection:
    """A projection connection opened on first use (records nobody filters by row need none)."""

    __slots__ = ("_conn", "_open")

    def __init__(self, open_: Callable[[], sqlite3.Connection]) -> None:
        self._open = open_
        self._conn: sqlite3.Connection | None = None

    def get(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._open()
        return self._conn


def fan_out(
    subscribers: Iterable[Subscriber],
    batch: RecordEvents,
    conn: LazyConnection,
    policies: PolicySet,
) -> list[Subscriber]:
    """Queue a record for each subscriber, choosing what it gets once per group
    (`Subscriber.group`): subscribers with the same principal, filters and wire shape get
    the same frames, so the filters, the policies and the encoding run once for all of them.
    Returns the subscribers that overflowed (they leave the hub)."""
    verdicts: Verdicts = {}
    shares: dict[GroupKey, Share] = {}
    behind: list[Subscriber] = []
    for subscriber in subscribers:
        group = subscriber.group
        share = shares.get(group)
        if share is None:
            share = shares[group] = choose(subscriber, batch, conn, policies, verdicts)
        if not subscriber.queue(share):
            behind.append(subscriber)
    return behind


def choose(
    subscriber: Subscriber,
    batch: RecordEvents,
    conn: LazyConnection,
    policies: PolicySet,
    verdicts: Verdicts,
) -> Share:
    """What `subscriber`'s group gets of a record, whatever its position (`Share.after`
    cuts that): each event its filters pass, under row-level security, framed its way."""
    events: list[ChangeEvent] = []
    frames: list[bytes] = []
    for event in batch.events:
        view = visible(subscriber.access, event, conn, policies, verdicts)
        chosen = subscriber.frame_for(event, view)
        if chosen is not None:
            events.append(event)
            frames.append(chosen)
    return Share(batch.lsn, tuple(events), tuple(frames))


def view_for(
    subscriber: Subscriber,
    event: ChangeEvent,
    conn: LazyConnection,
    policies: PolicySet,
    verdicts: Verdicts,
) -> View:
    """What `subscriber` gets of `event`: its position, then `visible`."""
    if not subscriber.after.precedes(event.lsn, event.index):
        return View.HIDDEN
    return visible(subscriber.access, event, conn, policies, verdicts)


def visible(
    access: Access,
    event: ChangeEvent,
    conn: LazyConnection,
    policies: PolicySet,
    verdicts: Verdicts,
) -> View:
    """What `access` lets through of `event`: filters, then row-level security (the
    verdict memoised per principal and change within one record)."""
    if not access.matches(event):
        return View.HIDDEN
    if event.image is None or not access.uses_rls:
        return View.FULL
    key = (access.key, event.index)
    view = verdicts.get(key)
    if view is None:
        view = verdicts[key] = access.view(conn.get(), event, policies)
    return view
