"""Exceptions raised by the event log.

    LogError
    ├── LogLockedError        another writer holds the log directory
    ├── CorruptLogError       damage that is not a torn tail; carries the first bad LSN
    ├── AppendError           an append could not be made durable (I/O error, disk full, closed)
    │   └── RecordTooLargeError   the record is over `max_record_bytes`; nothing was queued
    ├── PrunedSegmentError    a pruned segment was read and no source can supply it
    ├── CutError              a log cannot be cut after a record it does not hold
    └── KeyError_             signing-key problems (bad key file, unknown key id)

Callers above `eventlog` translate these into their own errors at their boundary.
"""

from __future__ import annotations


class LogError(Exception):
    """Base class of every error the event log raises."""


class LogLockedError(LogError):
    """The log directory is held by another writer (named in the message)."""

    def __init__(self, message: str, holder: str) -> None:
        super().__init__(message)
        self.holder = holder


class CorruptLogError(LogError):
    """The log is damaged somewhere other than a torn tail.

    `lsn` is the first LSN that cannot be trusted (the record at that position is missing,
    altered or out of order); `path` and `offset` locate the damage on disk.
    """

    def __init__(self, message: str, lsn: int, path: str = "", offset: int = -1) -> None:
        super().__init__(message)
        self.lsn = lsn
        self.path = path
        self.offset = offset


class AppendError(LogError):
    """An append failed and is not durable; nothing of it is in the log."""


class RecordTooLargeError(AppendError):
    """The record is larger than the log accepts (`limit` bytes); it was never queued, so
    retrying the same record can never succeed."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"record of {size} bytes exceeds the limit of {limit}")
        self.size = size
        self.limit = limit


class SigningKeyError(LogError):
    """A signing key could not be loaded, or a signature names an unknown key."""


class PrunedSegmentError(LogError):
    """A read reached a segment pruned from local disk that no segment source supplies.

    `base_lsn` is the first LSN of that segment.
    """

    def __init__(self, message: str, base_lsn: int) -> None:
        super().__init__(message)
        self.base_lsn = base_lsn


class CutError(LogError):
    """A log cannot be cut after the record asked for: it does not hold it."""
