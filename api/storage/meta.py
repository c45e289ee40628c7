"""Object metadata as a projection: "storage" records folded into two internal tables.

Events (`Entry(kind="storage")`, actor = the principal, namespace = the bucket's):

- `{"type": "bucket.created", "bucket", "public", "size_limit", "allowed_mime_types"?}`
- `{"type": "bucket.updated", "bucket", "public", "size_limit", "allowed_mime_types"}`
  (the bucket's settings as they are from then on)
- `{"type": "bucket.deleted", "bucket"}` (only ever of an empty bucket)
- `{"type": "object.created" | "object.replaced", "bucket", "name", "blob", "size",
  "sha256", "content_type", "owner", "metadata"}`
- `{"type": "object.deleted", "bucket", "name", "blob"}`

Bytes never enter the log; `blob` names them in the blob store. Rebuilding the projection
from the log rebuilds every bucket and object listing exactly.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from projections.folds import Event

BUCKETS = "_bkg_storage_buckets"
OBJECTS = "_bkg_storage_objects"
BUCKET_CREATED = "bucket.created"
BUCKET_UPDATED = "bucket.updated"
BUCKET_DELETED = "bucket.deleted"
OBJECT_CREATED = "object.created"
OBJECT_REPLACED = "object.replaced"
OBJECT_DELETED = "object.deleted"


@dataclass(frozen=True)
class Bucket:
    namespace: str
    name: str
    public: bool
    size_limit: int | None
    owner: str
    created_lsn: int
    allowed_mime_types: tuple[str, ...] | None = None
    """MIME types an upload may declare (`image/*` matches any image), None: any."""
    created_us: int | None = None
    updated_us: int | None = None
    """When the bucket was created and last changed (None for buckets folded before these
    were kept)."""


@dataclass(frozen=True)
class ObjectMeta:
    namespace: str
    bucket: str
    name: str
    blob: str
    size: int
    sha256: str
    content_type: str
    owner: str
    metadata: dict[str, Any]
    lsn: int
    updated_us: int

    def to_json(self) -> dict[str, Any]:
        """The object as the HTTP API shows it (the blob key is internal)."""
        return {
            "bucket": self.bucket,
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "content_type": self.content_type,
            "owner": self.owner,
            "metadata": self.metadata,
            "lsn": self.lsn,
            "updated_at_us": self.updated_us,
        }


_BUCKET_EXTRA = (
    ("allowed_mime_types", "TEXT"),
    ("created_us", "INTEGER"),
    ("updated_us", "INTEGER"),
)
"""Columns added to the bucket table after its first version (a projection folded before
them gains them, NULL, the first time a storage record is folded)."""


def ensure_tables(conn: sqlite3.Connection) -> None:
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {BUCKETS} (name TEXT PRIMARY KEY, namespace TEXT NOT NULL,"
        " public INTEGER NOT NULL, size_limit INTEGER, owner TEXT NOT NULL,"
        " created_lsn INTEGER NOT NULL, allowed_mime_types TEXT, created_us INTEGER,"
        " updated_us INTEGER)"
    )
    columns = {row[1] for row in conn.execute(f"PRAGMA table_info({BUCKETS})")}
    for column, kind in _BUCKET_EXTRA:
        if column not in columns:
            conn.execute(f"ALTER TABLE {BUCKETS} ADD COLUMN {column} {kind}")
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {OBJECTS} (bucket TEXT NOT NULL, name TEXT NOT NULL,"
        " namespace TEXT NOT NULL, blob TEXT NOT NULL, size INTEGER NOT NULL,"
        " sha256 TEXT NOT NULL, content_type TEXT NOT NULL, owner TEXT NOT NULL,"
        " metadata TEXT NOT NULL, lsn INTEGER NOT NULL, updated_us INTEGER NOT NULL,"
        " PRIMARY KEY (bucket, name))"
    )


def fold_storage(conn: sqlite3.Connection, event: Event) -> None:
    """Fold one "storage" record into the bucket and object tables."""
    ensure_tables(conn)
    payload, kind = event.payload, event.payload.get("type")
    if kind == BUCKET_CREATED:
        conn.execute(
            f"INSERT OR REPLACE INTO {BUCKETS} (name, namespace, public, size_limit, owner,"
            " created_lsn, allowed_mime_types, created_us, updated_us)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                payload["bucket"],
                event.namespace or "public",
                int(bool(payload["public"])),
                payload.get("size_limit"),
                event.actor,
                event.lsn,
                _mime_json(payload.get("allowed_mime_types")),
                event.ts_us,
                event.ts_us,
            ),
        )
    elif kind == BUCKET_UPDATED:
        conn.execute(
            f"UPDATE {BUCKETS} SET public = ?, size_limit = ?, allowed_mime_types = ?,"
            " updated_us = ? WHERE name = ?",
            (
                int(bool(payload["public"])),
                payload.get("size_limit"),
                _mime_json(payload.get("allowed_mime_types")),
                event.ts_us,
                payload["bucket"],
            ),
        )
    elif kind == BUCKET_DELETED:
        conn.execute(f"DELETE FROM {BUCKETS} WHERE name = ?", (payload["bucket"],))
    elif kind in (OBJECT_CREATED, OBJECT_REPLACED):
        conn.execute(
            f"INSERT OR REPLACE INTO {OBJECTS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                payload["bucket"],
                payload["name"],
                event.namespace or "public",
                payload["blob"],
                payload["size"],
                payload["sha256"],
                payload["content_type"],
                payload["owner"],
                json.dumps(payload.get("metadata") or {}, sort_keys=True),
                event.lsn,
                event.ts_us,
            ),
        )
    elif kind == OBJECT_DELETED:
        conn.execute(
            f"DELETE FROM {OBJECTS} WHERE bucket = ? AND name = ?",
            (payload["bucket"], payload["name"]),
        )


def get_bucket(conn: sqlite3.Connection, name: str) -> Bucket | None:
    try:
        row = conn.execute(f"SELECT * FROM {BUCKETS} WHERE name = ?", (name,)).fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else _bucket(row)


def list_buckets(conn: sqlite3.Connection, namespace: str | None) -> list[Bucket]:
    """Buckets of one namespace (None: all), by name."""
    try:
        rows = conn.execute(
            f"SELECT * FROM {BUCKETS} WHERE ?1 IS NULL OR namespace = ?1 ORDER BY name",
            (namespace,),
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    return [_bucket(row) for row in rows]


def _bucket(row: tuple[Any, ...]) -> Bucket:
    name, namespace, public, size_limit, owner, lsn = row[:6]
    mimes, created, updated = (*row[6:9], None, None, None)[:3]
    allowed = None if mimes is None else tuple(json.loads(mimes))
    return Bucket(namespace, name, bool(public), size_limit, owner, lsn, allowed, created, updated)


def _mime_json(types: Any) -> str | None:
    return None if types is None else json.dumps(list(types))


def count_objects(conn: sqlite3.Connection, bucket: str) -> int:
    """How many objects `bucket` holds."""
    try:
        row = conn.execute(f"SELECT count(*) FROM {OBJECTS} WHERE bucket = ?", (bucket,))
        return int(row.fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def get_object(conn: sqlite3.Connection, bucket: str, name: str) -> ObjectMeta | None:
    try:
        row = conn.execute(
            f"SELECT * FROM {OBJECTS} WHERE bucket = ? AND name = ?", (bucket, name)
        ).fetchone()
    except sqlite3.OperationalError:
        return None
    return None if row is None else _object(row)


def list_objects(
    conn: sqlite3.Connection, bucket: str, prefix: str, after: str, limit: int
) -> list[ObjectMeta]:
    """Objects of `bucket` whose names start with `prefix` and sort after `after`."""
    try:
        rows = conn.execute(
            f"SELECT * FROM {OBJECTS} WHERE bucket = ? AND name > ? AND substr(name, 1, ?) = ?"
            " ORDER BY name LIMIT ?",
            (bucket, after, len(prefix), prefix, limit),
        ).fetchall()
    except sqlite3.OperationalError:
        return []
    return [_object(row) for row in rows]


def all_objects(conn: sqlite3.Connection) -> list[ObjectMeta]:
    """Every object of every bucket, by bucket and name (a restore fetches their bytes)."""
    try:
        rows = conn.execute(f"SELECT * FROM {OBJECTS} ORDER BY bucket, name").fetchall()
    except sqlite3.OperationalError:
        return []
    return [_object(row) for row in rows]


def _object(row: tuple[Any, ...]) -> ObjectMeta:
    bucket, name, namespace, blob, size, sha, ctype, owner, metadata, lsn, updated = row
    return ObjectMeta(
        namespace, bucket, name, blob, size, sha, ctype, owner, json.loads(metadata), lsn, updated
    )
