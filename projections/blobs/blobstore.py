"""The one interface between the users of blobs and where bytes live: `BlobStore`.

A blob store maps keys (`/`-separated, validated by its user: `api.storage.names` for
objects, `projections.archive.layout` for the archive) to byte strings. Every
implementation streams: bytes go in as an iterator of chunks and come out as one, so no
blob is ever held whole in memory. Implementations: `LocalBlobStore` (files under one
directory; data/objects/ for objects, the default) and `S3BlobStore` (any S3-compatible
service via minio). The same test suite (tests/storage/test_blobstore.py) runs against both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from projections.blobs.errors import LengthMismatchError

CHUNK_BYTES = 1 << 20
PAGE = 1000
_HASHERS = ThreadPoolExecutor(2, thread_name_prefix="bkg-hash")


@dataclass(frozen=True)
class BlobInfo:
    """A stored blob: its key and size in bytes."""

    key: str
    size: int


@dataclass(frozen=True)
class Written:
    """What a `put` stored: the size and SHA-256 of the bytes, computed while streaming."""

    size: int
    sha256: str


class BlobStore(Protocol):
    """Where object bytes live. Keys are opaque to the store."""

    def put(self, key: str, chunks: Iterable[bytes], size: int | None = None) -> Written:
        """Store the chunks under `key`, replacing any blob there atomically: a reader sees
        the old bytes or the new, never a mix, and a failed put leaves the old blob. `size`,
        when known, lets the store plan (S3: one request or a multipart upload); a stream
        that does not match it raises `LengthMismatchError` and stores nothing."""
        ...

    def get(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The bytes of `key` from `offset`, `length` of them (None: to the end), in chunks.
        Raises `BlobNotFoundError` (before the first chunk) if there is no such blob."""
        ...

    def stat(self, key: str) -> BlobInfo:
        """Size of `key`; `BlobNotFoundError` if there is no such blob."""
        ...

    def delete(self, key: str) -> None:
        """Remove `key`; deleting a missing blob is not an error (deletes are retried)."""
        ...

    def list(self, prefix: str, after: str = "", limit: int = PAGE) -> list[BlobInfo]:
        """Up to `limit` blobs whose keys start with `prefix` and sort after `after`, in key
        order (a page; pass the last key as `after` for the next)."""
        ...

    def copy(self, source: str, target: str) -> None:
        """Copy `source` to `target` inside the store, replacing `target` atomically;
        `BlobNotFoundError` if `source` is missing."""
        ...

    def direct_url(self, key: str, expires_s: int) -> str | None:
        """A URL a plain HTTP client may GET `key` from without bkg-db, valid `expires_s`
        seconds, or None when the store has no such thing (local disk)."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A local file holding exactly the bytes of `key`, which the HTTP server may send
        as it is (no Python copying them), or None when the blob is not on this machine."""
        ...


class HashingChunks:
    """Passes chunks through while counting and hashing them (and checking a declared
    size), so that every store reports the same `Written` without a second read.

    A chunk is hashed on a worker thread while the store writes it (hashlib lets go of the
    GIL for large inputs, as sockets and files do), each hash finishing before the next
    begins, so the digest is the same as hashing in line, but not on the write's time."""

    def __init__(self, chunks: Iterable[bytes], size: int | None) -> None:
        self._chunks = iter(chunks)
        self._declared = size
        self._digest = hashlib.sha256()
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        hashing: Future[None] | None = None
        try:
            for chunk in self._chunks:
                if not chunk:
                    continue
                self.size += len(chunk)
                if self._declared is not None and self.size > self._declared:
                    raise LengthMismatchError(f"body is longer than the declared {self._declared}")
                if hashing is not None:
                    hashing.result()
                hashing = _HASHERS.submit(self._digest.update, chunk)
                yield chunk
        finally:
            if hashing is not None:
                hashing.result()
        if self._declared is not None and self.size != self._declared:
            raise LengthMismatchError(f"body has {self.size} bytes, {self._declared} were declared")

    def written(self) -> Written:
        return Written(self.size, self._digest.hexdigest())


def list_all(store: BlobStore, prefix: str) -> list[str]:
    """Every key under `prefix`, in order (all pages of `list`)."""
    keys: list[str] = []
    while True:
        page = store.list(prefix, after=keys[-1] if keys else "")
        keys.extend(entry.key for entry in page)
        if len(page) < PAGE:
            return keys


def exists(store: BlobStore, key: str) -> bool:
    """Does the store hold `key`? (a listing, so it costs the same on every store)"""
    return any(entry.key == key for entry in store.list(key))


def read_file(handle: BinaryIO, offset: int, length: int | None) -> Iterator[bytes]:
    """Chunks of an open file from `offset`, at most `length` bytes; closes the file."""
    try:
        handle.seek(offset)
        left = length
        while left is None or left > 0:
            chunk = handle.read(CHUNK_BYTES if left is None else min(CHUNK_BYTES, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk
    finally:
        handle.close()


def file_chunks(path: Path, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The bytes `start..end` of a file, in chunks, for a `put` (the file is opened when
    the first chunk is asked for, and never read whole)."""
    yield from read_file(open(path, "rb"), start, None if end is None else end - start)  # noqa: SIM115
