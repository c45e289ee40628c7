"""The official `supabase` Python client's storage API against a real `bkgdb serve`:
buckets, uploads (multipart, upsert), downloads, listing, move, copy, removal, signed and
public URLs fetched by a plain HTTP client, bucket limits, and object policies as users."""

from __future__ import annotations

import httpx
import pytest
from storage3.exceptions import StorageApiError
from storage3.types import CreateSignedUploadUrlOptions

from tests.storage_v1.conftest import Project

pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'timeout' parameter is deprecated:DeprecationWarning",
    "ignore:The 'verify' parameter is deprecated:DeprecationWarning",
)


def refused(call: object, status: int, error: str | None = None) -> StorageApiError:
    assert callable(call)
    with pytest.raises(StorageApiError) as caught:
        call()
    assert int(caught.value.status) == status, caught.value
    if error is not None:
        assert caught.value.code == error
    return caught.value


def test_buckets_crud(project: Project) -> None:
    storage = project.client(project.service).storage
    assert storage.create_bucket("crud-private") == {"name": "crud-private"}
    storage.create_bucket("crud-public", options={"public": True, "file_size_limit": 1000})
    found = storage.get_bucket("crud-public")
    assert (found.id, found.public, found.file_size_limit) == ("crud-public", True, 1000)
    assert {"crud-private", "crud-public"} <= {b.id for b in storage.list_buckets()}
    refused(lambda: storage.create_bucket("crud-private"), 409, "Duplicate")
    options = {"public": True, "allowed_mime_types": ["image/*"], "file_size_limit": 20}
    assert storage.update_bucket("crud-private", options)["message"] == "Successfully updated"
    changed = storage.get_bucket("crud-private")
    assert (changed.public, changed.allowed_mime_types, changed.file_size_limit) == (
        True,
        ["image/*"],
        20,
    )
    storage.from_("crud-public").upload("x.txt", b"x")
    refused(lambda: storage.delete_bucket("crud-public"), 409)
    assert storage.empty_bucket("crud-public")["message"] == "Successfully emptied"
    assert storage.delete_bucket("crud-public")["message"] == "Successfully deleted"
    refused(lambda: storage.get_bucket("crud-public"), 404, "Bucket not found")
    user = project.client(project.anon, project.alice).storage
    head = project.head()
    refused(lambda: user.create_bucket("users-may-not"), 403)
    refused(lambda: user.delete_bucket("crud-private"), 403)
    refused(lambda: user.empty_bucket("crud-private"), 403)
    assert project.head() == head


def test_upload_download_list_move_copy_remove(project: Project) -> None:
    storage = project.client(project.service).storage
    storage.create_bucket("files")
    files = storage.from_("files")
    upload = files.upload("docs/a.txt", b"alpha", {"content-type": "text/plain"})
    assert upload.full_path == "files/docs/a.txt"
    files.upload("docs/b.txt", b"bravo", {"metadata": {"tag": "b"}})
    files.upload("docs/deep/c.txt", b"charlie")
    files.upload("top.bin", b"\x00\xff", {"content-type": "application/octet-stream"})
    head = project.head()
    refused(lambda: files.upload("docs/a.txt", b"again"), 409, "Duplicate")
    assert project.head() == head
    files.upload("docs/a.txt", b"ALPHA", {"upsert": "true"})
    assert files.download("docs/a.txt") == b"ALPHA"
    files.update("docs/b.txt", b"BRAVO")
    assert files.download("docs/b.txt") == b"BRAVO"

    root = files.list()
    assert [(e["name"], e["id"] is None) for e in root] == [("docs", True), ("top.bin", False)]
    entries = files.list("docs")
    assert [e["name"] for e in entries] == ["a.txt", "b.txt", "deep"]
    first = entries[0]
    assert first["metadata"]["size"] == 5
    assert first["metadata"]["mimetype"] == "text/plain"
    assert first["metadata"]["eTag"].startswith('"')
    assert {"created_at", "updated_at", "last_accessed_at"} <= first.keys()
    assert entries[2]["metadata"] is None
    ordered = files.list("docs", {"sortBy": {"column": "name", "order": "desc"}})
    assert [e["name"] for e in ordered] == ["deep", "b.txt", "a.txt"]
    paged = files.list("docs", {"limit": 1, "offset": 1})
    assert [e["name"] for e in paged] == ["b.txt"]
    assert [e["name"] for e in files.list("docs", {"search": "B"})] == ["b.txt"]
    assert files.list("nothing-here") == []
    files.upload("odd names/ünï côde & more+%.txt", b"odd")
    assert files.download("odd names/ünï côde & more+%.txt") == b"odd"
    assert [e["name"] for e in files.list("odd names")] == ["ünï côde & more+%.txt"]
    signed = files.create_signed_url("odd names/ünï côde & more+%.txt", 60)["signedURL"]
    assert httpx.get(signed).content == b"odd"
    files.remove(["odd names/ünï côde & more+%.txt"])

    assert files.copy("docs/a.txt", "copies/a.txt")["Key"] == "files/copies/a.txt"
    assert files.download("copies/a.txt") == b"ALPHA"
    refused(lambda: files.copy("docs/a.txt", "copies/a.txt"), 409)
    assert files.move("copies/a.txt", "moved/a.txt")["message"] == "Successfully moved"
    assert not files.exists("copies/a.txt")
    assert files.exists("moved/a.txt")
    assert files.info("moved/a.txt")["size"] == 5
    refused(lambda: files.move("docs/b.txt", "moved/a.txt"), 409)
    assert files.download("docs/b.txt") == b"BRAVO"

    removed = files.remove(["moved/a.txt", "docs/deep/c.txt", "no/such.txt"])
    assert sorted(r["name"] for r in removed) == ["docs/deep/c.txt", "moved/a.txt"]
    refused(lambda: files.download("moved/a.txt"), 404, "not_found")
    assert [e["name"] for e in files.list("docs")] == ["a.txt", "b.txt"]


def test_raw_upload_head_and_download_option(project: Project) -> None:
    project.client(project.service).storage.create_bucket("raw")
    sent = project.raw(
        "POST",
        "object/raw/r/data.json",
        project.service,
        content=b'{"a": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert sent.status_code == 200, sent.text
    assert sent.json()["Key"] == "raw/r/data.json"
    assert len(sent.json()["Id"]) == 36
    head = project.raw("HEAD", "object/raw/r/data.json", project.service)
    assert head.status_code == 200
    assert head.headers["content-type"].startswith("application/json")
    assert head.headers["x-content-length"] == "8"
    assert head.headers["last-modified"].endswith(" GMT")
    assert head.headers["x-content-type-options"] == "nosniff"
    got = project.raw("GET", "object/authenticated/raw/r/data.json", project.service)
    assert got.content == b'{"a": 1}'
    assert "content-disposition" not in got.headers
    named = project.raw("GET", "object/raw/r/data.json?download=mine.json", project.service)
    assert named.headers["content-disposition"] == "attachment; filename*=UTF-8''mine.json"
    plain = project.raw("GET", "object/raw/r/data.json?download", project.service)
    assert plain.headers["content-disposition"] == "attachment; filename*=UTF-8''data.json"


def test_signed_urls_fetched_by_plain_http(project: Project) -> None:
    storage = project.client(project.service).storage
    storage.create_bucket("signed")
    files = storage.from_("signed")
    files.upload("s/one.txt", b"one")
    files.upload("s/two.txt", b"two")
    url = files.create_signed_url("s/one.txt", 60)["signedURL"]
    assert url.startswith(f"{project.url}/storage/v1/object/sign/signed/s/one.txt?token=")
    fetched = httpx.get(url)
    assert (fetched.status_code, fetched.content) == (200, b"one")
    download = files.create_signed_url("s/one.txt", 60, {"download": True})["signedURL"]
    assert "attachment" in httpx.get(download).headers["content-disposition"]
    many = files.create_signed_urls(["s/one.txt", "s/two.txt", "s/none.txt"], 60)
    assert [m["error"] is None for m in many] == [True, True, False]
    assert httpx.get(many[1]["signedURL"]).content == b"two"

    upload = files.create_signed_upload_url("s/up.bin")
    assert files.upload_to_signed_url("s/up.bin", upload["token"], b"via token").full_path == (
        "signed/s/up.bin"
    )
    assert files.download("s/up.bin") == b"via token"
    head = project.head()
    refused(lambda: files.upload_to_signed_url("s/up.bin", upload["token"], b"again"), 409)
    assert project.head() == head
    upsert = files.create_signed_upload_url("s/up.bin", CreateSignedUploadUrlOptions(upsert="true"))
    files.upload_to_signed_url("s/up.bin", upsert["token"], b"replaced")
    assert files.download("s/up.bin") == b"replaced"


def test_public_url(project: Project) -> None:
    storage = project.client(project.service).storage
    storage.create_bucket("open", options={"public": True})
    storage.create_bucket("closed")
    storage.from_("open").upload("pics/p.txt", b"public bytes")
    storage.from_("closed").upload("pics/p.txt", b"private bytes")
    url = storage.from_("open").get_public_url("pics/p.txt")
    assert url == f"{project.url}/storage/v1/object/public/open/pics/p.txt"
    assert httpx.get(url).content == b"public bytes"
    private = httpx.get(storage.from_("closed").get_public_url("pics/p.txt"))
    assert private.status_code == 404
    assert private.json()["error"] == "Bucket not found"
    anonymous = httpx.get(f"{project.url}/storage/v1/object/closed/pics/p.txt")
    assert anonymous.status_code == 401
    assert anonymous.json()["statusCode"] == "401"


def test_bucket_limits(project: Project) -> None:
    storage = project.client(project.service).storage
    options = {"file_size_limit": 8, "allowed_mime_types": ["image/png", "text/*"]}
    storage.create_bucket("limited", options=options)
    files = storage.from_("limited")
    head = project.head()
    refused(lambda: files.upload("big.txt", b"x" * 9), 413, "Payload too large")
    refused(
        lambda: files.upload("a.gif", b"GIF", {"content-type": "image/gif"}),
        415,
        "invalid_mime_type",
    )
    assert project.head() == head
    assert files.list() == []
    files.upload("ok.png", b"PNG", {"content-type": "image/png"})
    files.upload("ok.csv", b"a,b", {"content-type": "text/csv"})
    assert sorted(e["name"] for e in files.list()) == ["ok.csv", "ok.png"]
    storage.update_bucket("limited", {"file_size_limit": 100, "allowed_mime_types": ["text/*"]})
    files.upload("bigger.txt", b"y" * 50)
    refused(lambda: files.upload("b.png", b"PNG", {"content-type": "image/png"}), 415)
    refused(lambda: storage.create_bucket("badmime", options={"allowed_mime_types": ["x"]}), 400)


def test_object_policies_as_users(project: Project) -> None:
    project.client(project.service).storage.create_bucket("homes")
    alice = project.client(project.anon, project.alice).storage.from_("homes")
    bob = project.client(project.anon, project.bob).storage.from_("homes")
    alice.upload("alice/notes.txt", b"alice's")
    bob.upload("bob/notes.txt", b"bob's")
    head = project.head()
    refused(lambda: alice.upload("bob/evil.txt", b"x"), 403, "Unauthorized")
    refused(lambda: alice.upload("bob/notes.txt", b"x", {"upsert": "true"}), 403)
    refused(lambda: alice.download("bob/notes.txt"), 403)
    refused(lambda: alice.create_signed_url("bob/notes.txt", 60), 403)
    refused(lambda: alice.create_signed_upload_url("bob/new.txt"), 403)
    refused(lambda: alice.move("bob/notes.txt", "alice/stolen.txt"), 403)
    refused(lambda: alice.move("alice/notes.txt", "bob/gift.txt"), 403)
    refused(lambda: alice.copy("bob/notes.txt", "alice/copy.txt"), 403)
    assert alice.remove(["bob/notes.txt"]) == []
    assert project.head() == head
    assert [e["name"] for e in alice.list()] == ["alice"]
    assert alice.list("bob") == []
    assert [e["name"] for e in bob.list()] == ["bob"]
    assert bob.download("bob/notes.txt") == b"bob's"
    signed = alice.create_signed_urls(["alice/notes.txt", "bob/notes.txt"], 60)
    assert [s["error"] is None for s in signed] == [True, False]
    assert httpx.get(signed[0]["signedURL"]).content == b"alice's"
    alice.move("alice/notes.txt", "alice/renamed.txt")
    assert alice.download("alice/renamed.txt") == b"alice's"
    anon = project.client(project.anon).storage.from_("homes")
    refused(lambda: anon.download("alice/renamed.txt"), 403)
    assert anon.list() == []
