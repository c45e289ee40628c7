"""The audit trail consumer: one JSON line per log record under data/audit/.

Lines are appended in LSN order, written out once per batch and fsynced at most every
`sync_interval_s` (always when a file is sealed or the trail stops): the trail is derived
from the log, so syncing it as often as the log would double the fsyncs of every write for
nothing. The trail is its own position: on start the newest unsealed file is scanned (a
torn last line from a crash is cut off) and the trail resumes after its last line, so no
record is written twice or skipped, and lines a machine crash lost are written again. A file
is closed and sealed (see `audit_files`) when it reaches `max_bytes`, or when a record is
`max_age_s` younger than its first line. Both rules read only the log, so replaying the log
rebuilds the same files. One writer per directory (an flock on `LOCK`).
"""

from __future__ import annotations

import asyncio
import datetime
import fcntl
import json
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from eventlog import SealedRecord
from eventlog.keys import SigningKey
from eventlog.record import Record
from eventlog.segments import fsync_dir
from projections.consumers.audit_files import (
    audit_files,
    audit_name,
    iter_lines,
    parse_audit_name,
    seal_file,
    seal_path,
)
from projections.consumers.audit_lines import audit_line
from projections.consumers.errors import AuditError

AUDIT_NAME = "audit"


@dataclass(frozen=True)
class AuditOptions:
    """When to close a file (by size, or by the age of its first line in log time), and
    how long written lines may wait for an fsync."""

    max_bytes: int = 64 * 1024 * 1024
    max_age_s: float = 24 * 3600.0
    sync_interval_s: float = 0.2


@dataclass
class _Active:
    path: Path
    handle: IO[bytes]
    first_lsn: int
    first_ts_us: int
    last_lsn: int
    lines: int


class AuditTrail:
    """A `Consumer` and its own `Position`: the files are the record of what was done."""

    name = AUDIT_NAME

    def __init__(
        self,
        directory: Path,
        signer: Callable[[], SigningKey],
        options: AuditOptions | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.options = options or AuditOptions()
        self._signer = signer
        self._lock_fd = _take_lock(self.directory)
        self._active: _Active | None = None
        self._position = 0
        self._synced_at = 0.0

    # -- Position ------------------------------------------------------------------------

    def load(self) -> int:
        """Recover the newest file and return the LSN of the last line in the trail."""
        files = audit_files(self.directory)
        if self._active is not None:
            self._active.handle.close()
            self._active = None
        self._position = 0
        for path in reversed(files):
            if seal_path(path).exists():
                self._position = int(json.loads(seal_path(path).read_bytes())["last_lsn"])
                break
            self._resume(path)
            break
        return self._position

    def save(self, lsn: int) -> None:
        """Nothing to do: `dispatch` made the lines durable before returning."""

    def _resume(self, path: Path) -> None:
        _cut_torn_tail(path)
        lines = list(iter_lines(path))
        first = parse_audit_name(path.name) or 1
        handle = open(path, "ab")  # noqa: SIM115 - kept open while the file is active
        if not lines:
            self._active = _Active(path, handle, first, 0, first - 1, 0)
            self._position = first - 1
            return
        first_ts = _ts_us(str(lines[0]["time"]))
        last = int(lines[-1]["lsn"])
        self._active = _Active(path, handle, first, first_ts, last, len(lines))
        self._position = last

    # -- Consumer ------------------------------------------------------------------------

    async def start(self) -> None:
        """Nothing to connect to."""

    async def dispatch(self, batch: Sequence[SealedRecord]) -> Awaitable[object]:
        """Append one line per record and fsync once; done when it returns."""
        for item in batch:
            record = item.record
            if record.lsn <= self._position:
                continue
            active = self._file_for(record)
            active.handle.write(json.dumps(audit_line(record), sort_keys=True).encode() + b"\n")
            active.last_lsn, active.lines = record.lsn, active.lines + 1
            self._position = record.lsn
        if self._active is not None:
            self._active.handle.flush()
            if time.monotonic() - self._synced_at >= self.options.sync_interval_s:
                os.fsync(self._active.handle.fileno())
                self._synced_at = time.monotonic()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    async def stop(self) -> None:
        """Flush the active file; it stays open (and unsealed) for the next `dispatch`, and
        `close` releases it. A restart after a failure thus continues the same file."""
        if self._active is not None and not self._active.handle.closed:
            self._active.handle.flush()
            os.fsync(self._active.handle.fileno())

    def close(self) -> None:
        """Close the file and release the directory."""
        if self._active is not None:
            self._active.handle.close()
            self._active = None
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def rotate(self) -> None:
        """Seal the active file now (e.g. before an export or a shutdown audit)."""
        if self._active is not None and self._active.lines:
            self._seal_active()

    # -- files ---------------------------------------------------------------------------

    def _file_for(self, record: Record) -> _Active:
        active = self._active
        if active is not None and active.lines and self._due(active, record):
            self._seal_active()
            active = None
        if active is None or active.handle.closed:
            active = self._open_new(record)
        if not active.lines:
            active.first_ts_us = record.ts_us
        return active

    def _due(self, active: _Active, record: Record) -> bool:
        too_big = active.handle.tell() >= self.options.max_bytes
        too_old = record.ts_us - active.first_ts_us >= self.options.max_age_s * 1e6
        return too_big or too_old

    def _seal_active(self) -> None:
        active = self._active
        if active is None:
            return
        active.handle.flush()
        os.fsync(active.handle.fileno())
        active.handle.close()
        seal_file(active.path, self._signer(), active.first_lsn, active.last_lsn, active.lines)
        self._active = None

    def _open_new(self, record: Record) -> _Active:
        path = self.directory / audit_name(record.lsn)
        handle = open(path, "ab")  # noqa: SIM115 - kept open while the file is active
        fsync_dir(self.directory)
        self._active = _Active(path, handle, record.lsn, record.ts_us, record.lsn - 1, 0)
        return self._active


def _cut_torn_tail(path: Path) -> None:
    """Drop a last line that a crash left without its newline."""
    data = path.read_bytes()
    keep = data.rfind(b"\n") + 1
    if keep != len(data):
        with open(path, "r+b") as handle:
            handle.truncate(keep)
            os.fsync(handle.fileno())


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _ts_us(iso: str) -> int:
    """Microseconds since the epoch of an ISO time, exactly (no float rounding)."""
    moment = datetime.datetime.fromisoformat(iso)
    return (moment - _EPOCH) // datetime.timedelta(microseconds=1)


def _take_lock(directory: Path) -> int:
    fd = os.open(directory / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise AuditError(f"the audit trail in {directory} is written by another process") from None
    return fd
