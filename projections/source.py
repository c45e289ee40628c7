"""What the projections need of the log: its durable head and an ordered reader.

`eventlog.EventLog` (the writer) and `eventlog.LogReader` (read-only, usable while a server
holds the directory) both satisfy it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from eventlog.record import Record


class LogSource(Protocol):
    """A durable, ordered sequence of records."""

    @property
    def head_lsn(self) -> int: ...

    def read(self, from_lsn: int = 1, to_lsn: int | None = None) -> Iterator[Record]: ...


def record_at(log: LogSource, lsn: int) -> Record | None:
    """The record at `lsn`, or None if the log does not hold it."""
    for record in log.read(lsn, lsn):
        if record.lsn == lsn:
            return record
    return None
