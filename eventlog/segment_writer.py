"""The active segment on disk: append whole groups, undo a failed one, seal and rotate."""

from __future__ import annotations

import os
from pathlib import Path

from eventlog.keys import SigningKey
from eventlog.segments import (
    SEGMENT_HEADER_SIZE,
    Manifest,
    SparseIndex,
    encode_segment_header,
    file_sha256,
    format_segment_name,
    fsync_dir,
    index_path,
    manifest_path,
    write_atomic,
)


class ActiveSegment:
    """An open segment file that only ever grows by whole, synced groups."""

    def __init__(self, path: Path, base_lsn: int, prev_hash: bytes, size: int) -> None:
        self.path = path
        self.base_lsn = base_lsn
        self.prev_hash = prev_hash
        self.size = size
        self.fd = os.open(path, os.O_WRONLY)

    @classmethod
    def create(cls, log_dir: Path, base_lsn: int, prev_hash: bytes) -> ActiveSegment:
        """A new segment is durable (file and directory entry) before it takes a record."""
        path = log_dir / format_segment_name(base_lsn)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, encode_segment_header(base_lsn, prev_hash))
            os.fsync(fd)
        finally:
            os.close(fd)
        fsync_dir(log_dir)
        return cls(path, base_lsn, prev_hash, SEGMENT_HEADER_SIZE)

    def append(self, data: bytes | bytearray) -> None:
        """Write and sync one group; on any error the segment is cut back to where it was."""
        start = self.size
        try:
            view = memoryview(data)
            while view:
                written = os.pwrite(self.fd, view, self.size + (len(data) - len(view)))
                view = view[written:]
            os.fdatasync(self.fd)
        except OSError:
            self._undo(start)
            raise
        self.size = start + len(data)

    def _undo(self, size: int) -> None:
        try:
            os.ftruncate(self.fd, size)
            os.fdatasync(self.fd)
        except OSError:
            # The caller is already failing this group; recovery on the next open cuts
            # whatever is left past the last seal.
            pass

    def seal(
        self, last_lsn: int, chain_head: bytes, index: SparseIndex, key: SigningKey
    ) -> Manifest:
        """Write the sparse index and the signed manifest that close this segment for good.

        The file stays open: the caller closes it once the next segment exists.
        """
        write_atomic(index_path(self.path), index.to_bytes())
        manifest = Manifest(
            segment=self.path.name,
            first_lsn=self.base_lsn,
            last_lsn=last_lsn,
            count=last_lsn - self.base_lsn + 1,
            prev_hash=self.prev_hash.hex(),
            chain_head=chain_head.hex(),
            sha256=file_sha256(self.path),
            size=self.size,
            key_id=key.key_id,
        ).signed_by(key)
        write_atomic(manifest_path(self.path), manifest.to_json())
        return manifest

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
