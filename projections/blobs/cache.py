"""`CachedBlobStore`: a local-disk copy of recently written and read blobs of a remote store.

Every GET through a remote store (S3) costs a request to it and two copies of every byte
inside bkg-db (in from S3, out to the client); on a small machine that is CPU the client and
S3 compete for. A blob on local disk instead is handed to the HTTP server as a path, which
it sends with no Python in the way (`local_path`). So the S3 backend keeps a bounded copy of
blobs on local disk: written through while uploading (objects are often read right after
they are written) and read through on a whole-blob download that missed.

The cache can never be stale, because a blob key is never reused: a replaced object gets a
new blob and the old one is removed (from the cache too) once nothing names it. It is also
disposable: the directory is emptied on start, so a file torn by a machine crash (cache
files are not fsynced) is never served, and the remote store stays the only copy that
counts. Least recently used blobs are evicted beyond `max_bytes`; a blob larger than a
quarter of that is not cached at all, so that one large object cannot flush the rest.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path

from projections.blobs.blobstore import PAGE, BlobInfo, BlobStore, Written, read_file

CACHE_DIR = ".cache"
COPY_QUEUE = 8


@dataclass
class CacheStats:
    """What `/metrics` reports of the cache (reads served from it, reads that missed)."""

    hits: int = 0
    misses: int = 0
    bytes: int = 0
    blobs: int = 0


class CachedBlobStore:
    """`inner` with a local copy of recent blobs under `root` (emptied now), at most
    `max_bytes` of them."""

    def __init__(self, inner: BlobStore, root: Path, max_bytes: int) -> None:
        self.inner = inner
        self.root = root
        self.max_bytes = max_bytes
        self.stats = CacheStats()
        self._entries: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()
        shutil.rmtree(root, ignore_errors=True)
        (root / "tmp").mkdir(parents=True)

    def _path(self, key: str) -> Path:
        digest = sha256(key.encode()).hexdigest()
        return self.root / digest[:2] / digest

    def _cacheable(self, size: int | None) -> bool:
        return size is not None and size <= self.max_bytes // 4

    # -- the BlobStore protocol ----------------------------------------------------------

    def put(self, key: str, chunks: Iterable[bytes], size: int | None = None) -> Written:
        if not self._cacheable(size):
            return self.inner.put(key, chunks, size)
        copy = _Copy(self._tmp())
        try:
            written = self.inner.put(key, copy.tee(chunks), size)
            if copy.finish():
                self._keep(key, copy.path, written.size)
        finally:
            copy.discard()
        return written

    def get(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        if self._touch(key):
            with suppress(FileNotFoundError):  # evicted since: read from the remote store
                chunks = read_file(open(self._path(key), "rb"), offset, length)  # noqa: SIM115
                self._count(hit=True)
                return chunks
        self._count(hit=False)
        chunks = self.inner.get(key, offset, length)
        if offset == 0 and length is None:
            return self._read_through(key, chunks)
        return chunks

    def stat(self, key: str) -> BlobInfo:
        with self._lock:
            size = self._entries.get(key)
        return BlobInfo(key, size) if size is not None else self.inner.stat(key)

    def delete(self, key: str) -> None:
        self.inner.delete(key)
        self._forget(key)

    def list(self, prefix: str, after: str = "", limit: int = PAGE) -> list[BlobInfo]:
        return self.inner.list(prefix, after, limit)

    def copy(self, source: str, target: str) -> None:
        self.inner.copy(source, target)

    def direct_url(self, key: str, expires_s: int) -> str | None:
        return self.inner.direct_url(key, expires_s)

    def local_path(self, key: str) -> Path | None:
        """The cached copy of `key` (counted as a hit and made most recent), or None."""
        if not self._touch(key):
            return None
        self._count(hit=True)
        return self._path(key)

    def _touch(self, key: str) -> bool:
        """Whether `key` is cached, making it the most recently used if so."""
        with self._lock:
            if key not in self._entries:
                return False
            self._entries.move_to_end(key)
            return True

    # -- internals -----------------------------------------------------------------------

    def _tmp(self) -> Path:
        return self.root / "tmp" / uuid.uuid4().hex

    def _read_through(self, key: str, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """Pass a whole blob through, keeping a copy if it is small enough and is read to
        its end (a reader that stops early leaves nothing behind). One chunk is read ahead,
        so the copy is kept before the last chunk goes out: a reader that knows the length
        stops once it has every byte and never asks for the end of the stream."""
        copy, size = _Copy(self._tmp()), 0
        try:
            ahead = next(chunks, None)
            while ahead is not None:
                chunk, ahead = ahead, next(chunks, None)
                size += len(chunk)
                if self._cacheable(size):
                    copy.write(chunk)
                if ahead is None and copy.finish() and self._cacheable(size):
                    self._keep(key, copy.path, size)
                yield chunk
        finally:
            copy.discard()
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def _keep(self, key: str, tmp: Path, size: int) -> None:
        target = self._path(key)
        target.parent.mkdir(exist_ok=True)
        os.replace(tmp, target)
        with self._lock:
            self.stats.bytes += size - self._entries.get(key, 0)
            self._entries[key] = size
            evicted = _evict(self._entries, self.stats, self.max_bytes)
            self.stats.blobs = len(self._entries)
        for old in evicted:
            self._path(old).unlink(missing_ok=True)

    def _forget(self, key: str) -> None:
        with self._lock:
            size = self._entries.pop(key, None)
            if size is not None:
                self.stats.bytes -= size
                self.stats.blobs = len(self._entries)
        self._path(key).unlink(missing_ok=True)

    def _count(self, hit: bool) -> None:
        with self._lock:
            if hit:
                self.stats.hits += 1
            else:
                self.stats.misses += 1


def _evict(entries: OrderedDict[str, int], stats: CacheStats, max_bytes: int) -> list[str]:
    """Drop least recently used entries until the cache fits (under the cache's lock)."""
    evicted = []
    while stats.bytes > max_bytes and entries:
        old, size = entries.popitem(last=False)
        stats.bytes -= size
        evicted.append(old)
    return evicted


class _Copy:
    """A file written on a thread of its own from the chunks passing by, so that the
    transfer they belong to does not wait for the disk (at most `COPY_QUEUE` chunks wait
    for it; then the transfer does)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: queue.Queue[bytes | None] = queue.Queue(COPY_QUEUE)
        self._failed: OSError | None = None
        self._thread = threading.Thread(target=self._write, name="bkg-cache-copy", daemon=True)
        self._thread.start()

    def write(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def tee(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        for chunk in chunks:
            self.write(chunk)
            yield chunk

    def finish(self) -> bool:
        """Wait for the file to be written; False if writing it failed."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()
        return self._failed is None

    def discard(self) -> None:
        """Stop and remove the file unless `finish` kept it (moved it away)."""
        self.finish()
        self.path.unlink(missing_ok=True)

    def _write(self) -> None:
        try:
            with open(self.path, "wb") as handle:
                while (chunk := self._queue.get()) is not None:
                    handle.write(chunk)
        except OSError as exc:
            self._failed = exc
            while self._queue.get() is not None:
                pass
