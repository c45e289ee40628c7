"""Buckets, objects and listing entries as Supabase Storage answers them.

Objects have no id of their own in bkg-db; each version's blob key ends in a random
128-bit hex id, shown as the object's UUID (so the `Id` changes when an object is
replaced). Objects keep one time, that of their last change: it is both `created_at` and
`updated_at` (and `last_accessed_at`, which bkg-db does not track).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from api.storage.meta import Bucket, ObjectMeta

EPOCH_US = 0
CACHE_CONTROL = "max-age=3600"
"""What `cacheControl` reads: bkg-db does not store a per-object Cache-Control."""


def iso(us: int | None) -> str:
    """A time in microseconds since the epoch as Supabase writes it (UTC, milliseconds)."""
    moment = datetime.fromtimestamp((us or EPOCH_US) / 1e6, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def object_id(found: ObjectMeta) -> str:
    """The UUID of an object's current version (from its blob key)."""
    tail = found.blob.rsplit("/", 1)[-1]
    try:
        return str(uuid.UUID(hex=tail))
    except ValueError:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, found.blob))


def bucket_json(bucket: Bucket) -> dict[str, Any]:
    return {
        "id": bucket.name,
        "name": bucket.name,
        "owner": bucket.owner,
        "public": bucket.public,
        "type": "STANDARD",
        "file_size_limit": bucket.size_limit,
        "allowed_mime_types": None
        if bucket.allowed_mime_types is None
        else list(bucket.allowed_mime_types),
        "created_at": iso(bucket.created_us),
        "updated_at": iso(bucket.updated_us or bucket.created_us),
    }


def file_metadata(found: ObjectMeta) -> dict[str, Any]:
    """The `metadata` of an object entry: what Supabase derives from the stored bytes."""
    return {
        "eTag": f'"{found.sha256}"',
        "size": found.size,
        "mimetype": found.content_type,
        "cacheControl": CACHE_CONTROL,
        "lastModified": iso(found.updated_us),
        "contentLength": found.size,
        "httpStatusCode": 200,
    }


def file_entry(found: ObjectMeta, name: str) -> dict[str, Any]:
    """An object in a listing, `name` being relative to the listed folder."""
    when = iso(found.updated_us)
    return {
        "name": name,
        "id": object_id(found),
        "updated_at": when,
        "created_at": when,
        "last_accessed_at": when,
        "metadata": file_metadata(found),
        "user_metadata": found.metadata,
    }


def folder_entry(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "id": None,
        "updated_at": None,
        "created_at": None,
        "last_accessed_at": None,
        "metadata": None,
    }


def object_row(found: ObjectMeta) -> dict[str, Any]:
    """An object as a row of Supabase's `storage.objects` (what a removal answers)."""
    when = iso(found.updated_us)
    return {
        "bucket_id": found.bucket,
        "name": found.name,
        "owner": found.owner,
        "id": object_id(found),
        "updated_at": when,
        "created_at": when,
        "last_accessed_at": when,
        "metadata": file_metadata(found),
        "user_metadata": found.metadata,
    }


def object_info(found: ObjectMeta) -> dict[str, Any]:
    """`GET /object/info/...`: one object's facts."""
    when = iso(found.updated_us)
    return {
        "id": object_id(found),
        "name": found.name,
        "version": object_id(found),
        "bucket_id": found.bucket,
        "size": found.size,
        "content_type": found.content_type,
        "cache_control": CACHE_CONTROL,
        "etag": f'"{found.sha256}"',
        "metadata": found.metadata,
        "last_modified": when,
        "created_at": when,
    }


def uploaded(found: ObjectMeta) -> dict[str, str]:
    """What an upload, update or copy answers."""
    return {"Key": f"{found.bucket}/{found.name}", "Id": object_id(found)}
