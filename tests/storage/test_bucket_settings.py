"""Bucket settings over the object service (local blob store): changes and deletion as log
events that rebuild exactly, MIME types and size limits enforced on every write path, move
checked before it copies, and a bucket table folded before these settings existed."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.auth.principal import user_principal
from api.database import Database
from api.rls.policy import PolicySet, parse_policy
from api.storage import meta
from api.storage.errors import (
    BadMimeTypeError,
    BadObjectRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    TooLargeError,
)
from api.storage.service import ObjectService
from projections.blobs.local import LocalBlobStore
from tests.storage.test_service import OWN_FOLDER, SHOP, db

__all__ = ["db"]
ALICE = user_principal("alice", "shop")


@pytest.fixture
def service(db: Database, tmp_path: Path) -> Iterator[ObjectService]:
    policies = PolicySet([parse_policy(OWN_FOLDER)])
    svc = ObjectService(db, LocalBlobStore(tmp_path / "objects"), lambda: policies, 1 << 20)
    svc.create_bucket(SHOP, "files", public=False)
    yield svc
    svc.close()


def rebuilt_buckets(db: Database) -> list[meta.Bucket]:
    conn = sqlite3.connect(":memory:")
    for record in db.log.read():
        if record.kind == "storage":
            meta.fold_storage(conn, record)
    return meta.list_buckets(conn, None)


def test_settings_change_and_deletion_rebuild_from_the_log(
    service: ObjectService, db: Database
) -> None:
    service.create_bucket(SHOP, "pics", False, 100, ["image/*"])
    service.update_bucket(SHOP, "pics", public=True, allowed_mime_types=["image/png"])
    service.create_bucket(SHOP, "gone", False)
    service.delete_bucket(SHOP, "gone")
    live = service.list_buckets(SHOP)
    assert [(b.name, b.public, b.size_limit, b.allowed_mime_types) for b in live] == [
        ("files", False, None, None),
        ("pics", True, 100, ("image/png",)),
    ]
    assert [(b.name, b.allowed_mime_types, b.public) for b in rebuilt_buckets(db)] == [
        (b.name, b.allowed_mime_types, b.public) for b in live
    ]


def test_types_and_sizes_are_enforced_on_every_write(service: ObjectService) -> None:
    service.create_bucket(SHOP, "pics", False, 8, ["image/*", "text/plain"])
    service.put_object(SHOP, "files", "doc.pdf", [b"%PDF"], 4, "application/pdf")
    head = service.db.log.head_lsn
    with pytest.raises(BadMimeTypeError):
        service.put_object(SHOP, "pics", "a.pdf", [b"%PDF"], 4, "application/pdf")
    with pytest.raises(BadMimeTypeError):
        service.put_object(SHOP, "pics", "untyped", [b"x"], 1)
    with pytest.raises(BadMimeTypeError):
        service.copy_object(SHOP, "files", "doc.pdf", "pics", "doc.pdf")
    with pytest.raises(TooLargeError):
        service.put_object(SHOP, "pics", "big.png", iter([b"x" * 9]), None, "image/png")
    assert service.db.log.head_lsn == head
    service.put_object(SHOP, "pics", "ok.png", [b"png"], 3, "IMAGE/PNG; q=1")
    service.put_object(SHOP, "pics", "ok.txt", [b"txt"], 3, "text/plain;charset=utf-8")
    for bad in (["x"], ["a/b/c"], ["text/*" + "x" * 300], ["t/x"] * 101):
        with pytest.raises(BadObjectRequestError):
            service.update_bucket(SHOP, "pics", allowed_mime_types=bad)
    with pytest.raises(TooLargeError):
        service.update_bucket(SHOP, "pics", size_limit=0)
    assert service.db.log.head_lsn > head


def test_users_manage_no_buckets_and_deletion_needs_an_empty_bucket(
    service: ObjectService,
) -> None:
    service.put_object(SHOP, "files", "a", [b"a"], 1)
    head = service.db.log.head_lsn
    for call in (
        lambda: service.update_bucket(ALICE, "files", public=True),
        lambda: service.delete_bucket(ALICE, "files"),
        lambda: service.empty_bucket(ALICE, "files"),
    ):
        with pytest.raises(ForbiddenError):
            call()
    with pytest.raises(ConflictError):
        service.delete_bucket(SHOP, "files")
    assert service.db.log.head_lsn == head
    assert service.empty_bucket(SHOP, "files") == 1
    service.delete_bucket(SHOP, "files")
    with pytest.raises(NotFoundError):
        service.bucket(SHOP, "files")


def test_move_is_checked_before_it_copies(service: ObjectService) -> None:
    service.put_object(ALICE, "files", "alice/a", [b"a"], 1)
    service.put_object(SHOP, "files", "bob/b", [b"b"], 1)
    head = service.db.log.head_lsn
    for source, target, error in (
        ("alice/a", "bob/a", ForbiddenError),
        ("bob/b", "alice/b", ForbiddenError),
        ("alice/a", "alice/a", ConflictError),
        ("alice/none", "alice/x", NotFoundError),
    ):
        with pytest.raises(error):
            service.move_object(ALICE, "files", source, "files", target)
    with pytest.raises(ConflictError):
        service.move_object(SHOP, "files", "alice/a", "files", "bob/b")
    with pytest.raises(ConflictError):
        service.put_object(ALICE, "files", "alice/a", [b"x"], 1, replace=False)
    assert service.db.log.head_lsn == head
    moved = service.move_object(ALICE, "files", "alice/a", "files", "alice/c")
    assert (moved.name, moved.owner) == ("alice/c", "alice")
    with pytest.raises(NotFoundError):
        service.stat_object(ALICE, "files", "alice/a")


def test_a_bucket_table_of_the_first_version_gains_the_new_columns() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        f"CREATE TABLE {meta.BUCKETS} (name TEXT PRIMARY KEY, namespace TEXT NOT NULL,"
        " public INTEGER NOT NULL, size_limit INTEGER, owner TEXT NOT NULL,"
        " created_lsn INTEGER NOT NULL)"
    )
    conn.execute(f"INSERT INTO {meta.BUCKETS} VALUES ('old', 'shop', 0, NULL, 'key:x', 3)")
    old = meta.get_bucket(conn, "old")
    assert old is not None and (old.allowed_mime_types, old.created_us) == (None, None)
    meta.ensure_tables(conn)
    meta.ensure_tables(conn)
    again = meta.get_bucket(conn, "old")
    assert again == old
