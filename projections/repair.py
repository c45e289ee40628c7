"""Opening the projection store in a state that matches the log.

A store that was closed cleanly resumes from its applied LSN. A store that was not (a crash
with synchronous=OFF may have left it torn or stale), one whose file no longer has the
SHA-256 its clean-shutdown marker recorded (damaged while stopped), one that claims more
than the log holds, or one the operator asked to rebuild is discarded and rebuilt from the
newest valid checkpoint (unless `from_scratch`) plus the log tail, with its progress logged.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from eventlog.keys import KeyRing
from eventlog.segments import file_sha256
from projections.checkpoints import CheckpointStore
from projections.folds import FoldRegistry
from projections.fsync import publish_file
from projections.replay import Progress, fold_records
from projections.source import LogSource, record_at
from projections.store import (
    DIGEST_PREFIX,
    STORE_FILE,
    ProjectionStore,
    StoreLock,
    discard_store_files,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class OpenReport:
    """How a store was brought up to date: from where, through which LSN, how fast."""

    rebuilt: bool
    reason: str
    checkpoint_lsn: int | None
    from_lsn: int
    to_lsn: int
    records: int
    seconds: float


def open_store(
    directory: Path,
    log: LogSource,
    checkpoints: CheckpointStore,
    ring: KeyRing,
    registry: FoldRegistry,
    *,
    rebuild: bool = False,
    from_scratch: bool = False,
    progress: Progress | None = None,
) -> tuple[ProjectionStore, OpenReport]:
    """Lock, open (repairing or rebuilding if needed) and catch the store up with the log."""
    started = time.monotonic()
    lock = StoreLock(directory)
    try:
        reason = "requested" if rebuild else _dirty_reason(lock, log)
        checkpoint_lsn = _reset(lock, log, checkpoints, ring, from_scratch) if reason else None
        store, problem = _open_checked(lock, log)
        if store is None:
            reason = problem
            checkpoint_lsn = _reset(lock, log, checkpoints, ring, from_scratch)
            store = ProjectionStore(lock)
    except BaseException:
        lock.release()
        raise
    from_lsn = store.applied_lsn + 1
    if reason not in ("", "requested", "no store yet"):
        logger.warning(
            "rebuilding projection store (%s): LSNs %d..%d", reason, from_lsn, log.head_lsn
        )
        progress = progress or _logged_progress(log.head_lsn)
    try:
        store.applied_lsn = fold_records(
            store.write_conn, log.read(from_lsn), registry, progress=progress
        )
    except BaseException:
        store.abandon()
        raise
    report = OpenReport(
        rebuilt=bool(reason),
        reason=reason,
        checkpoint_lsn=checkpoint_lsn,
        from_lsn=from_lsn,
        to_lsn=store.applied_lsn,
        records=store.applied_lsn - from_lsn + 1,
        seconds=time.monotonic() - started,
    )
    return store, report


def _open_checked(lock: StoreLock, log: LogSource) -> tuple[ProjectionStore | None, str]:
    """Open the store, or say why it cannot be used as it is (unreadable, ahead of the log)."""
    try:
        store = ProjectionStore(lock)
    except sqlite3.DatabaseError as exc:
        return None, f"store is unreadable ({exc})"
    if store.applied_lsn > log.head_lsn:
        store.close_connections()
        return None, f"store at LSN {store.applied_lsn} is ahead of the log"
    return store, ""


def _dirty_reason(lock: StoreLock, log: LogSource) -> str:
    """Why the store cannot be used as it is ("" if it was closed cleanly and its marker's
    claim, the chain hash at its applied LSN, agrees with the log)."""
    if not (lock.directory / STORE_FILE).exists():
        lock.take_clean_marker()
        return "no store yet"
    claim = lock.take_clean_marker()
    if claim is None:
        return "unclean shutdown"
    parts = claim.decode(errors="replace").split()
    if parts and parts[-1].startswith(DIGEST_PREFIX):
        digest = parts.pop().removeprefix(DIGEST_PREFIX)
        if file_sha256(lock.directory / STORE_FILE) != digest:
            return "store file changed since its clean shutdown (damaged on disk)"
    if not parts:
        return ""
    try:
        lsn_text, chain_hex = parts
        lsn = int(lsn_text)
    except ValueError:
        return "unreadable clean-shutdown marker"
    record = record_at(log, lsn) if lsn <= log.head_lsn else None
    if record is None or record.chain_hash.hex() != chain_hex:
        return f"store does not match the log at LSN {lsn}"
    return ""


def _logged_progress(head_lsn: int, every_s: float = 2.0) -> Progress:
    """A progress callback that logs how far a rebuild has come, at most every `every_s`."""
    last = time.monotonic()

    def report(lsn: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= every_s or lsn >= head_lsn:
            last = now
            share = 100 * lsn // max(head_lsn, 1)
            logger.warning("rebuilding projection store: LSN %d of %d (%d%%)", lsn, head_lsn, share)

    return report


def _reset(
    lock: StoreLock,
    log: LogSource,
    checkpoints: CheckpointStore,
    ring: KeyRing,
    from_scratch: bool,
) -> int | None:
    """Discard the store files and install the newest valid checkpoint; return its LSN."""
    discard_store_files(lock.directory)
    if from_scratch:
        return None
    checkpoint = checkpoints.newest_valid(log, ring, max_lsn=log.head_lsn)
    if checkpoint is None:
        return None
    tmp = lock.directory / f".{STORE_FILE}.tmp"
    shutil.copyfile(checkpoint.path, tmp)
    publish_file(tmp, lock.directory / STORE_FILE)
    return checkpoint.lsn
