"""The event log: bkg-db's single source of truth.

An append-only sequence of records, each with a gapless LSN, framed with a CRC, chained by
SHA-256 to its predecessor, and sealed per group commit by an Ed25519 signature over the
chain head. Records live in segment files named by base LSN; sealed segments carry a
signed manifest and a sparse index. The log knows nothing of SQL: payloads are opaque.

Exceptions (all from `eventlog.errors`)::

    LogError
    ├── LogLockedError      another writer holds the directory
    ├── CorruptLogError     damage other than a torn tail (has .lsn)
    ├── AppendError         an append did not become durable
    │   └── RecordTooLargeError  over max_record_bytes (has .size, .limit); never queued
    ├── PrunedSegmentError  a read reached a pruned segment no source supplies
    └── SigningKeyError     a key file or key id problem
"""

from eventlog.errors import (
    AppendError,
    CorruptLogError,
    LogError,
    LogLockedError,
    PrunedSegmentError,
    RecordTooLargeError,
    SigningKeyError,
)
from eventlog.keys import KeyRing, SigningKey
from eventlog.options import LogOptions
from eventlog.reader import LogReader, SealedRecord
from eventlog.record import Entry, Record
from eventlog.writer import EventLog, Pending

__all__ = [
    "AppendError",
    "CorruptLogError",
    "Entry",
    "EventLog",
    "KeyRing",
    "LogError",
    "LogLockedError",
    "LogOptions",
    "LogReader",
    "Pending",
    "PrunedSegmentError",
    "Record",
    "RecordTooLargeError",
    "SealedRecord",
    "SigningKey",
    "SigningKeyError",
]
