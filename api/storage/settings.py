"""Where objects and the archive go: the `--s3-*` flags or `BKG_S3_*` / `BKG_STORAGE_*`.

Objects are kept on local disk under data/objects/ unless `BKG_STORAGE_BACKEND=s3`, in
which case they go to the S3 bucket under `<prefix>/objects/`. The continuous archive, when
an S3 endpoint and bucket are set, goes under `<prefix>/archive/` (unless
`BKG_ARCHIVE=off`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from api.storage.blobstore import BlobStore
from api.storage.errors import BadObjectRequestError
from api.storage.local import LocalBlobStore
from api.storage.s3 import S3BlobStore, S3Location
from api.storage.service import DEFAULT_MAX_OBJECT_BYTES

BACKENDS = ("local", "s3")


@dataclass(frozen=True)
class StorageSettings:
    backend: str = "local"
    s3: S3Location | None = None
    max_object_bytes: int = DEFAULT_MAX_OBJECT_BYTES
    archive: bool = True
    archive_interval_s: float = 1.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StorageSettings:
        """Settings from `BKG_S3_ENDPOINT`, `BKG_S3_ACCESS_KEY`, `BKG_S3_SECRET_KEY`,
        `BKG_S3_BUCKET`, `BKG_S3_PREFIX`, `BKG_S3_REGION`, `BKG_STORAGE_BACKEND`,
        `BKG_STORAGE_MAX_BYTES`, `BKG_ARCHIVE` and `BKG_ARCHIVE_INTERVAL`."""
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
            max_object_bytes=int(env.get("BKG_STORAGE_MAX_BYTES", DEFAULT_MAX_OBJECT_BYTES)),
            archive=env.get("BKG_ARCHIVE", "on") != "off",
            archive_interval_s=float(env.get("BKG_ARCHIVE_INTERVAL", "1.0")),
        )
        settings.check()
        return settings

    def check(self) -> None:
        if self.backend not in BACKENDS:
            raise BadObjectRequestError(f"storage backend must be one of {', '.join(BACKENDS)}")
        if self.backend == "s3" and self.s3 is None:
            raise BadObjectRequestError("the s3 storage backend needs an S3 endpoint and bucket")

    def blob_store(self, objects_dir: Path) -> BlobStore:
        """The blob store objects use: local disk, or S3 under `<prefix>/objects`."""
        if self.backend == "s3" and self.s3 is not None:
            return S3BlobStore(replace(self.s3, prefix=_join(self.s3.prefix, "objects")))
        return LocalBlobStore(objects_dir)

    def archive_location(self) -> S3Location | None:
        """Where the continuous archive goes, or None when it is off."""
        return self.s3 if self.archive else None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name
