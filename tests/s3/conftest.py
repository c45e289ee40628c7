"""Fixtures for tests against real S3: one SeaweedFS server per test session, and a bucket
with a random prefix per test, emptied afterwards."""

from __future__ import annotations

import atexit
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from api.storage.settings import StorageSettings
from bench.peers.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedS3
from projections.blobs.s3 import S3BlobStore

TEST_BUCKET = "bkg-tests"


@dataclass(frozen=True)
class S3Area:
    """Where one test may write: a bucket and a prefix no other test uses."""

    server: SeaweedS3
    bucket: str
    prefix: str


_SHARED: list[SeaweedS3] = []


@pytest.fixture
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> SeaweedS3:
    """A SeaweedFS server with its S3 gateway, started once per test process (whichever
    directory's tests ask first) and stopped when the process exits."""
    if not _SHARED:
        server = SeaweedS3(tmp_path_factory.mktemp("seaweed"))
        server.start()
        atexit.register(server.stop)
        server.make_bucket(TEST_BUCKET)
        _SHARED.append(server)
    return _SHARED[0]


@pytest.fixture
def s3_area(seaweed: SeaweedS3) -> Iterator[S3Area]:
    """A random prefix in the shared test bucket; everything under it is deleted after."""
    area = S3Area(seaweed, TEST_BUCKET, f"t-{uuid.uuid4().hex[:12]}")
    yield area
    empty_prefix(seaweed, TEST_BUCKET, area.prefix)


def empty_prefix(server: SeaweedS3, bucket: str, prefix: str) -> None:
    """Delete every object under `prefix` (a test's leftovers)."""
    client = server.client()
    for item in client.list_objects(bucket, prefix=prefix + "/", recursive=True):
        if item.object_name is not None:
            client.remove_object(bucket, item.object_name)


@pytest.fixture
def remote(s3_area: S3Area, monkeypatch: pytest.MonkeyPatch) -> S3BlobStore:
    """The archive location, configured through the environment as `serve` would see it
    (objects on the local backend; flags `serve` exports are restored afterwards)."""
    settings = {
        "BKG_S3_ENDPOINT": s3_area.server.url,
        "BKG_S3_ACCESS_KEY": ACCESS_KEY,
        "BKG_S3_SECRET_KEY": SECRET_KEY,
        "BKG_S3_BUCKET": s3_area.bucket,
        "BKG_S3_PREFIX": s3_area.prefix,
        "BKG_STORAGE_BACKEND": "",
        "BKG_ARCHIVE_INTERVAL": "",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    for name in ("BKG_RETAIN_LOCAL_SEGMENTS", "BKG_ARCHIVE", "BKG_SEGMENT_BYTES"):
        monkeypatch.delenv(name, raising=False)
    location = StorageSettings.from_env().archive_location()
    assert location is not None
    return S3BlobStore(location)


@pytest.fixture
def own_seaweed(tmp_path: Path) -> Iterator[SeaweedS3]:
    """A server of the test's own, which the test may stop and start again."""
    server = SeaweedS3(tmp_path / "seaweed")
    server.start()
    server.make_bucket(TEST_BUCKET)
    yield server
    server.stop()
