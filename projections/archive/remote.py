"""What the archive writes to: a flat key space of byte streams (an S3 bucket and prefix).

`projections.blobs.s3.S3BlobStore` and `projections.blobs.local.LocalBlobStore` both satisfy
`Remote` structurally; the archive only names keys and streams bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Protocol

CHUNK_BYTES = 1 << 20


class RemoteEntry(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def size(self) -> int: ...


class Remote(Protocol):
    """put replaces a key atomically; get streams (raising if missing); delete ignores a
    missing key; list pages through keys under a prefix in key order."""

    def put(self, key: str, chunks: Iterable[bytes], size: int | None = None) -> object: ...

    def get(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]: ...

    def delete(self, key: str) -> None: ...

    def list(self, prefix: str, after: str = "", limit: int = 1000) -> Sequence[RemoteEntry]: ...


def file_chunks(path: Path, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The bytes `start..end` of a file, in chunks (the file is never read whole)."""
    with open(path, "rb") as handle:
        handle.seek(start)
        left = None if end is None else end - start
        while left is None or left > 0:
            chunk = handle.read(CHUNK_BYTES if left is None else min(CHUNK_BYTES, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk


def list_all(remote: Remote, prefix: str) -> list[str]:
    """Every key under `prefix`, in order."""
    keys: list[str] = []
    while True:
        page = remote.list(prefix, after=keys[-1] if keys else "")
        keys.extend(entry.key for entry in page)
        if len(page) < 1000:
            return keys


def exists(remote: Remote, key: str) -> bool:
    """Does the remote hold `key`?"""
    return any(entry.key == key for entry in remote.list(key))
