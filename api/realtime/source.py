"""Where realtime reads records: the primary's log, or a read replica's history.

The hub follows the source from its head and catch-up reads slices of its past; that is
all realtime asks of it, so `eventlog.EventLog` and `projections.consumers.replica_history.
ReplicaHistory` serve it unchanged. A source may not hold its whole past (a primary's
segments pruned with no archive to fetch them from, a replica seeded from a checkpoint):
`check_readable` turns that into one realtime error, raised before a stream starts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Protocol

from api.realtime.errors import HistoryGoneError
from eventlog import PrunedSegmentError, Record
from projections.consumers.errors import HistoryUnavailableError


class RecordSource(Protocol):
    """The records of a log, in LSN order, durable (or applied) ones only."""

    @property
    def head_lsn(self) -> int:
        """The last record that can be read."""

    def read(
        self, from_lsn: int = 1, to_lsn: int | None = None, with_chain: bool = True
    ) -> Iterator[Record]:
        """Records `from_lsn`..`to_lsn` (inclusive; default the head)."""

    def follow(self, from_lsn: int = 1) -> AsyncIterator[Record]:
        """Every record from `from_lsn` on: the past, then each as it arrives."""


def check_readable(source: RecordSource, lsn: int) -> None:
    """Raise HistoryGoneError unless record `lsn` (and so every later one: what a source
    lacks is always a prefix) can be read. Blocking: a pruned segment may be fetched."""
    try:
        next(iter(source.read(lsn, lsn, with_chain=False)), None)
    except (PrunedSegmentError, HistoryUnavailableError) as exc:
        raise HistoryGoneError(str(exc)) from exc
