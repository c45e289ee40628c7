"""TUS at `/storage/v1/upload/resumable` as Supabase's clients use it (`bucketName`,
`objectName`, `contentType` metadata, `x-upsert`), over bkg-db's resumable uploads."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.storage_v1.conftest import Project

pytestmark = pytest.mark.filterwarnings(
    "ignore:The 'timeout' parameter is deprecated:DeprecationWarning",
    "ignore:The 'verify' parameter is deprecated:DeprecationWarning",
)


def tus_headers(jwt: str, project: Project, **extra: str) -> dict[str, str]:
    return {"apikey": project.anon, "Authorization": f"Bearer {jwt}", "Tus-Resumable": "1.0.0",
            **extra}  # fmt: skip


def metadata(**fields: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


def start(project: Project, jwt: str, name: str, length: int, **extra: str) -> httpx.Response:
    headers = tus_headers(
        jwt,
        project,
        **{
            "Upload-Length": str(length),
            "Upload-Metadata": metadata(
                bucketName="tus", objectName=name, contentType="text/plain"
            ),
            **extra,
        },
    )
    return httpx.post(f"{project.url}/storage/v1/upload/resumable", headers=headers)


def patch(project: Project, jwt: str, location: str, offset: int, body: bytes) -> httpx.Response:
    headers = tus_headers(
        jwt,
        project,
        **{"Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"},
    )
    return httpx.patch(f"{project.url}{location}", headers=headers, content=body)


@pytest.fixture(scope="module")
def bucket(project: Project) -> str:
    project.client(project.service).storage.create_bucket("tus", options={"file_size_limit": 64})
    return "tus"


def test_resumable_upload_in_pieces(project: Project, bucket: str) -> None:
    options = httpx.options(f"{project.url}/storage/v1/upload/resumable")
    assert options.headers["tus-version"] == "1.0.0"
    created = start(project, project.alice, "alice/big.txt", 10)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    assert location.startswith("/storage/v1/upload/resumable/")
    assert patch(project, project.alice, location, 0, b"hello").status_code == 204
    head = httpx.head(f"{project.url}{location}", headers=tus_headers(project.alice, project))
    assert head.headers["upload-offset"] == "5"
    lsn = project.head()
    stolen = patch(project, project.bob, location, 5, b"BOB!!")
    assert stolen.status_code == 403
    assert stolen.json()["statusCode"] == "403"
    wrong = patch(project, project.alice, location, 3, b"xx")
    assert wrong.status_code == 409
    assert project.head() == lsn
    assert patch(project, project.alice, location, 5, b"world").status_code == 204
    alice = project.client(project.anon, project.alice).storage.from_("tus")
    assert alice.download("alice/big.txt") == b"helloworld"

    again = start(project, project.alice, "alice/big.txt", 3)
    assert (again.status_code, again.json()["error"]) == (409, "Duplicate")
    replaced = start(project, project.alice, "alice/big.txt", 3, **{"x-upsert": "true"})
    assert replaced.status_code == 201
    patch(project, project.alice, replaced.headers["location"], 0, b"new")
    assert alice.download("alice/big.txt") == b"new"


def test_resumable_refusals_record_nothing(project: Project, bucket: str) -> None:
    lsn = project.head()
    assert start(project, project.alice, "bob/x.txt", 3).status_code == 403
    assert start(project, project.alice, "alice/huge.txt", 65).status_code == 413
    assert start(project, project.alice, "alice/../x", 3).status_code == 400
    no_meta = httpx.post(
        f"{project.url}/storage/v1/upload/resumable",
        headers=tus_headers(project.alice, project, **{"Upload-Length": "3"}),
    )
    assert no_meta.status_code == 400
    assert "statusCode" in no_meta.json()
    abandoned = start(project, project.alice, "alice/gone.txt", 3).headers["location"]
    gone = httpx.delete(f"{project.url}{abandoned}", headers=tus_headers(project.alice, project))
    assert gone.status_code == 204
    after = patch(project, project.alice, abandoned, 0, b"abc")
    assert after.status_code == 404
    assert project.head() == lsn


def test_create_only_upload_does_not_replace_an_object_that_appeared(
    project: Project, bucket: str
) -> None:
    location = start(project, project.alice, "alice/race.txt", 3).headers["location"]
    alice = project.client(project.anon, project.alice).storage.from_("tus")
    alice.upload("alice/race.txt", b"first")
    lsn = project.head()
    finished = patch(project, project.alice, location, 0, b"two")
    assert (finished.status_code, finished.json()["error"]) == (409, "Duplicate")
    assert project.head() == lsn
    assert alice.download("alice/race.txt") == b"first"
