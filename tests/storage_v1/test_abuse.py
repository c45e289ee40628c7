"""Hostile requests to `/storage/v1`: another namespace's buckets, altered, swapped,
expired and revoked tokens, traversal and odd names, malformed bodies and forms. Each gets
a Supabase-shaped error and appends nothing to the log."""

from __future__ import annotations

import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.http.conftest import bearer
from tests.storage_v1.conftest import Project, admin_post

pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'timeout' parameter is deprecated:DeprecationWarning",
    "ignore:The 'verify' parameter is deprecated:DeprecationWarning",
)


@pytest.fixture(scope="module")
def vault(project: Project) -> Iterator[str]:
    """A private bucket of namespace `public` holding `a/secret.txt` and `b/other.txt`."""
    storage = project.client(project.service).storage
    storage.create_bucket("vault")
    storage.from_("vault").upload("a/secret.txt", b"secret")
    storage.from_("vault").upload("b/other.txt", b"other")
    yield "vault"


def supabase_error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    body: dict[str, str] = response.json()
    assert body["statusCode"] == str(status)
    assert body["error"] and body["message"]
    return body


def token_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["token"][0]


def test_another_namespace_sees_nothing(project: Project, vault: str) -> None:
    head = project.head()
    other = project.client(project.other).storage
    assert vault not in {b.id for b in other.list_buckets()}
    for method, path, body in (
        ("GET", f"bucket/{vault}", None),
        ("GET", f"object/{vault}/a/secret.txt", None),
        ("GET", f"object/info/{vault}/a/secret.txt", None),
        ("POST", f"object/list/{vault}", {"prefix": ""}),
        ("POST", f"object/sign/{vault}/a/secret.txt", {"expiresIn": 60}),
        ("POST", f"object/upload/sign/{vault}/x.txt", None),
        ("DELETE", f"object/{vault}/a/secret.txt", None),
        ("DELETE", f"object/{vault}", {"prefixes": ["a/secret.txt"]}),
        ("POST", "object/copy", {"bucketId": vault, "sourceKey": "a/secret.txt",
                                 "destinationKey": "c.txt"}),
        ("PUT", f"bucket/{vault}", {"public": True}),
        ("DELETE", f"bucket/{vault}", None),
        ("POST", f"bucket/{vault}/empty", {}),
    ):  # fmt: skip
        answer = project.raw(method, path, project.other, json=body)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["error"] == "Bucket not found"
    upload = project.raw("POST", f"object/{vault}/z.txt", project.other, content=b"z")
    supabase_error(upload, 404)
    assert project.head() == head


def test_altered_swapped_and_misused_tokens(project: Project, vault: str) -> None:
    files = project.client(project.service).storage.from_(vault)
    url = files.create_signed_url("a/secret.txt", 60)["signedURL"]
    token = token_of(url)
    base = f"{project.url}/storage/v1/object"
    assert httpx.get(url).content == b"secret"
    swapped = httpx.get(f"{base}/sign/{vault}/b/other.txt?token={token}")
    supabase_error(swapped, 403)
    altered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    tampered = httpx.get(f"{base}/sign/{vault}/a/secret.txt?token={altered}")
    assert tampered.status_code in (400, 403)
    assert tampered.json()["error"] in ("InvalidSignature", "Unauthorized")
    for bad in ("", "%%%", "x" * 5000, "eyJtZXRob2QiOiJHRVQifQ"):
        answer = httpx.get(f"{base}/sign/{vault}/a/secret.txt", params={"token": bad})
        assert answer.status_code in (400, 403), answer.text
        assert "statusCode" in answer.json()
    head = project.head()
    put = httpx.put(f"{base}/upload/sign/{vault}/a/secret.txt?token={token}", content=b"x")
    supabase_error(put, 403)
    upload_token = files.create_signed_upload_url("a/new.txt")["token"]
    as_download = httpx.get(f"{base}/sign/{vault}/a/new.txt?token={upload_token}")
    supabase_error(as_download, 403)
    elsewhere = httpx.put(
        f"{base}/upload/sign/{vault}/b/new.txt?token={upload_token}", content=b"x"
    )
    supabase_error(elsewhere, 403)
    own_api = httpx.get(f"{project.url}/storage/signed/{vault}/a/new.txt?token={upload_token}")
    assert own_api.status_code == 400
    assert project.head() == head


def test_expired_and_revoked_tokens(project: Project, vault: str) -> None:
    served = project.served
    created = admin_post(served, "/auth/keys", {"scope": "namespace", "namespace": "public"})
    files = project.client(created["key"]).storage.from_(vault)
    short = files.create_signed_url("a/secret.txt", 1)["signedURL"]
    lasting = files.create_signed_url("a/secret.txt", 600)["signedURL"]
    upload = files.create_signed_upload_url("a/late.txt")
    assert httpx.get(lasting).content == b"secret"
    time.sleep(2.1)
    assert "expired" in supabase_error(httpx.get(short), 403)["message"]
    revoke = httpx.delete(
        f"{served.url}/auth/keys/{created['id']}", headers=bearer(served.admin_key)
    )
    assert revoke.status_code == 200, revoke.text
    head = project.head()
    supabase_error(httpx.get(lasting), 403)
    put = httpx.put(upload["signed_url"], files={"file": ("late.txt", b"late", "text/plain")})
    supabase_error(put, 403)
    assert project.head() == head


@pytest.mark.parametrize(
    "name",
    ["a/%2e%2e/b/other.txt", "%2e%2e/x", "a/%2e/b", "a%2F%2Fb", "a%5cb", "a%00b", "%2Flead"],
)
def test_traversal_and_odd_names_refused(project: Project, vault: str, name: str) -> None:
    head = project.head()
    for method in ("POST", "PUT"):
        answer = project.raw(method, f"object/{vault}/{name}", project.service, content=b"x")
        assert answer.status_code in (400, 404), (method, name, answer.text)
        assert "statusCode" in answer.json()
    signed = project.raw(
        "POST", f"object/sign/{vault}/{name}", project.service, json={"expiresIn": 60}
    )
    assert signed.status_code in (400, 404), signed.text
    assert project.head() == head


def test_malformed_bodies_change_nothing(project: Project, vault: str) -> None:
    head = project.head()
    cases = [
        ("DELETE", f"object/{vault}", {"prefixes": ["a/secret.txt", "../b/other.txt"]}),
        ("DELETE", f"object/{vault}", {"prefixes": [f"f{i}" for i in range(1001)]}),
        ("POST", f"object/list/{vault}", {"sortBy": {"column": "size", "order": "asc"}}),
        ("POST", f"object/list/{vault}", {"limit": -1}),
        ("POST", f"object/sign/{vault}/a/secret.txt", {"expiresIn": 0}),
        ("POST", f"object/sign/{vault}/a/secret.txt", {"expiresIn": "soon"}),
        ("POST", f"object/sign/{vault}/a/secret.txt", {"expiresIn": 10**9}),
        ("POST", f"object/sign/{vault}/a/secret.txt", {"expiresIn": 60, "transform": {"width": 9}}),
        ("POST", "bucket", {"id": "Bad Name!"}),
        ("POST", "bucket", {"id": "mismatch", "name": "other"}),
        ("POST", "bucket", {"id": "sized", "file_size_limit": "lots"}),
        ("POST", "object/move", {"bucketId": vault}),
    ]
    for method, path, body in cases:
        answer = project.raw(method, path, project.service, json=body)
        assert 400 <= answer.status_code < 500 or answer.status_code == 501, (path, answer.text)
        assert "statusCode" in answer.json(), answer.text
    for raw in (b"{", b"[1, 2]", b'{"prefixes": "a"}'):
        answer = project.raw(
            "DELETE", f"object/{vault}", project.service, content=raw,
            headers={"Content-Type": "application/json"},
        )  # fmt: skip
        assert answer.status_code in (400, 422), answer.text
        assert "statusCode" in answer.json()
    assert project.head() == head
    storage = project.client(project.service).storage.from_(vault)
    assert storage.download("a/secret.txt") == b"secret"
    assert storage.download("b/other.txt") == b"other"


def test_broken_and_odd_forms_record_nothing(project: Project, vault: str) -> None:
    head = project.head()
    boundary = "XyZ"
    cut = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n'
        f"Content-Type: text/plain\r\n\r\nhalf a file"
    ).encode()
    no_file = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="x"\r\n\r\n1\r\n--{boundary}--\r\n'
    )
    huge_field = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n'
        + "x" * (70 * 1024)
        + f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'
        + f"y\r\n--{boundary}--\r\n"
    )
    bad_meta = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n\r\n[1]\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'
        f"y\r\n--{boundary}--\r\n"
    )
    two_files = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'
        f'y\r\n--{boundary}\r\nContent-Disposition: form-data; name="more"; filename="g"\r\n'
        "\r\n" + "z" * (70 * 1024) + f"\r\n--{boundary}--\r\n"
    )
    bodies = (cut, no_file.encode(), huge_field.encode(), bad_meta.encode(), two_files.encode())
    for body in (*bodies, b"garbage"):
        answer = project.raw(
            "POST", f"object/{vault}/form.txt", project.service, content=body,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        )  # fmt: skip
        supabase_error(answer, 400)
    no_boundary = project.raw(
        "POST", f"object/{vault}/form.txt", project.service, content=b"x",
        headers={"Content-Type": "multipart/form-data"},
    )  # fmt: skip
    supabase_error(no_boundary, 400)
    assert project.head() == head


def test_credentials_are_required_and_checked(project: Project, vault: str) -> None:
    head = project.head()
    supabase_error(project.raw("GET", "bucket"), 401)
    supabase_error(project.raw("POST", f"object/{vault}/x.txt", content=b"x"), 401)
    supabase_error(project.raw("GET", f"object/{vault}/a/secret.txt", "bkg_namespace_nope"), 401)
    supabase_error(project.raw("POST", f"object/list/{vault}", "not.a.jwt", json={}), 401)
    supabase_error(project.raw("GET", "render/image/public/vault/a.png"), 501)
    assert project.head() == head
