"""A socket's send queue: bounded in frames and bytes, written by one task.

The hub, the rooms and the socket's own replies all put frames here, in order, and never
wait; the writer task sends them. A client that does not read fills it: the next `put`
fails, the queue is dropped and the socket is closed (the client reconnects and, if it
cares, resumes with `from_lsn`). Catch-up, which reads the log at the client's pace, waits
for room instead (`room`).
"""

from __future__ import annotations

import asyncio
from collections import deque

MAX_FRAMES = 4096
MAX_BYTES = 16 << 20


class Outbox:
    """Frames waiting to be sent; `overflowed` once a put found it full."""

    def __init__(self, max_frames: int = MAX_FRAMES, max_bytes: int = MAX_BYTES) -> None:
        self._frames: deque[bytes] = deque()
        self._bytes = 0
        self._max_frames = max_frames
        self._max_bytes = max_bytes
        self._waiter: asyncio.Future[None] | None = None
        self._room = asyncio.Event()
        self.overflowed = False
        self.closed = False
        self.going_away = False

    def put(self, frame: bytes) -> bool:
        """Queue a frame; False (and the socket is to be closed) when it is full."""
        if self.overflowed or self.closed:
            return False
        if len(self._frames) >= self._max_frames or self._bytes + len(frame) > self._max_bytes:
            self.overflowed = True
            self._frames.clear()
            self._bytes = 0
            self._wake()
            return False
        self._frames.append(frame)
        self._bytes += len(frame)
        self._wake()
        return True

    def close(self) -> None:
        """Nothing more is queued; the writer ends once it has sent what is."""
        self.closed = True
        self._wake()
        self._room.set()

    def stop(self) -> None:
        """The server is stopping: the socket closes once what is queued is sent."""
        self.going_away = True
        self.close()

    async def take(self) -> list[bytes] | None:
        """Everything queued (waiting for something), or None when the socket is to close.
        The writer waits on a bare future, settled by the first `put` (one wake-up per
        batch of frames; a put with nobody waiting costs nothing more)."""
        while not self._frames:
            if self.overflowed or self.closed:
                return None
            self._waiter = waiter = asyncio.get_running_loop().create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        if self.overflowed:
            return None
        frames = list(self._frames)
        self._frames.clear()
        self._bytes = 0
        self._room.set()
        return frames

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def room(self) -> bool:
        """Wait until at most half the queue is used; False when the socket is closing."""
        while len(self._frames) > self._max_frames // 2 or self._bytes > self._max_bytes // 2:
            if self.overflowed or self.closed:
                return False
            self._room.clear()
            await self._room.wait()
        return not (self.overflowed or self.closed)
