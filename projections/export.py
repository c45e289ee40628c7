"""`replay --to-lsn N --out FILE`: a past state of the projection as a standalone SQLite file.

Reads only the log and the checkpoints, so it works while a server holds the data directory.
The file is built beside its destination and renamed into place once complete.
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from eventlog.keys import KeyRing
from projections.checkpoints import CheckpointStore
from projections.errors import LsnOutOfRangeError
from projections.folds import FoldRegistry
from projections.fsync import publish_file
from projections.meta import configure, init_schema
from projections.replay import Progress, fold_records
from projections.source import LogSource


@dataclass(frozen=True)
class ReplayReport:
    """Where a replay started (checkpoint or empty) and how much of the log it applied."""

    lsn: int
    checkpoint_lsn: int | None
    records: int
    seconds: float
    path: str


def replay_to_file(
    log: LogSource,
    checkpoints: CheckpointStore,
    ring: KeyRing,
    registry: FoldRegistry,
    lsn: int,
    out: Path,
    *,
    from_scratch: bool = False,
    progress: Progress | None = None,
) -> ReplayReport:
    """Write the state after record `lsn` to `out` (replacing it)."""
    head = log.head_lsn
    if lsn < 0 or lsn > head:
        raise LsnOutOfRangeError(f"LSN {lsn} is outside 0..{head}", lsn, head)
    started = time.monotonic()
    checkpoint = None if from_scratch else checkpoints.newest_valid(log, ring, max_lsn=lsn)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.unlink(missing_ok=True)
    try:
        if checkpoint is not None:
            shutil.copyfile(checkpoint.path, tmp)
        conn = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            conn.execute("PRAGMA synchronous=OFF")
            configure(conn)
            init_schema(conn)
            base = checkpoint.lsn if checkpoint else 0
            fold_records(conn, log.read(base + 1, lsn), registry, progress=progress)
        finally:
            conn.close()
        publish_file(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return ReplayReport(
        lsn=lsn,
        checkpoint_lsn=checkpoint.lsn if checkpoint else None,
        records=lsn - (checkpoint.lsn if checkpoint else 0),
        seconds=time.monotonic() - started,
        path=str(out),
    )
