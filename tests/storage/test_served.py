"""Downloads through a real `bkgdb serve` (granian), where whole local blobs are sent by
path: on the local backend, and on S3 with the object cache (written through, then read
through after a restart empties it). Ranges, replacement and `/metrics` stay right."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from bench.peers.seaweed import ACCESS_KEY, SECRET_KEY
from tests.http.conftest import bearer, serving
from tests.s3.conftest import S3Area

MIB = 1 << 20


def s3_env(area: S3Area) -> dict[str, str]:
    return {
        "BKG_STORAGE_BACKEND": "s3",
        "BKG_ARCHIVE": "off",
        "BKG_S3_ENDPOINT": area.server.url,
        "BKG_S3_ACCESS_KEY": ACCESS_KEY,
        "BKG_S3_SECRET_KEY": SECRET_KEY,
        "BKG_S3_BUCKET": area.bucket,
        "BKG_S3_PREFIX": area.prefix,
    }


def check_downloads(client: httpx.Client, data: bytes) -> None:
    """Whole object, a range, then a replacement seen at once."""
    whole = client.get("/storage/objects/files/a/blob.bin")
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "application/x-test"
    assert whole.headers["content-length"] == str(len(data))
    ranged = client.get("/storage/objects/files/a/blob.bin", headers={"Range": "bytes=5-99"})
    assert ranged.status_code == 206 and ranged.content == data[5:100]
    replaced = client.put("/storage/objects/files/a/blob.bin", content=b"new")
    assert replaced.status_code == 200
    assert client.get("/storage/objects/files/a/blob.bin").content == b"new"


def upload(client: httpx.Client, data: bytes) -> str:
    assert client.post("/storage/buckets", json={"name": "files"}).status_code == 201
    stored = client.put(
        "/storage/objects/files/a/blob.bin",
        content=data,
        headers={"Content-Type": "application/x-test"},
    )
    assert stored.status_code == 200, stored.text
    sha256: str = stored.json()["sha256"]
    return sha256


def test_local_objects_are_sent_by_path(tmp_path: Path) -> None:
    data = os.urandom(3 * MIB + 17)
    with (
        serving(tmp_path / "data") as server,
        httpx.Client(base_url=server.url, headers=bearer(server.admin_key), timeout=30) as client,
    ):
        sha256 = upload(client, data)
        assert client.get("/storage/objects/files/a/blob.bin").headers["etag"] == f'"{sha256}"'
        check_downloads(client, data)


@pytest.mark.usefixtures("seaweed")
def test_s3_objects_come_from_the_cache_and_again_after_a_restart(
    tmp_path: Path, s3_area: S3Area
) -> None:
    data, root = os.urandom(2 * MIB + 5), tmp_path / "data"
    with serving(root, s3_env(s3_area)) as server:
        with httpx.Client(
            base_url=server.url, headers=bearer(server.admin_key), timeout=30
        ) as client:
            upload(client, data)
            assert client.get("/storage/objects/files/a/blob.bin").content == data
            assert cache_figures(client) == {"hits": 1, "misses": 0, "blobs": 1}
        server.process.terminate()
        server.process.wait(timeout=30)
    with (
        serving(root, s3_env(s3_area), server.admin_key) as server,
        httpx.Client(base_url=server.url, headers=bearer(server.admin_key), timeout=30) as client,
    ):
        assert client.get("/storage/objects/files/a/blob.bin").content == data  # from S3
        wait_until_cached(client, blobs=1)  # kept once the read finished, after the response
        assert client.get("/storage/objects/files/a/blob.bin").content == data  # cached again
        assert cache_figures(client) == {"hits": 1, "misses": 1, "blobs": 1}
        check_downloads(client, data)


def wait_until_cached(client: httpx.Client, blobs: int) -> None:
    deadline = time.monotonic() + 10
    while cache_figures(client)["blobs"] != blobs:
        assert time.monotonic() < deadline, "the object never reached the cache"
        time.sleep(0.02)


def cache_figures(client: httpx.Client) -> dict[str, int]:
    figures = {}
    for line in client.get("/metrics").text.splitlines():
        for name in ("hits", "misses", "blobs"):
            if line.startswith(f"bkg_object_cache_{name} "):
                figures[name] = int(float(line.split()[1]))
    return figures
