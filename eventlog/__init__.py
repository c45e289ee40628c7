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
    ├── CutError            a cut after a record the log does not hold
    └── SigningKeyError     a key file or key id problem

What the layers above may use is exported here, and only this: besides writing and reading
records, the files of a log directory (segment names, manifests, crash-safe writes) for
the archive to copy, and the few operations on log bytes a restore needs (checking
segments as they arrive, cutting the log, sealing the hand-over to a new key), so that no
other package ever reads or writes frames itself.
"""

from eventlog.errors import (
    AppendError,
    CorruptLogError,
    CutError,
    LogError,
    LogLockedError,
    PrunedSegmentError,
    RecordTooLargeError,
    SigningKeyError,
)
from eventlog.handover import Cut, cut_log, hand_over
from eventlog.incoming import MarkScanner, Piece, SegmentChecker
from eventlog.keys import KeyRing, SigningKey
from eventlog.options import LogOptions
from eventlog.reader import LogReader, SealedRecord, Span, records_in
from eventlog.record import Entry, Record
from eventlog.segments import (
    Manifest,
    file_sha256,
    format_segment_name,
    fsync_dir,
    list_segments,
    manifest_path,
    write_atomic,
)
from eventlog.walk import last_seal
from eventlog.writer import EventLog, Pending

__all__ = [
    "AppendError",
    "CorruptLogError",
    "Cut",
    "CutError",
    "Entry",
    "EventLog",
    "KeyRing",
    "LogError",
    "LogLockedError",
    "LogOptions",
    "LogReader",
    "Manifest",
    "MarkScanner",
    "Pending",
    "Piece",
    "PrunedSegmentError",
    "Record",
    "RecordTooLargeError",
    "SealedRecord",
    "SegmentChecker",
    "SigningKey",
    "SigningKeyError",
    "Span",
    "cut_log",
    "file_sha256",
    "format_segment_name",
    "fsync_dir",
    "hand_over",
    "last_seal",
    "list_segments",
    "manifest_path",
    "records_in",
    "write_atomic",
]
