"""Peer (a): ``write`` + ``fsync`` per record to one plain file."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.load import Managed, Write

_LENGTH = struct.Struct(">I")


class FsyncFile(Managed):
    """Appends length-prefixed records to ``records.bin``; each write is fsynced alone.

    Threads share the file descriptor (``O_APPEND`` keeps each record contiguous) and each
    pays for its own ``fsync``: durability with no batching, the naive baseline.
    """

    name = "fsync_file"

    def __init__(self, directory: Path) -> None:
        self.path = directory / "records.bin"
        self._fd = -1

    def open(self) -> None:
        """Open (or create) the file in append mode, shared by every thread."""
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)

    def close(self) -> None:
        """Close the shared descriptor."""
        os.close(self._fd)

    @contextmanager
    def session(self) -> Iterator[Write]:
        """No per-thread state: every thread writes through the shared descriptor."""
        yield self._write

    def _write(self, payload: bytes) -> None:
        os.write(self._fd, _LENGTH.pack(len(payload)) + payload)
        os.fsync(self._fd)

    def count(self) -> int:
        """Records in the file so far (for tests): walks the length prefixes."""
        data = self.path.read_bytes()
        offset = records = 0
        while offset + _LENGTH.size <= len(data):
            (length,) = _LENGTH.unpack_from(data, offset)
            offset += _LENGTH.size + length
            records += 1
        return records
