"""Where objects and the archive go: the `--s3-*` flags or `BKG_S3_*` / `BKG_STORAGE_*`.

Objects are kept on local disk under data/objects/ unless `BKG_STORAGE_BACKEND=s3`, in
which case they go to the S3 bucket under `<prefix>/objects/`, with a local copy of recent
blobs (`BKG_STORAGE_CACHE_BYTES`, 1 GiB by default, 0 for none; see `projections.blobs.cache`).
The continuous archive, when an S3 endpoint and bucket are set, goes under `<prefix>/`
(unless `BKG_ARCHIVE=off`), with the bytes of objects on the local backend under
`<prefix>/archive/objects/` (`api.storage.backup`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from api.storage.errors import BadObjectRequestError
from projections.blobs.blobstore import BlobStore
from projections.blobs.cache import CACHE_DIR, CachedBlobStore
from projections.blobs.local import LocalBlobStore
from projections.blobs.s3 import S3BlobStore, S3Location

N = TypeVar("N", int, float)
BACKENDS = ("local", "s3")
DEFAULT_CACHE_BYTES = 1 << 30
DEFAULT_MAX_OBJECT_BYTES = 5 << 30
"""The largest object, unless `BKG_STORAGE_MAX_BYTES` (or a bucket's limit) says less."""
DEFAULT_MAX_PENDING_UPLOADS = 16


@dataclass(frozen=True)
class StorageSettings:
    backend: str = "local"
    s3: S3Location | None = None
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES
    archive: bool = True
    archive_interval_s: float = 1.0
    cache_bytes: int = DEFAULT_CACHE_BYTES
    max_pending_uploads: int = DEFAULT_MAX_PENDING_UPLOADS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StorageSettings:
        """Settings from `BKG_S3_ENDPOINT`, `BKG_S3_ACCESS_KEY`, `BKG_S3_SECRET_KEY`,
        `BKG_S3_BUCKET`, `BKG_S3_PREFIX`, `BKG_S3_REGION`, `BKG_STORAGE_BACKEND`,
        `BKG_STORAGE_MAX_BYTES`, `BKG_STORAGE_CACHE_BYTES`,
        `BKG_STORAGE_MAX_PENDING_UPLOADS`, `BKG_ARCHIVE` and `BKG_ARCHIVE_INTERVAL`."""
        env = {k: v for k, v in (os.environ if env is None else env).items() if v}
        s3 = None
        if env.get("BKG_S3_ENDPOINT") and env.get("BKG_S3_BUCKET"):
            s3 = S3Location(
                endpoint=env["BKG_S3_ENDPOINT"],
                access_key=env.get("BKG_S3_ACCESS_KEY", ""),
                secret_key=env.get("BKG_S3_SECRET_KEY", ""),
                bucket=env["BKG_S3_BUCKET"],
                prefix=env.get("BKG_S3_PREFIX", "").strip("/"),
                region=env.get("BKG_S3_REGION") or None,
            )
        settings = cls(
            backend=env.get("BKG_STORAGE_BACKEND", "local"),
            s3=s3,
            max_object_bytes=_number(env, "BKG_STORAGE_MAX_BYTES", DEFAULT_MAX_OBJECT_BYTES),
            archive=env.get("BKG_ARCHIVE", "on") != "off",
            archive_interval_s=_number(env, "BKG_ARCHIVE_INTERVAL", 1.0),
            cache_bytes=_number(env, "BKG_STORAGE_CACHE_BYTES", DEFAULT_CACHE_BYTES),
            max_pending_uploads=_number(
                env, "BKG_STORAGE_MAX_PENDING_UPLOADS", DEFAULT_MAX_PENDING_UPLOADS
            ),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.backend not in BACKENDS:
            raise BadObjectRequestError(f"storage backend must be one of {', '.join(BACKENDS)}")
        if self.backend == "s3" and self.s3 is None:
            raise BadObjectRequestError("the s3 storage backend needs an S3 endpoint and bucket")
        if self.cache_bytes < 0:
            raise BadObjectRequestError("BKG_STORAGE_CACHE_BYTES must be 0 or more")
        if self.max_pending_uploads < 0:
            raise BadObjectRequestError("BKG_STORAGE_MAX_PENDING_UPLOADS must be 0 or more")

    def blob_store(self, objects_dir: Path) -> BlobStore:
        """The blob store objects use: local disk, or S3 under `<prefix>/objects` (with its
        local cache under `objects_dir`, unless that is off)."""
        if self.backend == "s3" and self.s3 is not None:
            remote = S3BlobStore(replace(self.s3, prefix=_join(self.s3.prefix, "objects")))
            if self.cache_bytes == 0:
                return remote
            return CachedBlobStore(remote, objects_dir / CACHE_DIR, self.cache_bytes)
        return LocalBlobStore(objects_dir)

    def archive_location(self) -> S3Location | None:
        """Where the continuous archive goes, or None when it is off."""
        return self.s3 if self.archive else None


def _number(env: Mapping[str, str], name: str, default: N) -> N:
    """`env[name]` as a number of the default's type; a clear error for anything else."""
    if name not in env:
        return default
    try:
        return type(default)(env[name])
    except ValueError:
        kind = "an integer" if isinstance(default, int) else "a number"
        raise BadObjectRequestError(f"{name} must be {kind}, not {env[name]!r}") from None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name
