"""Fixtures of the storage tests: every blob store implementation, each under a random
prefix that is removed afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.peers.seaweed import ACCESS_KEY, SECRET_KEY
from projections.blobs.blobstore import BlobStore
from projections.blobs.cache import CachedBlobStore
from projections.blobs.local import LocalBlobStore
from projections.blobs.s3 import S3BlobStore, S3Location
from tests.s3.conftest import S3Area, s3_area, seaweed

__all__ = ["s3_area", "seaweed"]
BACKENDS = ("local", "s3", "s3-cached")


def s3_location(area: S3Area) -> S3Location:
    return S3Location(area.server.url, ACCESS_KEY, SECRET_KEY, area.bucket, area.prefix)


@pytest.fixture(params=BACKENDS)
def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    """A blob store of each kind: local disk under a random folder, or SeaweedFS under a
    random prefix (both emptied after the test), alone or behind a local cache."""
    if request.param == "local":
        yield LocalBlobStore(tmp_path / f"objects-{uuid.uuid4().hex[:8]}")
        return
    area: S3Area = request.getfixturevalue("s3_area")
    remote = S3BlobStore(s3_location(area))
    yield remote if request.param == "s3" else CachedBlobStore(remote, tmp_path / "cache", 1 << 26)
