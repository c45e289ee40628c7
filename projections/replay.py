"""Folding a stream of log records into a SQLite database, in LSN order, in batches.

Used by catch-up at open, by repair and rebuild, by `replay --to-lsn` and by time travel.
Each batch commits its effects and the applied LSN together.
"""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from eventlog.record import Record
from projections.errors import ProjectionError
from projections.folds import FoldRegistry, apply_event
from projections.meta import read_applied_lsn, set_applied_lsn

Progress = Callable[[int], None]
"""Called with the last LSN applied after each committed batch."""

BATCH_RECORDS = 2000
BATCH_BYTES = 16 * 1024 * 1024


def fold_records(
    conn: sqlite3.Connection,
    records: Iterable[Record],
    registry: FoldRegistry,
    *,
    progress: Progress | None = None,
    batch_records: int = BATCH_RECORDS,
) -> int:
    """Fold `records` (which must continue the database's applied LSN without a gap) and
    return the new applied LSN. A batch ends after `batch_records` records or BATCH_BYTES
    of records, whichever comes first, so big records do not make huge transactions.

    Records at or below the applied LSN are skipped, so a reader that starts a little early
    does no harm; a gap means the caller read the wrong range and is an error.
    """
    with _collector_paused():
        return _fold(conn, records, registry, progress, batch_records)


def _fold(
    conn: sqlite3.Connection,
    records: Iterable[Record],
    registry: FoldRegistry,
    progress: Progress | None,
    batch_records: int,
) -> int:
    applied = read_applied_lsn(conn)
    pending = pending_bytes = 0
    conn.execute("BEGIN")
    try:
        for record in records:
            if record.lsn <= applied:
                continue
            if record.lsn != applied + 1:
                raise ProjectionError(f"record {record.lsn} does not follow applied LSN {applied}")
            apply_event(conn, record, registry)
            applied = record.lsn
            pending, pending_bytes = pending + 1, pending_bytes + len(record.frame)
            if pending >= batch_records or pending_bytes >= BATCH_BYTES:
                _commit_batch(conn, applied, progress)
                pending = pending_bytes = 0
                conn.execute("BEGIN")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    _commit_batch(conn, applied, progress)
    return applied


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while folding: decoded records are millions of
    short-lived, acyclic containers, and collections triggered by their allocation would
    repeatedly scan the whole heap for nothing (reference counting frees them)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _commit_batch(conn: sqlite3.Connection, applied: int, progress: Progress | None) -> None:
    """Commit the effects of a batch together with its last LSN."""
    set_applied_lsn(conn, applied)
    conn.execute("COMMIT")
    if progress is not None:
        progress(applied)
