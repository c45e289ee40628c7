"""The realtime side of one served data directory: its hub and its principals' stream slots.

Built with the server (`api.wiring`) and handed to the HTTP app through the `Backend`. The
hub itself is made at the first subscription, on the loop that serves it: a hub belongs
to the loop it was made on (a test client's loop, or the server's), and one made on a loop
that has since ended is replaced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from api.auth.slots import Slots
from api.realtime.hub import Hub, store_connection
from api.realtime.phoenix.outbox import Outbox
from api.realtime.phoenix.rooms import Rooms
from api.realtime.source import RecordSource
from api.rls.policy import PolicySet
from projections.store import ProjectionStore


class RealtimeService:
    """Follows `log` (a primary's log, or a replica's history of applied records) for the
    `/realtime` streams of one server, at most `max_streams` open per principal."""

    def __init__(
        self,
        log: RecordSource,
        store: ProjectionStore,
        policies: Callable[[], PolicySet],
        max_streams: int,
    ) -> None:
        self._log = log
        self._store = store
        self._policies = policies
        self.slots = Slots(max_streams, "open realtime streams")
        self.rooms = Rooms()
        """Broadcast and presence of `/realtime/v1/websocket` channels."""
        self.sockets: set[Outbox] = set()
        """The outboxes of the open websockets, closed when the server stops."""
        self._hub: Hub | None = None

    def hub(self) -> Hub:
        """The hub on the running loop, made on first use, following the log (so that its
        position is the log's head, give or take the records it is fanning out)."""
        hub = self._hub
        if hub is None or hub.loop is not asyncio.get_running_loop():
            hub = self._hub = Hub(self._log, store_connection(self._store), self._policies)
        hub.start()
        return hub

    def read_through(self) -> int | None:
        """The LSN the live hub has fanned out (it reads on after it), or None with no hub
        following (none made yet, closed, failed, or on a loop that has ended: its position
        would hold the history back for good); any thread may ask (a replica's follower,
        before trimming history)."""
        hub = self._hub
        return hub.position if hub is not None and hub.following else None

    @property
    def subscribers(self) -> int:
        """Live subscribers joined to the hub."""
        return self._hub.subscribers if self._hub is not None else 0

    def close(self) -> None:
        """End every stream and accept no more (the server is stopping; call it on the
        serving loop)."""
        if self._hub is not None:
            self._hub.close()
        for outbox in list(self.sockets):
            outbox.stop()
