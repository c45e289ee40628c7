"""Objects never run as active content on the API's (and the dashboard's) origin: every
object response -- GET, range GET, 304, presigned URL, public bucket -- says `nosniff` and
carries a sandboxing CSP, and any type that could render as a document or script is sent
as an attachment. Every other response says `nosniff` too."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.http.object_headers import INLINE_TYPES, OBJECT_CSP
from tests.http.conftest import Api, bearer, make_data_dir, open_api

ACTIVE = [
    "text/html",
    "text/html; charset=utf-8",
    "TEXT/HTML",
    "image/svg+xml",
    "application/xhtml+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
    "application/pdf",
    "application/x-unknown",
    "application/octet-stream",
    "",
]
PAGE = b"<html><script>fetch('/auth/keys')</script></html>"


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Api, str]]:
    """Namespace `shop` with its key, private bucket `files` and public bucket `assets`."""
    monkeypatch.setenv("BKG_ARCHIVE", "off")
    for api in open_api(make_data_dir(tmp_path)):
        api.ok("CREATE SCHEMA shop")
        key = api.create_key("namespace", "shop")["key"]
        for name, public in (("files", False), ("assets", True)):
            body = {"name": name, "public": public}
            created = api.client.post("/storage/buckets", json=body, headers=bearer(key))
            assert created.status_code == 201, created.text
        yield api, key


def _put(api: Api, key: str, path: str, content_type: str) -> None:
    headers = {**bearer(key), "Content-Type": content_type} if content_type else bearer(key)
    stored = api.client.put(f"/storage/objects/{path}", content=PAGE, headers=headers)
    assert stored.status_code == 200, stored.text


def _responses(api: Api, key: str, path: str) -> list[httpx.Response]:
    """The object through every way of reading it."""
    url = f"/storage/objects/{path}"
    whole = api.client.get(url, headers=bearer(key))
    ranged = api.client.get(url, headers={**bearer(key), "Range": "bytes=0-3"})
    cached = api.client.get(url, headers={**bearer(key), "If-None-Match": whole.headers["etag"]})
    bucket, _, name = path.partition("/")
    signed = api.client.post(
        f"/storage/sign/{bucket}/{name}", json={"expires_in": 60}, headers=bearer(key)
    ).json()["url"]
    presigned = api.client.get(signed)
    assert [r.status_code for r in (whole, ranged, cached, presigned)] == [200, 206, 304, 200]
    return [whole, ranged, cached, presigned]


def _assert_safe(response: httpx.Response, inline: bool) -> None:
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-security-policy"] == OBJECT_CSP
    disposition = response.headers.get("content-disposition", "")
    assert disposition.startswith("attachment") != inline, (response.status_code, disposition)


@pytest.mark.parametrize("content_type", ACTIVE)
def test_active_types_are_attachments_with_nosniff_and_csp(
    files: tuple[Api, str], content_type: str
) -> None:
    api, key = files
    _put(api, key, "files/page.html", content_type)
    for response in _responses(api, key, "files/page.html"):
        _assert_safe(response, inline=False)
    _put(api, key, "assets/page.html", content_type)
    public = api.client.get("/storage/objects/assets/page.html")
    assert public.status_code == 200
    _assert_safe(public, inline=False)
    assert "filename*=UTF-8''page.html" in public.headers["content-disposition"]


@pytest.mark.parametrize("content_type", ["image/png", "text/plain; charset=utf-8", "video/mp4"])
def test_passive_types_stay_inline_but_sandboxed(files: tuple[Api, str], content_type: str) -> None:
    api, key = files
    _put(api, key, "files/pic", content_type)
    for response in _responses(api, key, "files/pic"):
        _assert_safe(response, inline=True)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.from_regex(r"[a-z]{1,10}/[a-z0-9.+-]{1,15}", fullmatch=True)
    | st.sampled_from(sorted(INLINE_TYPES))
)
def test_only_listed_types_are_inline(files: tuple[Api, str], content_type: str) -> None:
    api, key = files
    _put(api, key, "assets/any", content_type)
    response = api.client.get("/storage/objects/assets/any")
    _assert_safe(response, inline=content_type in INLINE_TYPES)


def test_every_response_says_nosniff(files: tuple[Api, str]) -> None:
    api, key = files
    for response in (
        api.client.get("/healthz"),
        api.query("SELECT 1"),
        api.query("SELEC 1"),
        api.client.get("/no/such/route"),
        api.client.get("/storage/objects/files/missing", headers=bearer(key)),
        api.client.get("/openapi.json"),
        api.client.get("/"),
    ):
        assert response.headers.get("x-content-type-options") == "nosniff", response.url
