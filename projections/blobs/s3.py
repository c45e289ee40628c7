"""`S3BlobStore`: blobs in a bucket of any S3-compatible service, through the minio client.

Keys live under an optional prefix. An upload of known size (up to S3's 5 GiB limit for one
request) streams as a single PUT to a presigned URL: the bytes go on to S3 as they arrive,
are hashed once (by `HashingChunks`, not again by minio to sign them) and are never
buffered, and S3 stores nothing unless all of them arrive. An upload of unknown size goes
through minio's `put_object` as a multipart upload, which S3 publishes atomically when it
completes (and discards if it does not). Downloads stream with ranged GETs. Errors of the
service become `BlobUnavailableError`; a missing key is `BlobNotFoundError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, BinaryIO, cast

import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import S3Error
from urllib3.exceptions import HTTPError

from projections.blobs.blobstore import CHUNK_BYTES, PAGE, BlobInfo, HashingChunks, Written
from projections.blobs.errors import (
    BlobError,
    BlobNotFoundError,
    BlobUnavailableError,
    LengthMismatchError,
)

PART_BYTES = 16 << 20
SINGLE_PUT_MAX = 5 << 30
"""S3's limit for one PUT; larger uploads must be multipart."""
PRESIGN_TTL = timedelta(minutes=15)
MISSING = ("NoSuchKey", "NoSuchObject", "NotFound", "NoSuchBucket")


@dataclass(frozen=True)
class S3Location:
    """Where to reach S3 and which bucket/prefix to use (the `--s3-*` settings)."""

    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    prefix: str = ""
    region: str | None = None

    def client(self, http: urllib3.PoolManager | None = None) -> Minio:
        """A minio client (over `http`, or a pool of its own); the endpoint may be
        `host:port` or an http(s) URL."""
        secure = self.endpoint.startswith("https://")
        host = self.endpoint.removeprefix("https://").removeprefix("http://").rstrip("/")
        return Minio(
            host,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=secure,
            region=self.region,
            http_client=http or connection_pool(),
        )


def connection_pool() -> urllib3.PoolManager:
    """Connections to S3 with few, quick retries: callers (the archive, an HTTP client)
    retry on their own."""
    return urllib3.PoolManager(
        timeout=urllib3.Timeout(connect=5.0, read=60.0),
        maxsize=16,
        retries=urllib3.Retry(total=2, backoff_factor=0.1, status_forcelist=(500, 502, 503, 504)),
    )


class _ChunkReader:
    """A file-like `read(n)` over an iterator of chunks, as minio's uploader wants it."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = bytearray()

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        cut = len(self._buffer) if size < 0 else min(size, len(self._buffer))
        taken = bytes(self._buffer[:cut])
        del self._buffer[:cut]
        return taken


class S3BlobStore:
    """Blobs as objects under `location.prefix` in `location.bucket`."""

    def __init__(self, location: S3Location) -> None:
        self.location = location
        self._http = connection_pool()
        self.client = location.client(self._http)
        self._prefix = location.prefix.strip("/") + "/" if location.prefix.strip("/") else ""

    def _name(self, key: str) -> str:
        return self._prefix + key

    def put(self, key: str, chunks: Iterable[bytes], size: int | None = None) -> Written:
        hashing = HashingChunks(chunks, size)
        if size is not None and size <= SINGLE_PUT_MAX:
            self._put_streamed(key, hashing, size)
            return hashing.written()
        reader = _ChunkReader(hashing)
        with _translated(key):
            self.client.put_object(
                self.location.bucket,
                self._name(key),
                cast(BinaryIO, reader),
                length=-1,
                part_size=PART_BYTES,
            )
        try:
            reader.read()  # a body longer than `size`: minio stopped reading at `size`
        except LengthMismatchError:
            self.delete(key)
            raise
        return hashing.written()

    def _put_streamed(self, key: str, body: Iterable[bytes], size: int) -> None:
        """One PUT of exactly `size` bytes, streamed. Never retried: the body is consumed
        as it is sent. A body that runs short or long raises from `body`, which abandons
        the request, so S3 keeps nothing (nor the blob it would have replaced, untouched)."""
        with _translated(key):
            url = self.client.presigned_put_object(
                self.location.bucket, self._name(key), expires=PRESIGN_TTL
            )
            response = self._http.request(
                "PUT",
                url,
                body=body if size else b"",
                headers={"Content-Length": str(size)},
                retries=False,
            )
        if response.status != 200:
            raise _refusal(key, response.status, response.data)

    def get(self, key: str, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        if length == 0:
            self.stat(key)
            return iter(())
        with _translated(key):
            response = self.client.get_object(
                self.location.bucket, self._name(key), offset=offset, length=length or 0
            )
        return _stream(response)

    def stat(self, key: str) -> BlobInfo:
        with _translated(key):
            found = self.client.stat_object(self.location.bucket, self._name(key))
        return BlobInfo(key, int(found.size or 0))

    def delete(self, key: str) -> None:
        with _translated(key):
            self.client.remove_object(self.location.bucket, self._name(key))

    def list(self, prefix: str, after: str = "", limit: int = PAGE) -> list[BlobInfo]:
        found: list[BlobInfo] = []
        with _translated(prefix):
            listing = self.client.list_objects(
                self.location.bucket,
                prefix=self._name(prefix),
                recursive=True,
                start_after=self._name(after) if after else None,
            )
            for item in listing:
                if item.object_name is None or item.is_dir:
                    continue
                found.append(BlobInfo(item.object_name[len(self._prefix) :], int(item.size or 0)))
                if len(found) >= limit:
                    break
        return found

    def copy(self, source: str, target: str) -> None:
        with _translated(source):
            self.client.copy_object(
                self.location.bucket,
                self._name(target),
                CopySource(self.location.bucket, self._name(source)),
            )

    def direct_url(self, key: str, expires_s: int) -> str | None:
        with _translated(key):
            url: str = self.client.presigned_get_object(
                self.location.bucket, self._name(key), expires=timedelta(seconds=expires_s)
            )
        return url

    def local_path(self, key: str) -> Path | None:
        return None


def _stream(response: Any) -> Iterator[bytes]:
    try:
        yield from response.stream(CHUNK_BYTES)
    finally:
        response.close()
        response.release_conn()


def _refusal(key: str, status: int, body: bytes) -> BlobError:
    """The error of an S3 answer to a request made without minio (its XML `Code`)."""
    code = re.search(rb"<Code>([^<]{1,64})</Code>", body)
    name = code.group(1).decode() if code else f"HTTP {status}"
    if name in MISSING:
        return BlobNotFoundError(f"no blob {key}")
    return BlobUnavailableError(f"S3 refused {key}: {name}")


@contextmanager
def _translated(key: str) -> Iterator[None]:
    """Turn minio and connection errors into blob errors."""
    try:
        yield
    except S3Error as exc:
        if exc.code in MISSING:
            raise BlobNotFoundError(f"no blob {key}") from exc
        raise BlobUnavailableError(f"S3 refused {key}: {exc.code}") from exc
    except (HTTPError, OSError) as exc:
        raise BlobUnavailableError(f"S3 unreachable: {exc}") from exc
