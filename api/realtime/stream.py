"""One subscription's byte stream: ``subscribed``, catch-up from the log, then live frames.

The ``subscribed`` event is written only once the stream is certain to contain every change
after its start position (joined to the hub, or catching up to it), so a client that writes
as soon as it reads it will see its own change. Heartbeat comments are written when nothing
else has been for `heartbeat_s`. The stream ends with ``overflow`` when the subscriber fell
behind, or quietly when the server stops; either way the last id written resumes it. On a
read replica that keeps only its newest records, a stream whose next changes were trimmed
before it got them ends with ``resync-required``: they are on the primary only, so the
client reloads what it shows and subscribes again (from the head), or resumes on the
primary.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

from api.realtime.catchup import CatchUp
from api.realtime.events import comment, frame
from api.realtime.hub import Hub
from api.realtime.subscriber import Subscriber
from projections.consumers.errors import HistoryUnavailableError

HEARTBEAT = comment("heartbeat")


async def subscription(
    hub: Hub,
    subscriber: Subscriber,
    catchup: CatchUp,
    authorised: Callable[[], bool],
    release: Callable[[], None],
) -> AsyncIterator[bytes]:
    """The frames of one subscription, until it overflows, the server stops, the client goes
    (then the generator is closed, and it leaves the hub) or its credential stops being valid
    (`authorised`, asked on every wake before anything is written, so it must be cheap: a
    revoked key or an expired token ends the stream with ``unauthorized``); then `release`
    (the stream's slot). The live loop is written out here rather than in a nested
    generator, and the slot is given back here rather than by a wrapping one: it runs once
    per subscriber per change."""
    start = subscriber.after
    last = str(start)
    try:
        hub.start()
        joined = start.done_through >= hub.position
        if joined:
            hub.join(subscriber)
        yield frame(last, "subscribed", {"lsn": start.lsn, "after": last})
        if not joined:
            try:
                async for chunk, last_id in _catch_up(hub, subscriber, catchup):
                    last = last_id or last
                    yield chunk
            except HistoryUnavailableError as exc:
                yield resync_required(last, exc.base_lsn)
                return
        while True:
            await subscriber.wait()
            if not authorised():
                yield frame(None, "unauthorized", {"resume_from": last})
                return
            chunk, last_id = subscriber.take()
            if chunk:
                last = last_id or last
                subscriber.wrote()
                yield chunk
            elif subscriber.overflowed:
                yield frame(None, "overflow", {"resume_from": last})
                return
            elif subscriber.closed:
                return
            elif subscriber.history_after is not None:
                yield resync_required(last, subscriber.history_after)
                return
            else:
                subscriber.wrote()
                yield HEARTBEAT
    finally:
        subscriber.stop()
        hub.leave(subscriber)
        release()


def resync_required(last: str, history_after: int) -> bytes:
    """The end of a stream whose next changes are gone from the history (which holds the
    records after `history_after` only)."""
    return frame(None, "resync-required", {"last_id": last, "history_after": history_after})


async def history(
    subscriber: Subscriber, catchup: CatchUp, until_lsn: int, release: Callable[[], None]
) -> AsyncIterator[bytes]:
    """A bounded read of the past: ``subscribed``, the changes after the start position up
    to `until_lsn` from the log, then ``end`` -- never joining the hub, so a client that
    wants "everything up to now" knows exactly when it has it; then `release` (the stream's
    slot), as when the client goes first."""
    try:
        start = subscriber.after
        last = str(start)
        yield frame(last, "subscribed", {"lsn": start.lsn, "after": last})
        cursor = start.done_through
        while cursor < until_lsn:
            frames, last_id, cursor = await asyncio.to_thread(catchup.read, cursor + 1, until_lsn)
            if frames:
                chunk = b"".join(frames)
                last = last_id or last
                yield chunk
        yield frame(None, "end", {"lsn": until_lsn, "resume_from": last})
    finally:
        release()


async def _catch_up(
    hub: Hub, subscriber: Subscriber, catchup: CatchUp
) -> AsyncIterator[tuple[bytes, str | None]]:
    """Slices of the log up to the hub's position, then the join (no await in between)."""
    cursor = subscriber.after.done_through
    written = time.monotonic()
    while cursor < hub.position:
        frames, last_id, cursor = await asyncio.to_thread(catchup.read, cursor + 1, hub.position)
        if frames:
            written = time.monotonic()
            yield b"".join(frames), last_id
        elif time.monotonic() - written >= subscriber.heartbeat_s:
            written = time.monotonic()
            yield HEARTBEAT, None
    hub.join(subscriber)
