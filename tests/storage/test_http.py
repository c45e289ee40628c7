"""`/storage/...` through the Litestar app, with objects on local disk and on SeaweedFS."""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.peers.seaweed import ACCESS_KEY, SECRET_KEY
from tests.http.conftest import Api, bearer, make_data_dir, open_api
from tests.s3.conftest import S3Area

OWN_FOLDER = {
    "name": "own folder",
    "table": "storage.objects",
    "actions": ["select", "insert", "update", "delete"],
    "using": "starts_with(name, auth.uid() || '/')",
    "check": "starts_with(name, auth.uid() || '/')",
}


@pytest.fixture(params=["local", "s3"])
def api(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Api]:
    """A served directory whose objects live on local disk or in SeaweedFS."""
    monkeypatch.setenv("BKG_STORAGE_MAX_BYTES", str(1 << 20))
    monkeypatch.setenv("BKG_ARCHIVE", "off")
    if request.param == "s3":
        area: S3Area = request.getfixturevalue("s3_area")
        monkeypatch.setenv("BKG_STORAGE_BACKEND", "s3")
        monkeypatch.setenv("BKG_S3_ENDPOINT", area.server.url)
        monkeypatch.setenv("BKG_S3_ACCESS_KEY", ACCESS_KEY)
        monkeypatch.setenv("BKG_S3_SECRET_KEY", SECRET_KEY)
        monkeypatch.setenv("BKG_S3_BUCKET", area.bucket)
        monkeypatch.setenv("BKG_S3_PREFIX", area.prefix)
    yield from open_api(make_data_dir(tmp_path))


@pytest.fixture
def shop(api: Api) -> tuple[Api, str]:
    """Namespaces `shop` and `other`, a `shop` key, its private bucket `files`."""
    api.ok("CREATE SCHEMA shop")
    api.ok("CREATE SCHEMA other")
    key = api.create_key("namespace", "shop")["key"]
    created = api.client.post("/storage/buckets", json={"name": "files"}, headers=bearer(key))
    assert created.status_code == 201, created.text
    return api, key


def put(api: Api, token: str, path: str, body: bytes, **headers: str) -> Any:
    return api.client.put(
        f"/storage/objects/{path}", content=body, headers={**bearer(token), **headers}
    )


def test_objects_round_trip(shop: tuple[Api, str]) -> None:
    api, key = shop
    stored = put(api, key, "files/docs/a.txt", b"0123456789", **{"content-type": "text/csv"})
    assert stored.status_code == 200, stored.text
    assert stored.json()["size"] == 10 and stored.json()["lsn"] == api.head
    record = api.last_record()
    assert (record.kind, record.payload["type"], record.payload["name"]) == (
        "storage", "object.created", "docs/a.txt",
    )  # fmt: skip
    got = api.client.get("/storage/objects/files/docs/a.txt", headers=bearer(key))
    assert got.content == b"0123456789" and got.headers["content-type"].startswith("text/csv")
    ranged = api.client.get(
        "/storage/objects/files/docs/a.txt", headers={**bearer(key), "Range": "bytes=-3"}
    )
    assert (ranged.status_code, ranged.content) == (206, b"789")
    assert ranged.headers["content-range"] == "bytes 7-9/10"
    outside = api.client.get(
        "/storage/objects/files/docs/a.txt", headers={**bearer(key), "Range": "bytes=10-"}
    )
    assert outside.status_code == 416
    copied = api.client.post(
        "/storage/copy",
        json={
            "from": {"bucket": "files", "name": "docs/a.txt"},
            "to": {"bucket": "files", "name": "b"},
        },
        headers=bearer(key),
    )
    assert copied.status_code == 200, copied.text
    listed = api.client.get("/storage/objects/files?prefix=docs/", headers=bearer(key)).json()
    assert [o["name"] for o in listed["objects"]] == ["docs/a.txt"]
    paged = api.client.get("/storage/objects/files?limit=1", headers=bearer(key)).json()
    assert [o["name"] for o in paged["objects"]] == ["b"] and paged["next_cursor"] == "b"
    gone = api.client.delete("/storage/objects/files/docs/a.txt", headers=bearer(key))
    assert gone.status_code == 200
    assert (
        api.client.get("/storage/objects/files/docs/a.txt", headers=bearer(key)).status_code == 404
    )


def test_a_client_holding_the_version_gets_304(shop: tuple[Api, str]) -> None:
    api, key = shop
    assert put(api, key, "files/c.txt", b"cached bytes").status_code == 200
    etag = api.client.get("/storage/objects/files/c.txt", headers=bearer(key)).headers["etag"]
    for held in (etag, f'"other", W/{etag}', "*"):
        again = api.client.get(
            "/storage/objects/files/c.txt", headers={**bearer(key), "If-None-Match": held}
        )
        assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", etag)
    put(api, key, "files/c.txt", b"new bytes")
    changed = api.client.get(
        "/storage/objects/files/c.txt", headers={**bearer(key), "If-None-Match": etag}
    )
    assert (changed.status_code, changed.content) == (200, b"new bytes")
    other = api.client.get("/storage/objects/files/c.txt", headers={"If-None-Match": etag})
    assert other.status_code == 404, "a conditional GET is checked like any other"


def test_signed_urls_with_a_plain_client(shop: tuple[Api, str]) -> None:
    api, key = shop
    put(api, key, "files/report.pdf", b"%PDF-1.7")
    signed = api.client.post(
        "/storage/sign/files/report.pdf",
        json={"expires_in": 1, "method": "GET"},
        headers=bearer(key),
    ).json()
    assert fetch(api, signed["url"]) == (200, b"%PDF-1.7")
    upload = api.client.post(
        "/storage/sign/files/in/new.bin",
        json={"expires_in": 60, "method": "PUT"},
        headers=bearer(key),
    ).json()["url"]
    assert api.client.put(upload, content=b"via signed url").status_code == 200
    assert api.client.get("/storage/objects/files/in/new.bin", headers=bearer(key)).content == (
        b"via signed url"
    )
    tampered = upload.replace("/in/new.bin", "/in/other.bin")
    assert api.client.put(tampered, content=b"x").status_code == 403
    time.sleep(2.1)
    assert fetch(api, signed["url"])[0] == 403


def fetch(api: Api, url: str) -> tuple[int, bytes]:
    """GET a signed URL without a token: through the app, or straight from S3."""
    if url.startswith("/"):
        response = api.client.get(url)
        return response.status_code, response.content
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def test_object_policies_across_users_and_namespaces(shop: tuple[Api, str]) -> None:
    api, _ = shop
    api.add_policy(OWN_FOLDER)
    alice, bob = api.user_token("alice"), api.user_token("bob")
    other_key = api.create_key("namespace", "other")["key"]
    assert put(api, alice, "files/alice/diary.txt", b"dear diary").status_code == 200
    assert put(api, alice, "files/bob/forged.txt", b"x").status_code == 403
    assert (
        api.client.get("/storage/objects/files/alice/diary.txt", headers=bearer(bob)).status_code
        == 403
    )
    assert (
        api.client.get(
            "/storage/objects/files/alice/diary.txt", headers=bearer(other_key)
        ).status_code
        == 404
    )
    assert put(api, other_key, "files/x", b"x").status_code == 404
    assert api.client.get("/storage/buckets", headers=bearer(other_key)).json() == {"buckets": []}
    assert (
        api.client.post(
            "/storage/buckets", json={"name": "mine"}, headers=bearer(alice)
        ).status_code
        == 403
    )
    listed = api.client.get("/storage/objects/files", headers=bearer(bob)).json()
    assert listed["objects"] == []
    signed = api.client.post(
        "/storage/sign/files/alice/diary.txt",
        json={"expires_in": 60, "method": "GET"},
        headers=bearer(bob),
    )
    assert signed.status_code == 403


def test_public_bucket_needs_no_token(shop: tuple[Api, str]) -> None:
    api, key = shop
    api.client.post(
        "/storage/buckets", json={"name": "assets", "public": True}, headers=bearer(key)
    )
    put(api, key, "assets/logo.svg", b"<svg/>")
    assert api.client.get("/storage/objects/assets/logo.svg").content == b"<svg/>"
    put(api, key, "files/private", b"p")
    assert api.client.get("/storage/objects/files/private").status_code == 404


def test_bad_input_is_refused_and_stores_nothing(shop: tuple[Api, str]) -> None:
    api, key = shop
    head = api.head
    cases = [
        (put(api, key, "files/..%2F..%2Fetc%2Fpasswd", b"x"), 400),
        (put(api, key, "files/a%5Cb", b"x"), 400),
        (put(api, key, "files/big", b"x" * ((1 << 20) + 1)), 413),
        (put(api, key, "nobucket/x", b"x"), 404),
        (put(api, key, "files/meta", b"x", **{"x-bkg-metadata": "[1]"}), 400),
        (
            api.client.get(
                "/storage/signed/files/x?method=GET&expires=soon&kind=admin&id=a&sig=00"
            ),
            400,
        ),
        (api.client.get("/storage/signed/files/x?method=GET"), 400),
        (api.client.post("/storage/buckets", json={"name": "../up"}, headers=bearer(key)), 400),
        (api.client.post("/storage/buckets", json={"name": "files"}, headers=bearer(key)), 409),
        (api.client.put("/storage/objects/files/x", content=b"x"), 401),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert "code" in response.json()["error"]
    assert api.head == head
    listed = api.client.get("/storage/objects/files", headers=bearer(key)).json()
    assert listed["objects"] == []


def test_wrong_content_length_is_refused(shop: tuple[Api, str]) -> None:
    api, key = shop
    head = api.head
    response = api.client.put(
        "/storage/objects/files/short",
        content=iter([b"abc"]),
        headers={**bearer(key), "Content-Length": "10"},
    )
    assert response.status_code == 400, response.text
    assert api.head == head


def tus_headers(token: str, **extra: str) -> dict[str, str]:
    return {**bearer(token), "Tus-Resumable": "1.0.0", **extra}


def test_tus_upload_resumes_at_the_offset(shop: tuple[Api, str]) -> None:
    api, key = shop
    data = bytes(range(256)) * 40
    meta = ",".join(
        f"{k} {base64.b64encode(v.encode()).decode()}"
        for k, v in {"bucket": "files", "name": "tus/big.bin"}.items()
    )
    created = api.client.post(
        "/storage/uploads",
        headers=tus_headers(key, **{"Upload-Length": str(len(data)), "Upload-Metadata": meta}),
    )
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    octets = {"Content-Type": "application/offset+octet-stream"}
    first = api.client.patch(
        location, content=data[:4000], headers=tus_headers(key, **octets, **{"Upload-Offset": "0"})
    )
    assert first.status_code == 204 and first.headers["upload-offset"] == "4000"
    stale = api.client.patch(
        location, content=data[:10], headers=tus_headers(key, **octets, **{"Upload-Offset": "0"})
    )
    assert stale.status_code == 409
    offset = api.client.head(location, headers=tus_headers(key)).headers["upload-offset"]
    assert offset == "4000"
    rest = api.client.patch(
        location,
        content=data[4000:],
        headers=tus_headers(key, **octets, **{"Upload-Offset": offset}),
    )
    assert rest.status_code == 204 and int(rest.headers["x-bkg-lsn"]) == api.head
    got = api.client.get("/storage/objects/files/tus/big.bin", headers=bearer(key))
    assert got.content == data
    assert api.client.head(location, headers=tus_headers(key)).status_code == 404


def test_storage_routes_are_in_the_openapi_document(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    for path in ["/storage/buckets", "/storage/objects/{bucket}/{path}",
                 "/storage/objects/{bucket}", "/storage/sign/{bucket}/{path}",
                 "/storage/uploads", "/storage/copy"]:  # fmt: skip
        assert path in paths, sorted(paths)
