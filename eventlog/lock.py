"""One writer per log directory, enforced with an advisory lock that names its holder.

`flock` locks belong to an open file description, so a second open in the same process
conflicts just like one from another process, and the kernel drops the lock when the
holder dies (even by `kill -9`), so a stale lock never needs cleaning up.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from eventlog.errors import LogLockedError

LOCK_NAME = "LOCK"


class DirectoryLock:
    """An exclusive lock on a log directory, held until `release`."""

    def __init__(self, log_dir: Path) -> None:
        self.path = log_dir / LOCK_NAME
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = read_holder(self.path)
            os.close(self._fd)
            raise LogLockedError(
                f"log directory {log_dir} is held by another writer: {holder}", holder
            ) from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, describe_self().encode(), 0)

    def release(self) -> None:
        if self._fd >= 0:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1


def describe_self() -> str:
    return json.dumps(
        {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": " ".join(sys.argv)[:200],
            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
    )


def read_holder(path: Path) -> str:
    """A human description of whoever holds the lock (best effort: it may be mid-write)."""
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "unknown process"
    if not info:
        return "unknown process"
    where = f"pid {info.get('pid')} on {info.get('host')}"
    return f"{where} ({info.get('command')}) since {info.get('since')}"
