"""One suite, every `BlobStore`: local disk and S3 (SeaweedFS), each under a random prefix."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest

from projections.blobs.blobstore import BlobStore
from projections.blobs.errors import BlobNotFoundError as NotFoundError
from projections.blobs.errors import LengthMismatchError
from projections.blobs.s3 import S3BlobStore


def chunks_of(data: bytes, size: int = 1 << 16) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def read_all(store: BlobStore, key: str, offset: int = 0, length: int | None = None) -> bytes:
    return b"".join(store.get(key, offset, length))


def test_put_get_round_trip_reports_size_and_digest(blob_store: BlobStore) -> None:
    data = os.urandom(300_000)
    written = blob_store.put("a/b/one.bin", chunks_of(data), len(data))
    assert (written.size, written.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert read_all(blob_store, "a/b/one.bin") == data
    assert blob_store.stat("a/b/one.bin").size == len(data)


def test_put_of_unknown_length_larger_than_a_part(blob_store: BlobStore) -> None:
    data = os.urandom((16 << 20) + 12345)
    written = blob_store.put("big.bin", chunks_of(data, 1 << 20))
    assert written.size == len(data)
    assert hashlib.sha256(read_all(blob_store, "big.bin")).digest() == hashlib.sha256(data).digest()


def test_a_local_path_holds_exactly_the_blob(blob_store: BlobStore) -> None:
    data = os.urandom(70_000)
    blob_store.put("here/x.bin", chunks_of(data), len(data))
    local = blob_store.local_path("here/x.bin")
    if isinstance(blob_store, S3BlobStore):
        assert local is None
    else:
        assert local is not None and local.read_bytes() == data
    assert blob_store.local_path("not/there") is None


def test_ranges(blob_store: BlobStore) -> None:
    data = bytes(range(256)) * 10
    blob_store.put("r", chunks_of(data, 100), len(data))
    assert read_all(blob_store, "r", 10, 5) == data[10:15]
    assert read_all(blob_store, "r", 2500) == data[2500:]
    assert read_all(blob_store, "r", 0, 0) == b""


def test_overwrite_replaces_whole_blob(blob_store: BlobStore) -> None:
    blob_store.put("k", [b"old and long"], 12)
    blob_store.put("k", [b"new"], 3)
    assert read_all(blob_store, "k") == b"new"


def test_missing_blob_is_not_found(blob_store: BlobStore) -> None:
    with pytest.raises(NotFoundError):
        blob_store.stat("nope")
    with pytest.raises(NotFoundError):
        read_all(blob_store, "nope")
    with pytest.raises(NotFoundError):
        blob_store.copy("nope", "other")
    blob_store.delete("nope")


def test_delete(blob_store: BlobStore) -> None:
    blob_store.put("gone", [b"x"], 1)
    blob_store.delete("gone")
    with pytest.raises(NotFoundError):
        blob_store.stat("gone")


def test_copy_is_independent_of_source(blob_store: BlobStore) -> None:
    blob_store.put("src", [b"payload"], 7)
    blob_store.copy("src", "dir/dst")
    blob_store.delete("src")
    assert read_all(blob_store, "dir/dst") == b"payload"


def test_list_by_prefix_in_pages(blob_store: BlobStore) -> None:
    for name in ["p/a", "p/b/c", "p/b/d", "p/e", "q/x", "pz"]:
        blob_store.put(name, [name.encode()], len(name))
    first = blob_store.list("p/", limit=2)
    assert [b.key for b in first] == ["p/a", "p/b/c"]
    rest = blob_store.list("p/", after=first[-1].key, limit=10)
    assert [b.key for b in rest] == ["p/b/d", "p/e"]
    assert [b.key for b in blob_store.list("p")] == ["p/a", "p/b/c", "p/b/d", "p/e", "pz"]
    assert blob_store.list("p/b/")[0].size == 5


@pytest.mark.parametrize("declared", [5, 50])
def test_wrong_length_stores_nothing(blob_store: BlobStore, declared: int) -> None:
    with pytest.raises(LengthMismatchError):
        blob_store.put("bad", chunks_of(b"x" * 20, 4), declared)
    with pytest.raises(NotFoundError):
        blob_store.stat("bad")
