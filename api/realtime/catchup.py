"""Catch-up: the changes a resuming subscriber missed, read from the log itself.

The log holds every record from LSN 1, so a resume id older than every checkpoint is no
different from a recent one (a replica reads its history the same way; what a source does
not hold is refused before the stream starts, see `source.check_readable`). Reading happens
on a worker thread, a bounded slice at a time, so the event loop (and the hub) never waits
on it and a slow client paces its own reads.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack

from api.realtime.coltypes import ColumnTypes, ConnectionSource
from api.realtime.events import record_events
from api.realtime.source import RecordSource
from api.realtime.subscriber import LazyConnection, Subscriber, Verdicts, view_for
from api.rls.policy import PolicySet

SLICE_EVENTS = 2000
"""Events read per slice (a whole record is always finished, however large)."""


class CatchUp:
    """Reads slices of the log for one subscriber, in order, filtered as the hub would."""

    def __init__(
        self,
        log: RecordSource,
        connection: ConnectionSource,
        policies: Callable[[], PolicySet],
        subscriber: Subscriber,
    ) -> None:
        self._log = log
        self._connection = connection
        self._policies = policies
        self._subscriber = subscriber
        self._types = ColumnTypes(connection)

    def read(self, first: int, last: int) -> tuple[list[bytes], str | None, int]:
        """Frames of records `first`..`last` (or fewer): the frames, the last event id, and
        the LSN read through (blocking: run it on a worker thread)."""
        subscriber, policies = self._subscriber, self._policies()
        frames: list[bytes] = []
        last_id: str | None = None
        reached = first - 1
        verdicts: Verdicts = {}
        with ExitStack() as stack:
            conn = LazyConnection(lambda: stack.enter_context(self._connection()))
            for record in self._log.read(first, last, with_chain=False):
                for event in record_events(record, self._types):
                    view = view_for(subscriber, event, conn, policies, verdicts)
                    chosen = subscriber.frame_for(event, view)
                    if chosen is not None:
                        frames.append(chosen)
                        last_id = event.id
                verdicts.clear()
                reached = record.lsn
                if len(frames) >= SLICE_EVENTS:
                    break
        return frames, last_id, reached
