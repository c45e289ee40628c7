"""The object service over both blob stores: metadata in the log, policies, bad input."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.auth.principal import ADMIN, Principal, user_principal
from api.database import Database
from api.datadir import DataDir
from api.initialise import initialise
from api.rls.policy import PolicySet, parse_policy
from api.storage import meta
from api.storage.errors import (
    ConflictError,
    ForbiddenError,
    InvalidKeyError,
    NotFoundError,
    TooLargeError,
)
from api.storage.service import ObjectService
from api.storage.tus import Uploads
from projections.blobs.blobstore import BlobStore
from projections.blobs.errors import LengthMismatchError
from tests.storage.test_blobstore import chunks_of

SHOP = Principal(kind="namespace", id="key:shop", namespace="shop")
OTHER = Principal(kind="namespace", id="key:other", namespace="other")
ALICE = user_principal("alice", "shop")
BOB = user_principal("bob", "shop")
OWN_FOLDER = {
    "name": "own folder",
    "table": "storage.objects",
    "actions": ["select", "insert", "update", "delete"],
    "using": "starts_with(name, auth.uid() || '/')",
    "check": "starts_with(name, auth.uid() || '/') AND bucket = 'files'",
}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    root = tmp_path / "data"
    initialise(DataDir(root), 1 << 20)
    database = Database.open(root)
    yield database
    database.close()


@pytest.fixture
def service(db: Database, blob_store: BlobStore) -> Iterator[ObjectService]:
    """Closed afterwards: pending blob removals run then, instead of holding the test
    process open for their grace period at exit."""
    policies = PolicySet([parse_policy(OWN_FOLDER)])
    svc = ObjectService(db, blob_store, lambda: policies, max_object_bytes=1 << 20)
    svc.create_bucket(SHOP, "files", public=False)
    yield svc
    svc.close()


def content(service: ObjectService, principal: Principal | None, name: str) -> bytes:
    found = service.stat_object(principal, "files", name)
    return b"".join(service.read(found))


def test_upload_records_metadata_in_the_log_not_bytes(service: ObjectService) -> None:
    data = os.urandom(200_000)
    stored = service.put_object(SHOP, "files", "docs/a.bin", chunks_of(data), len(data), "x/y")
    assert stored.sha256 == hashlib.sha256(data).hexdigest() and stored.size == len(data)
    record = next(iter(service.db.log.read(stored.lsn, stored.lsn)))
    assert record.kind == "storage" and record.namespace == "shop"
    assert record.payload["type"] == "object.created"
    assert {record.payload[k] for k in ("bucket", "name", "size", "sha256", "owner")} == {
        "files", "docs/a.bin", len(data), stored.sha256, "key:shop",
    }  # fmt: skip
    assert data[:1000] not in record.frame
    assert content(service, SHOP, "docs/a.bin") == data


def test_replace_range_copy_delete(service: ObjectService, blob_store: BlobStore) -> None:
    service.put_object(SHOP, "files", "k", [b"first version"], 13)
    replaced = service.put_object(SHOP, "files", "k", [b"0123456789"], 10, "text/plain")
    record = next(iter(service.db.log.read(replaced.lsn, replaced.lsn)))
    assert record.payload["type"] == "object.replaced"
    found = service.stat_object(SHOP, "files", "k")
    assert b"".join(service.read(found, 3, 4)) == b"3456"
    copied = service.copy_object(SHOP, "files", "k", "files", "copy/k")
    assert (copied.sha256, copied.content_type) == (found.sha256, "text/plain")
    service.delete_object(SHOP, "files", "k")
    with pytest.raises(NotFoundError):
        service.stat_object(SHOP, "files", "k")
    assert content(service, SHOP, "copy/k") == b"0123456789"
    service.close()
    assert [b.key for b in blob_store.list("shop/files/")] == [copied_blob(service, "copy/k")]


def copied_blob(service: ObjectService, name: str) -> str:
    with service.db.store.snapshot() as snap:
        found = meta.get_object(snap.conn, "files", name)
    assert found is not None
    return found.blob


def test_list_pages_with_a_cursor(service: ObjectService) -> None:
    for name in ["a/1", "a/2", "a/3", "b/1"]:
        service.put_object(SHOP, "files", name, [b"x"], 1)
    page, cursor = service.list_objects(SHOP, "files", "a/", limit=2)
    assert [o.name for o in page] == ["a/1", "a/2"] and cursor == "a/2"
    page, cursor = service.list_objects(SHOP, "files", "a/", cursor=cursor, limit=2)
    assert [o.name for o in page] == ["a/3"] and cursor is None


def test_metadata_rebuilds_from_the_log(service: ObjectService, db: Database) -> None:
    service.put_object(SHOP, "files", "kept", [b"abc"], 3)
    service.put_object(SHOP, "files", "gone", [b"abc"], 3)
    service.delete_object(SHOP, "files", "gone")
    with db.store.snapshot() as snap:
        before = meta.list_objects(snap.conn, "files", "", "", 100)
    conn = sqlite3.connect(":memory:")
    for record in db.log.read():
        if record.kind == "storage":
            meta.fold_storage(conn, record)
    rebuilt = meta.list_objects(conn, "files", "", "", 100)
    assert rebuilt == before and [o.name for o in before] == ["kept"]


def test_user_policies_own_folder(service: ObjectService) -> None:
    service.put_object(ALICE, "files", "alice/notes.txt", [b"mine"], 4)
    with pytest.raises(ForbiddenError):
        service.put_object(ALICE, "files", "bob/notes.txt", [b"not mine"], 8)
    with pytest.raises(ForbiddenError):
        service.stat_object(BOB, "files", "alice/notes.txt")
    with pytest.raises(ForbiddenError):
        service.delete_object(BOB, "files", "alice/notes.txt")
    service.put_object(SHOP, "files", "bob/x", [b"x"], 1)
    listed, _ = service.list_objects(BOB, "files")
    assert [o.name for o in listed] == ["bob/x"]
    assert content(service, ALICE, "alice/notes.txt") == b"mine"


def test_namespaces_isolate_buckets(service: ObjectService) -> None:
    service.put_object(SHOP, "files", "n", [b"x"], 1)
    with pytest.raises(NotFoundError):
        service.stat_object(OTHER, "files", "n")
    with pytest.raises(NotFoundError):
        service.put_object(OTHER, "files", "m", [b"x"], 1)
    assert [b.name for b in service.list_buckets(OTHER)] == []
    assert [b.name for b in service.list_buckets(ADMIN)] == ["files"]


def test_public_bucket_reads_without_a_principal(service: ObjectService) -> None:
    service.create_bucket(SHOP, "public-assets", public=True)
    service.put_object(SHOP, "public-assets", "logo", [b"png"], 3)
    found = service.stat_object(None, "public-assets", "logo")
    assert b"".join(service.read(found)) == b"png"
    service.put_object(SHOP, "files", "secret", [b"x"], 1)
    with pytest.raises(NotFoundError):
        service.stat_object(None, "files", "secret")


@pytest.mark.parametrize(
    ("name", "error"),
    [("../escape", InvalidKeyError), ("a/../../b", InvalidKeyError), ("/abs", InvalidKeyError),
     ("a//b", InvalidKeyError), ("nul\x00", InvalidKeyError), ("", InvalidKeyError)],
)  # fmt: skip
def test_bad_names_store_nothing(service: ObjectService, name: str, error: type[Exception]) -> None:
    head = service.db.log.head_lsn
    with pytest.raises(error):
        service.put_object(SHOP, "files", name, [b"x"], 1)
    assert service.db.log.head_lsn == head


def test_bad_uploads_store_nothing(service: ObjectService, blob_store: BlobStore) -> None:
    head = service.db.log.head_lsn
    with pytest.raises(TooLargeError):
        service.put_object(SHOP, "files", "big", chunks_of(b"x" * (2 << 20)), None)
    with pytest.raises(TooLargeError):
        service.put_object(SHOP, "files", "big", [b"x"], 2 << 20)
    with pytest.raises(LengthMismatchError):
        service.put_object(SHOP, "files", "short", [b"abc"], 10)
    with pytest.raises(NotFoundError):
        service.put_object(SHOP, "nope", "x", [b"x"], 1)
    with pytest.raises(ConflictError):
        service.create_bucket(OTHER, "files", public=True)
    assert service.db.log.head_lsn == head
    assert blob_store.list("shop/") == []


def test_tus_upload_keeps_what_arrived_before_a_dropped_connection(
    service: ObjectService, tmp_path: Path
) -> None:
    uploads = Uploads(tmp_path / "uploads", service)
    data = os.urandom(50_000)
    info = uploads.create(SHOP, "files", "resumed.bin", len(data))

    def dropped() -> Iterator[bytes]:
        yield data[:10_000]
        yield data[10_000:20_000]
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        uploads.append(SHOP, info.id, 0, dropped())
    resumed = uploads.get(SHOP, info.id)
    assert resumed.offset == 20_000
    with pytest.raises(ConflictError):
        uploads.append(SHOP, info.id, 0, [b"again"])
    with pytest.raises(ForbiddenError):
        uploads.get(ALICE, info.id)
    done = uploads.append(SHOP, info.id, resumed.offset, chunks_of(data[20_000:]))
    stored = uploads.finish(done)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert content(service, SHOP, "resumed.bin") == data
    with pytest.raises(NotFoundError):
        uploads.get(SHOP, info.id)
