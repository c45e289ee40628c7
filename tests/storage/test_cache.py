"""The object cache in front of real SeaweedFS: written through, read through, bounded,
disposable, and never a source of bytes the remote store does not hold."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from projections.blobs.cache import CachedBlobStore
from projections.blobs.errors import LengthMismatchError
from projections.blobs.s3 import S3BlobStore
from tests.s3.conftest import S3Area
from tests.storage.conftest import s3_location
from tests.storage.test_blobstore import chunks_of, read_all

KIB = 1 << 10


@pytest.fixture
def remote(s3_area: S3Area) -> S3BlobStore:
    return S3BlobStore(s3_location(s3_area))


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def cached(remote: S3BlobStore, cache_dir: Path, max_bytes: int = 1 << 20) -> CachedBlobStore:
    return CachedBlobStore(remote, cache_dir, max_bytes)


def files_in(cache_dir: Path) -> list[Path]:
    return [p for p in cache_dir.rglob("*") if p.is_file()]


def test_an_upload_is_written_through(remote: S3BlobStore, cache_dir: Path) -> None:
    store, data = cached(remote, cache_dir), os.urandom(100 * KIB)
    store.put("k", chunks_of(data), len(data))
    local = store.local_path("k")
    assert local is not None and local.read_bytes() == data
    assert read_all(remote, "k") == data, "the remote store holds the blob too"
    assert read_all(store, "k") == data
    assert (store.stats.hits, store.stats.misses, store.stats.bytes) == (2, 0, len(data))


def test_a_whole_download_is_read_through(remote: S3BlobStore, cache_dir: Path) -> None:
    data = os.urandom(100 * KIB)
    remote.put("k", chunks_of(data), len(data))
    store = cached(remote, cache_dir)
    assert store.local_path("k") is None
    assert read_all(store, "k", 10, 20) == data[10:30]
    assert store.local_path("k") is None, "a range is not the whole blob"
    assert read_all(store, "k") == data
    local = store.local_path("k")
    assert local is not None and local.read_bytes() == data
    assert store.stats.misses == 2


def test_a_download_stopped_early_leaves_nothing(remote: S3BlobStore, cache_dir: Path) -> None:
    data = os.urandom(3 << 20)
    remote.put("k", chunks_of(data, 1 << 20), len(data))
    store = cached(remote, cache_dir, 64 << 20)
    chunks: Iterator[bytes] = store.get("k")
    next(chunks)
    chunks.close()  # type: ignore[attr-defined]
    assert store.local_path("k") is None
    assert files_in(cache_dir) == []


def test_least_recently_used_blobs_are_evicted(remote: S3BlobStore, cache_dir: Path) -> None:
    store = cached(remote, cache_dir, max_bytes=400 * KIB)
    for name in "abcd":
        store.put(name, [name.encode() * (100 * KIB)], 100 * KIB)
    assert store.local_path("a") is not None  # now the most recent
    store.put("e", [b"e" * (100 * KIB)], 100 * KIB)
    assert store.local_path("b") is None
    assert [n for n in "acde" if store.local_path(n) is None] == []
    assert store.stats.bytes == 400 * KIB and len(files_in(cache_dir)) == 4
    assert read_all(store, "b") == b"b" * (100 * KIB), "evicted blobs come from S3"


def test_a_blob_over_a_quarter_of_the_cache_is_not_kept(
    remote: S3BlobStore, cache_dir: Path
) -> None:
    store, data = cached(remote, cache_dir, max_bytes=400 * KIB), os.urandom(101 * KIB)
    store.put("big", [data], len(data))
    assert store.local_path("big") is None
    assert read_all(store, "big") == data
    assert store.local_path("big") is None and files_in(cache_dir) == []


def test_delete_removes_the_copy(remote: S3BlobStore, cache_dir: Path) -> None:
    store = cached(remote, cache_dir)
    store.put("k", [b"bytes"], 5)
    local = store.local_path("k")
    store.delete("k")
    assert local is not None and not local.exists()
    assert store.local_path("k") is None and store.stats.bytes == 0


def test_a_failed_upload_leaves_no_copy(remote: S3BlobStore, cache_dir: Path) -> None:
    store = cached(remote, cache_dir)
    with pytest.raises(LengthMismatchError):
        store.put("bad", chunks_of(b"x" * 20, 4), 50)
    assert store.local_path("bad") is None and files_in(cache_dir) == []


def test_the_cache_starts_empty(remote: S3BlobStore, cache_dir: Path) -> None:
    """A restart forgets the copies (a crash may have torn them): they are read again."""
    first = cached(remote, cache_dir)
    first.put("k", [b"bytes"], 5)
    again = cached(remote, cache_dir)
    assert again.local_path("k") is None and files_in(cache_dir) == []
    assert read_all(again, "k") == b"bytes"
    assert again.local_path("k") is not None
