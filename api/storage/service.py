"""`ObjectService`: buckets and objects for principals, metadata through the log.

Every change is one "storage" event appended through `Database.append_event` (see
`api.storage.meta`), after the bytes are safely in the blob store under a key of their own.
The event is what makes them the object's content: a crash before it leaves an unreferenced
blob, never an object without bytes; a replaced or deleted object's old blob is removed
once the event is durable. Reads take one projection snapshot for metadata and policies.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from api.auth.principal import Principal
from api.database import Database
from api.rls.policy import PolicySet
from api.storage import access, meta
from api.storage.errors import (
    BadMimeTypeError,
    BadObjectRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    TooLargeError,
)
from api.storage.names import check_bucket_name, check_object_name, check_prefix, new_blob_key
from api.storage.settings import DEFAULT_MAX_OBJECT_BYTES
from eventlog import Entry
from projections.blobs.blobstore import BlobStore
from projections.blobs.errors import BlobError

DEFAULT_CONTENT_TYPE = "application/octet-stream"
BLOB_GRACE_S = 30.0
"""How long a blob no object names any more is kept, for downloads that opened it before."""
MAX_PAGE = 1000


class ObjectService:
    """Object storage over one database and one blob store."""

    def __init__(
        self,
        db: Database,
        blobs: BlobStore,
        policies: Callable[[], PolicySet],
        max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES,
        blob_grace_s: float = BLOB_GRACE_S,
    ) -> None:
        self.db = db
        self.blobs = blobs
        self._policies = policies
        self.max_object_bytes = max_object_bytes
        self.blob_grace_s = blob_grace_s
        self._garbage = ThreadPoolExecutor(1, thread_name_prefix="bkg-blob-gc")
        self._closing = threading.Event()

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Connection]:
        with self.db.store.snapshot() as snap:
            yield snap.conn

    def _append(self, principal: Principal, bucket: meta.Bucket, payload: dict[str, Any]) -> int:
        entry = Entry("storage", payload, actor=principal.id, namespace=bucket.namespace)
        return self.db.append_event(entry)

    # -- buckets -------------------------------------------------------------------------

    def create_bucket(
        self,
        principal: Principal,
        name: str,
        public: bool,
        size_limit: int | None = None,
        allowed_mime_types: Sequence[str] | None = None,
    ) -> meta.Bucket:
        """A new bucket in the principal's namespace (admins: `public`); users may not."""
        check_bucket_name(name)
        _check_manager(principal)
        settings = _bucket_settings(public, size_limit, allowed_mime_types)
        with self._snapshot() as conn:
            if meta.get_bucket(conn, name) is not None:
                raise ConflictError(f"bucket {name!r} exists")
        namespace = principal.default_namespace
        payload = {"type": meta.BUCKET_CREATED, "bucket": name, **settings}
        if allowed_mime_types is None:
            del payload["allowed_mime_types"]  # records as they were before the field
        entry = Entry("storage", payload, actor=principal.id, namespace=namespace)
        self.db.append_event(entry)
        return self.bucket(principal, name)

    def update_bucket(
        self,
        principal: Principal,
        name: str,
        public: bool | None = None,
        size_limit: int | None = None,
        allowed_mime_types: Sequence[str] | None = None,
    ) -> meta.Bucket:
        """Change a bucket's settings (None: unchanged); users may not."""
        _check_manager(principal)
        bucket = self.bucket(principal, name)
        settings = _bucket_settings(
            bucket.public if public is None else public,
            bucket.size_limit if size_limit is None else size_limit,
            bucket.allowed_mime_types if allowed_mime_types is None else allowed_mime_types,
        )
        self._append(principal, bucket, {"type": meta.BUCKET_UPDATED, "bucket": name, **settings})
        return self.bucket(principal, name)

    def delete_bucket(self, principal: Principal, name: str) -> int:
        """Delete an empty bucket (ConflictError while it holds objects); users may not."""
        _check_manager(principal)
        bucket = self.bucket(principal, name)
        with self._snapshot() as conn:
            held = meta.count_objects(conn, name)
        if held:
            raise ConflictError(f"bucket {name!r} holds {held} objects: empty it first")
        return self._append(principal, bucket, {"type": meta.BUCKET_DELETED, "bucket": name})

    def empty_bucket(self, principal: Principal, name: str) -> int:
        """Delete every object of a bucket, one record each; users may not. Returns how
        many were deleted."""
        _check_manager(principal)
        self.bucket(principal, name)
        deleted = 0
        cursor: str | None = ""
        while cursor is not None:
            page, cursor = self.list_objects(principal, name, cursor=cursor, limit=MAX_PAGE)
            for found in page:
                with suppress(NotFoundError):
                    self.delete_object(principal, name, found.name)
                    deleted += 1
        return deleted

    def list_buckets(self, principal: Principal) -> list[meta.Bucket]:
        """The buckets the principal can see: its namespace's (admins: all)."""
        namespace = None if principal.kind == "admin" else principal.default_namespace
        with self._snapshot() as conn:
            return meta.list_buckets(conn, namespace)

    def bucket(self, principal: Principal | None, name: str) -> meta.Bucket:
        """A bucket the principal may see (NotFoundError for others, as for no bucket)."""
        with self._snapshot() as conn:
            return access.check_bucket(principal, meta.get_bucket(conn, name), name)

    # -- objects -------------------------------------------------------------------------

    def put_object(
        self,
        principal: Principal,
        bucket_name: str,
        name: str,
        chunks: Iterable[bytes],
        size: int | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        replace: bool = True,
    ) -> meta.ObjectMeta:
        """Create or replace an object from a stream; nothing is recorded unless every byte
        arrived, within the size limit and the announced length (and, with `replace`
        False, unless the object did not exist: ConflictError)."""
        metadata = dict(metadata or {})
        content_type = content_type or DEFAULT_CONTENT_TYPE
        bucket, existing, limit = self.check_write(
            principal, bucket_name, name, size, metadata, content_type
        )
        if existing is not None and not replace:
            raise ConflictError(f"object {bucket_name}/{name} exists")
        blob = new_blob_key(bucket.namespace, bucket.name)
        written = self.blobs.put(blob, _limited(chunks, limit), size)
        payload = {
            "type": meta.OBJECT_REPLACED if existing else meta.OBJECT_CREATED,
            "bucket": bucket.name,
            "name": name,
            "blob": blob,
            "size": written.size,
            "sha256": written.sha256,
            "content_type": content_type,
            "owner": access.owner_id(principal),
            "metadata": metadata,
        }
        self._record(principal, bucket, payload, new_blob=blob, old_blob=existing)
        return self._object(bucket.name, name)

    def check_write(
        self,
        principal: Principal,
        bucket_name: str,
        name: str,
        size: int | None,
        metadata: Mapping[str, Any],
        content_type: str | None = None,
    ) -> tuple[meta.Bucket, str | None, int]:
        """Whether `principal` may write `name` now: the bucket, the blob of the object it
        would replace (or None) and the size limit; raises if not (also for a known size
        over the limit, or a `content_type` the bucket does not allow)."""
        check_object_name(name)
        owner = access.owner_id(principal)
        bucket, existing = self._check_write(principal, bucket_name, name, owner, metadata)
        limit = min(bucket.size_limit or self.max_object_bytes, self.max_object_bytes)
        if size is not None and size > limit:
            raise TooLargeError(f"{size} bytes is over the limit of {limit}")
        if content_type is not None:
            check_mime_type(bucket, content_type)
        return bucket, existing, limit

    def _check_write(
        self,
        principal: Principal,
        bucket_name: str,
        name: str,
        owner: str,
        metadata: Mapping[str, Any],
    ) -> tuple[meta.Bucket, str | None]:
        """The bucket and the blob of the object being replaced (None for a new one), once
        the policies allow the write."""
        policies = self._policies()
        with self._snapshot() as conn:
            bucket = access.check_bucket(principal, meta.get_bucket(conn, bucket_name), bucket_name)
            current = meta.get_object(conn, bucket.name, name)
            new_row = access.object_row(bucket, name, owner, metadata)
            if current is None:
                access.require(conn, policies, principal, "insert", new_row, use_check=True)
                return bucket, None
            old_row = access.object_row(bucket, name, current.owner, current.metadata)
            access.require(conn, policies, principal, "update", old_row)
            access.require(conn, policies, principal, "update", new_row, use_check=True)
            return bucket, current.blob

    def _record(
        self,
        principal: Principal,
        bucket: meta.Bucket,
        payload: dict[str, Any],
        new_blob: str | None,
        old_blob: str | None,
    ) -> None:
        """Append the event; then the old blob is garbage, or, if the append failed, the
        new one is."""
        try:
            self._append(principal, bucket, payload)
        except BaseException:
            if new_blob is not None:
                with suppress(BlobError):
                    self.blobs.delete(new_blob)
            raise
        if old_blob is not None:
            self._discard(old_blob)

    def _discard(self, blob: str) -> None:
        """Remove a blob no object names any more, off the request's path and only after
        `blob_grace_s`: a download that found the object just before has opened the blob,
        or is about to (the server opens a local file by path only once the response
        starts). A blob left behind by a crash is unreferenced garbage, never part of an
        object."""
        due = time.monotonic() + self.blob_grace_s
        self._garbage.submit(self._delete_when_due, blob, due)

    def _delete_when_due(self, blob: str, due: float) -> None:
        """Removals run in the order they were asked for, so each waits out its own grace."""
        self._closing.wait(max(0.0, due - time.monotonic()))
        with suppress(BlobError):
            self.blobs.delete(blob)

    def close(self) -> None:
        """Do pending blob removals now, without their grace (the server is stopping)."""
        self._closing.set()
        self._garbage.shutdown(wait=True)

    def stat_object(
        self, principal: Principal | None, bucket_name: str, name: str
    ) -> meta.ObjectMeta:
        """An object the principal may read (anyone, in a public bucket)."""
        check_object_name(name)
        policies = self._policies()
        with self._snapshot() as conn:
            bucket, found = _existing(conn, principal, bucket_name, name)
            if not bucket.public:
                row = access.object_row(bucket, name, found.owner, found.metadata)
                access.require(conn, policies, principal, "select", row)
            return found

    def read(
        self, found: meta.ObjectMeta, offset: int = 0, length: int | None = None
    ) -> Iterator[bytes]:
        """The bytes of an object `stat_object` returned, streamed."""
        return self.blobs.get(found.blob, offset, length)

    def local_file(self, found: meta.ObjectMeta) -> Path | None:
        """A local file holding the bytes of an object `stat_object` returned, if there is
        one (see `BlobStore.local_path`)."""
        return self.blobs.local_path(found.blob)

    def list_objects(
        self,
        principal: Principal,
        bucket_name: str,
        prefix: str = "",
        cursor: str = "",
        limit: int = MAX_PAGE,
    ) -> tuple[list[meta.ObjectMeta], str | None]:
        """One page of the objects the principal may read, and the cursor of the next page
        (None at the end). Objects a policy hides are skipped, not reported."""
        check_prefix(prefix)
        limit = max(1, min(limit, MAX_PAGE))
        policies = self._policies()
        with self._snapshot() as conn:
            bucket = access.check_bucket(principal, meta.get_bucket(conn, bucket_name), bucket_name)
            page = meta.list_objects(conn, bucket.name, prefix, cursor, limit)
            visible = [
                o
                for o in page
                if access.allowed(
                    conn, policies, principal, "select",
                    access.object_row(bucket, o.name, o.owner, o.metadata),
                )
            ]  # fmt: skip
        following = page[-1].name if len(page) == limit else None
        return visible, following

    def delete_object(self, principal: Principal, bucket_name: str, name: str) -> int:
        """Delete an object; returns the LSN of the deletion."""
        bucket, found = self.check_delete(principal, bucket_name, name)
        payload = {
            "type": meta.OBJECT_DELETED,
            "bucket": bucket.name,
            "name": name,
            "blob": found.blob,
            # What the object was, for consumers of the log (realtime sends it as `old`).
            "size": found.size,
            "sha256": found.sha256,
            "content_type": found.content_type,
            "owner": found.owner,
            "metadata": found.metadata,
        }
        lsn = self._append(principal, bucket, payload)
        self._discard(found.blob)
        return lsn

    def check_delete(
        self, principal: Principal, bucket_name: str, name: str
    ) -> tuple[meta.Bucket, meta.ObjectMeta]:
        """The bucket and object, if the principal may delete it now; raises if not."""
        check_object_name(name)
        policies = self._policies()
        with self._snapshot() as conn:
            bucket, found = _existing(conn, principal, bucket_name, name)
            row = access.object_row(bucket, name, found.owner, found.metadata)
            access.require(conn, policies, principal, "delete", row)
        return bucket, found

    def copy_object(
        self,
        principal: Principal,
        bucket_name: str,
        name: str,
        target_bucket: str,
        target: str,
        replace: bool = True,
    ) -> meta.ObjectMeta:
        """Copy an object the principal may read to a name it may write (with `replace`
        False, only to a name that is free: ConflictError otherwise)."""
        source = self.stat_object(principal, bucket_name, name)
        check_object_name(target)
        owner = access.owner_id(principal)
        bucket, existing = self._check_write(
            principal, target_bucket, target, owner, source.metadata
        )
        if existing is not None and not replace:
            raise ConflictError(f"object {target_bucket}/{target} exists")
        check_mime_type(bucket, source.content_type)
        blob = new_blob_key(bucket.namespace, bucket.name)
        self.blobs.copy(source.blob, blob)
        payload = {
            "type": meta.OBJECT_REPLACED if existing else meta.OBJECT_CREATED,
            "bucket": bucket.name,
            "name": target,
            "blob": blob,
            "size": source.size,
            "sha256": source.sha256,
            "content_type": source.content_type,
            "owner": owner,
            "metadata": source.metadata,
        }
        self._record(principal, bucket, payload, new_blob=blob, old_blob=existing)
        return self._object(bucket.name, target)

    def move_object(
        self, principal: Principal, bucket_name: str, name: str, target_bucket: str, target: str
    ) -> meta.ObjectMeta:
        """Move an object to a free name: a copy, then the deletion of the source (two
        records). Whether the principal may read and delete the source and write the
        target is checked before either, so a refused move changes nothing."""
        self.check_delete(principal, bucket_name, name)
        if (bucket_name, name) == (target_bucket, target):
            raise ConflictError(f"object {bucket_name}/{name} cannot move onto itself")
        moved = self.copy_object(principal, bucket_name, name, target_bucket, target, False)
        with suppress(NotFoundError):  # deleted meanwhile: the move is done all the same
            self.delete_object(principal, bucket_name, name)
        return moved

    def _object(self, bucket: str, name: str) -> meta.ObjectMeta:
        with self._snapshot() as conn:
            found = meta.get_object(conn, bucket, name)
        if found is None:
            raise NotFoundError(f"no object {bucket}/{name}")
        return found


def _check_manager(principal: Principal) -> None:
    if principal.is_end_user:
        raise ForbiddenError("users and anon keys cannot create, change or delete buckets")


MAX_MIME_TYPES = 100
_MIME_RE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}/(\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126})$")


def _bucket_settings(
    public: bool, size_limit: int | None, allowed_mime_types: Sequence[str] | None
) -> dict[str, Any]:
    """A bucket's settings as its events record them, once they are valid."""
    if size_limit is not None and size_limit <= 0:
        raise TooLargeError("size_limit must be positive")
    mimes = None
    if allowed_mime_types is not None:
        if len(allowed_mime_types) > MAX_MIME_TYPES:
            raise BadObjectRequestError(f"at most {MAX_MIME_TYPES} allowed MIME types")
        mimes = [str(m).strip().lower() for m in allowed_mime_types]
        bad = [m for m in mimes if not _MIME_RE.match(m)]
        if bad:
            raise BadObjectRequestError(f"not a MIME type: {bad[0][:80]!r}")
    return {"public": public, "size_limit": size_limit, "allowed_mime_types": mimes or None}


def check_mime_type(bucket: meta.Bucket, content_type: str) -> None:
    """`BadMimeTypeError` unless the bucket allows `content_type` (its essence, before any
    `;`, compared case-insensitively; `image/*` allows every image type)."""
    allowed = bucket.allowed_mime_types
    if not allowed:
        return
    essence = content_type.split(";", 1)[0].strip().lower()
    family = essence.split("/", 1)[0] + "/*"
    if essence not in allowed and family not in allowed:
        raise BadMimeTypeError(f"mime type {essence[:80]} is not supported")


def _existing(
    conn: sqlite3.Connection, principal: Principal | None, bucket_name: str, name: str
) -> tuple[meta.Bucket, meta.ObjectMeta]:
    """The bucket (if the principal may see it) and the object in it; NotFoundError if
    either is missing."""
    bucket = access.check_bucket(principal, meta.get_bucket(conn, bucket_name), bucket_name)
    found = meta.get_object(conn, bucket.name, name)
    if found is None:
        raise NotFoundError(f"no object {bucket_name}/{name}")
    return bucket, found


def _limited(chunks: Iterable[bytes], limit: int) -> Iterator[bytes]:
    """Pass chunks through until more than `limit` bytes arrive, then refuse the upload."""
    seen = 0
    for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            raise TooLargeError(f"upload is over the limit of {limit} bytes")
        yield chunk
