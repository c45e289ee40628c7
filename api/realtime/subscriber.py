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
from collections.abc import Callable

from api.realtime.access import Access, View
from api.realtime.events import ChangeEvent, RecordEvents
from api.realtime.position import Position
from api.rls.policy import PolicySet

Verdicts = dict[tuple[tuple[str, ...], int], View]


class Subscriber:
    """A registered stream: what it may see, where it stands, what waits to be written."""

    __slots__ = (
        "_frames",
        "_last",
        "_lsn",
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
        self._lsn = -1
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, lsn: int, event_id: str, frame: bytes) -> bool:
        """Queue a frame; False (and the subscriber overflows) when a new record finds the
        buffer full. A record is taken whole, however many changes it has: a client that
        keeps up never overflows on one large transaction, and the frames are shared with
        every other subscriber, so the buffer holds references, not copies."""
        if lsn != self._lsn and len(self._frames) >= self.limit:
            return self._overflow()
        self._frames.append(frame)
        self._last, self._lsn = event_id, lsn
        self._wake()
        return True

    def offer_all(self, batch: RecordEvents) -> bool:
        """Queue every frame of a record (see `offer`)."""
        if len(self._frames) >= self.limit:
            return self._overflow()
        self._frames.extend(batch.frames)
        self._last, self._lsn = batch.last_id, batch.lsn
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


def offer_record(
    subscriber: Subscriber,
    batch: RecordEvents,
    conn: LazyConnection,
    policies: PolicySet,
    verdicts: Verdicts,
) -> bool:
    """Offer a subscriber what it may see of a record: the whole record at once when no
    event needs a check of its own, else event by event. False when it overflowed."""
    if subscriber.after.lsn < batch.lsn and subscriber.access.matches_all(batch):
        return subscriber.offer_all(batch)
    for event in batch.events:
        chosen = subscriber.frame_for(event, view_for(subscriber, event, conn, policies, verdicts))
        if chosen is not None and not subscriber.offer(event.lsn, event.id, chosen):
            return False
    return True


def view_for(
    subscriber: Subscriber,
    event: ChangeEvent,
    conn: LazyConnection,
    policies: PolicySet,
    verdicts: Verdicts,
) -> View:
    """What `subscriber` gets of `event`: filters, position, then row-level security (the
    verdict memoised per principal and change within one record)."""
    access = subscriber.access
    if not access.matches(event) or not subscriber.after.precedes(event.lsn, event.index):
        return View.HIDDEN
    if event.image is None or not access.uses_rls:
        return View.FULL
    key = (access.key, event.index)
    view = verdicts.get(key)
    if view is None:
        view = verdicts[key] = access.view(conn.get(), event, policies)
    return view
